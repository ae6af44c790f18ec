using TurboGen.Imaging;

namespace TurboGen.Cli.Tests;

/// <summary><c>turbogen generate --init IMAGE --mask FILE</c> end to end on the tiny model (4-channel UNet: latent blending).</summary>
[Collection(CliCollection.Name)]
public sealed class InpaintGenerateTests(CliFixture fixture)
{
    /// <summary>Writes a 64² gradient init image and a mask whose left half is white (repaint).</summary>
    private static byte[] WriteInputs(string work, int maskSide = 64)
    {
        var pixels = new byte[64 * 64 * 3];
        for (int i = 0; i < pixels.Length; i += 3)
        {
            int x = i / 3 % 64, y = i / 3 / 64;
            (pixels[i], pixels[i + 1], pixels[i + 2]) = ((byte)(x * 4), (byte)(y * 4), 128);
        }
        ImageCodec.SavePng(new RgbImage(64, 64, pixels), Path.Combine(work, "in.png"));
        var mask = new byte[maskSide * maskSide * 3];
        for (int i = 0; i < mask.Length; i += 3)
        {
            if (i / 3 % maskSide < maskSide / 2) mask[i] = mask[i + 1] = mask[i + 2] = 255;
        }
        ImageCodec.SavePng(new RgbImage(maskSide, maskSide, mask), Path.Combine(work, "mask.png"));
        return pixels;
    }

    [Fact]
    public async Task Mask_RepaintsTheWhiteHalf_AndFeathersIntoTheInitImage()
    {
        string work = fixture.NewWorkDir();
        var pixels = WriteInputs(work);
        var run = await fixture.RunInAsync(fixture.PulledHome, work, "generate", "a cat", "--size", "64x64", "--seed", "7", "--init", "in.png", "--mask", "mask.png",
            "--mask-blur", "2", "--strength", "0.8", "-o", "out.png", "--threads", "1");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("inpaint.prepare", run.Stdout);
        var result = ImageCodec.Load(Path.Combine(work, "out.png"));
        Assert.Equal((64, 64), (result.Width, result.Height));
        // Columns 40+ are beyond the blurred mask: exactly the init image there; the left half is repainted.
        int same = 0, changed = 0;
        for (int y = 0; y < 64; y++)
        {
            for (int x = 0; x < 64; x++)
            {
                int p = 3 * (y * 64 + x);
                bool equal = result.Pixels.AsSpan(p, 3).SequenceEqual(pixels.AsSpan(p, 3));
                if (x >= 40) { Assert.True(equal, $"kept pixel ({x},{y}) changed"); same++; }
                else if (x < 24 && !equal) changed++;
            }
        }
        Assert.True(changed > 24 * 64 / 2, $"only {changed} repainted pixels changed");

        var full = await fixture.RunInAsync(fixture.PulledHome, work, "generate", "a cat", "--size", "64x64", "--seed", "7", "--init", "in.png", "--mask", "mask.png",
            "--mask-invert", "--full-res", "--padding", "4", "--fill", "latent-nothing", "-o", "full.png", "--threads", "1");
        Assert.True(full.ExitCode == 0, full.ToString());
        Assert.Contains("inpaint.crop", full.Stdout);
        var inverted = ImageCodec.Load(Path.Combine(work, "full.png"));
        Assert.True(inverted.Pixels.AsSpan(0, 3 * 20).SequenceEqual(pixels.AsSpan(0, 3 * 20)), "the inverted mask keeps the left edge");
    }

    [Fact]
    public async Task BadMasks_ExitWithAMessageNamingTheOption()
    {
        string work = fixture.NewWorkDir();
        WriteInputs(work, maskSide: 32);
        File.WriteAllText(Path.Combine(work, "broken.png"), "not an image");

        var mismatch = await fixture.RunInAsync(fixture.PulledHome, work, "generate", "a cat", "--size", "64x64", "--init", "in.png", "--mask", "mask.png", "--threads", "1");
        Assert.Equal(2, mismatch.ExitCode);
        Assert.Contains("--mask", mismatch.Stderr);
        Assert.Contains("32x32", mismatch.Stderr);
        Assert.Contains("64x64", mismatch.Stderr);

        var unreadable = await fixture.RunInAsync(fixture.PulledHome, work, "generate", "a cat", "--init", "in.png", "--mask", "broken.png");
        Assert.Equal(2, unreadable.ExitCode);
        Assert.Contains("--mask", unreadable.Stderr);

        var missing = await fixture.RunInAsync(fixture.PulledHome, work, "generate", "a cat", "--init", "in.png", "--mask", "nowhere.png");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("nowhere.png", missing.Stderr);

        var noInit = await fixture.RunInAsync(fixture.PulledHome, work, "generate", "a cat", "--mask", "mask.png");
        Assert.Equal(2, noInit.ExitCode);
        Assert.Contains("--init", noInit.Stderr);

        var blurWithoutMask = await fixture.RunInAsync(fixture.PulledHome, work, "generate", "a cat", "--mask-blur", "4");
        Assert.Equal(2, blurWithoutMask.ExitCode);
        Assert.Contains("--mask-blur", blurWithoutMask.Stderr);

        var badFill = await fixture.RunInAsync(fixture.PulledHome, work, "generate", "a cat", "--init", "in.png", "--mask", "mask.png", "--fill", "paint");
        Assert.Equal(2, badFill.ExitCode);
        Assert.Contains("--fill", badFill.Stderr);
    }
}
