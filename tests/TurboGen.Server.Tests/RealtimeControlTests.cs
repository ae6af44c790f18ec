using TurboGen.Cli.Realtime;
using TurboGen.Imaging;
using TurboGen.Server.Api.Native;
using TurboGen.Server.Realtime.Protocol;
using static TurboGen.Server.Tests.RealtimeTestKit;

namespace TurboGen.Server.Tests;

/// <summary>
/// Issue 15 control modes over the real-time protocol: <c>controls</c> (the native API's ControlNet units) and <c>mask</c>/<c>maskBlur</c>
/// (inpainting), validated by the same policy as the HTTP APIs; bad input is an error naming the field and the session lives on.
/// </summary>
public sealed class RealtimeControlTests(ControlNetServerFixture fixture) : IClassFixture<ControlNetServerFixture>
{
    private const int Size = 64;

    private static string Png(Func<int, int, byte> value, int width = Size, int height = Size)
    {
        var pixels = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                pixels[3 * (y * width + x)] = pixels[3 * (y * width + x) + 1] = pixels[3 * (y * width + x) + 2] = value(x, y);
        return "data:image/png;base64," + Convert.ToBase64String(ImageCodec.EncodePng(new RgbImage(width, height, pixels)));
    }

    private static string Checkerboard() => Png((x, y) => (x / 8 + y / 8) % 2 == 0 ? (byte)240 : (byte)10);

    private static NativeControl Canny(string? model = ControlNetServerFixture.Sdxl, string preprocessor = "canny", string? image = null) =>
        new() { Model = model, Preprocessor = preprocessor, Image = image ?? Checkerboard() };

    private async Task<RealtimeClient> ConnectAsync()
    {
        var client = await fixture.Server.ConnectAsync();
        await client.NextTextAsync("hello");
        return client;
    }

    private static async Task AssertErrorAsync(RealtimeClient client, long id, string field)
    {
        var error = (await client.WaitForAsync(m => m.Type == "error", RealtimeTestKit.Timeout)).Text!.Value;
        Assert.Equal(field, error.GetProperty("field").GetString());
        Assert.Equal(id, error.GetProperty("requestId").GetInt64());
        Assert.Contains(field.Split('.')[^1].Split('[')[0], error.GetProperty("message").GetString()!, StringComparison.OrdinalIgnoreCase);
        // The session lives on: the next request is answered.
        await client.SendAsync(Generate(id + 1, "still here", size: Size));
        Assert.Equal(id + 1, (await client.NextFrameAsync(f => f.RequestId == id + 1)).Frame!.RequestId);
    }

    [Fact]
    public async Task Controls_SteerTheFrame_AndTheFrameNamesThem()
    {
        await using var client = await ConnectAsync();
        await client.SendAsync(Generate(1, "a cat", size: Size) with { Controls = [Canny()] });
        var frame = (await client.NextFrameAsync(f => f.RequestId == 1)).Frame!;
        Assert.Equal(["canny:" + ControlNetServerFixture.Sdxl], frame.Controls);
        Assert.Contains(frame.Timings.Stages.Keys, k => k.StartsWith("controlnet0.step", StringComparison.Ordinal));

        // Another control image is another picture; without controls the ControlNet does not run.
        await client.SendAsync(Generate(2, "a cat", size: Size) with { Controls = [Canny(image: Png((x, _) => x < 32 ? (byte)0 : (byte)255))] });
        var second = await client.NextFrameAsync(f => f.RequestId == 2);
        Assert.Contains(second.Frame!.Timings.Stages.Keys, k => k.StartsWith("controlnet0.", StringComparison.Ordinal));
        await client.SendAsync(Generate(3, "a cat", size: Size));
        var plain = (await client.NextFrameAsync(f => f.RequestId == 3)).Frame!;
        Assert.Empty(plain.Controls);
        Assert.DoesNotContain(plain.Timings.Stages.Keys, k => k.StartsWith("controlnet", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("unknown-model", "canny", "controls[0].model")]
    [InlineData(ControlNetServerFixture.Sdxl, "sobel", "controls[0].preprocessor")]
    [InlineData(ControlNetServerFixture.Sdxl, "canny", "controls[0].image")]
    public async Task BadControl_IsAnErrorNamingTheField_AndTheSessionLives(string model, string preprocessor, string field)
    {
        await using var client = await ConnectAsync();
        string? image = field.EndsWith("image", StringComparison.Ordinal) ? "bm90IGFuIGltYWdl" : null;
        await client.SendAsync(Generate(10, "a cat", size: Size) with { Controls = [Canny(model, preprocessor, image)] });
        await AssertErrorAsync(client, 10, field);
    }

    [Fact]
    public async Task Mask_RepaintsOnlyTheMaskedArea_PastingTheRestBack()
    {
        await using var client = await ConnectAsync();
        string init = Png((x, y) => (byte)(60 + x + y));
        string mask = Png((x, _) => x < Size / 2 ? (byte)255 : (byte)0); // left half repaints
        await client.SendAsync(Generate(1, "a red apple", size: Size, image: init) with { Mask = mask, MaskBlur = 2, Strength = 1 });
        var answer = await client.NextFrameAsync(f => f.RequestId == 1);
        Assert.True(answer.Frame!.Inpaint);
        Assert.Contains("inpaint.prepare", answer.Frame.Timings.Stages.Keys);
        var output = ImageCodec.Decode(answer.Image!);
        var original = ImageCodec.Decode(Convert.FromBase64String(init[(init.IndexOf(',') + 1)..]));
        double Difference(int x0, int x1)
        {
            double sum = 0;
            int n = 0;
            for (int y = 0; y < Size; y++)
                for (int x = x0; x < x1; x++)
                    for (int c = 0; c < 3; c++, n++) sum += Math.Abs(output.Pixels[3 * (y * Size + x) + c] - original.Pixels[3 * (y * Size + x) + c]);
            return sum / n;
        }
        double kept = Difference(Size / 2 + 8, Size), repainted = Difference(0, Size / 2 - 8);
        Assert.True(kept < 4, $"outside the mask the picture changed by {kept:F1} on average (JPEG alone is about 1)");
        Assert.True(repainted > 4 * kept + 8, $"inside the mask the picture changed by only {repainted:F1} (outside: {kept:F1})");
    }

    [Fact]
    public async Task BadMask_IsAnErrorNamingTheField_AndTheSessionLives()
    {
        await using var client = await ConnectAsync();
        string init = Png((x, y) => (byte)(x + y)), mask = Png((x, _) => x < 32 ? (byte)255 : (byte)0);
        await client.SendAsync(Generate(10, "no image", size: Size) with { Mask = mask });
        await AssertErrorAsync(client, 10, "mask");
        await client.SendAsync(Generate(20, "other size", size: Size, image: init) with { Mask = Png((_, _) => 255, 32, 32) });
        await AssertErrorAsync(client, 20, "mask");
        await client.SendAsync(Generate(30, "blur", size: Size, image: init) with { Mask = mask, MaskBlur = 500 });
        await AssertErrorAsync(client, 30, "maskBlur");
        await client.SendAsync(Generate(40, "garbage", size: Size, image: init) with { Mask = "data:image/png;base64,AAAA" });
        await AssertErrorAsync(client, 40, "mask");
    }
}
