using TurboGen.Building;
using TurboGen.Checkpoints;
using TurboGen.Configs;
using TurboGen.Pipelines;
using TurboGen.Runtime;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Checkpoints;

/// <summary>
/// SDXS-style diffusers folders: <c>vae/</c> is an AutoencoderTiny and the KL VAE is <c>vae_large/</c>. The model's VAE is built from
/// vae_large/ and the tiny one into the model's <c>taesd/</c>; without vae_large/ the error names both folders.
/// </summary>
public sealed class SdxsLayoutTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("turbogen-sdxs-layout");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Folder(string name) =>
        GoldenDiffusersFolder.WriteSd(Path.Combine(_dir, name), SingleFileTestCheckpoints.Sd1UnetCase, KnownConfigs.Sd15.SchedulerConfigJson);

    private static void CopyDir(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string f in Directory.EnumerateFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }

    [Fact]
    public void TinyVaeInVae_WithTheKlVaeInVaeLarge_BuildsTheKlVae_AndBundlesTheTinyOne()
    {
        string plain = Folder("plain");
        string sdxs = Folder("sdxs");
        Directory.Move(Path.Combine(sdxs, "vae"), Path.Combine(sdxs, DiffusersCheckpoint.LargeVaeFolder));
        CopyDir(TestPaths.GoldenCase("taesd"), Path.Combine(sdxs, "vae"));

        using (var c = DiffusersCheckpoint.Open(sdxs, Path.Combine(_dir, "cache")))
        {
            Assert.Equal(Path.Combine(sdxs, "vae"), c.TinyVaeDir);
            Assert.Contains("AutoencoderKL", c.VaeConfigJson);
        }
        var options = new ModelResolveOptions { CacheRoot = Path.Combine(_dir, "cache") };
        string builtSdxs = ModelResolver.Resolve(sdxs, options), builtPlain = ModelResolver.Resolve(plain, options);
        string taesd = Path.Combine(builtSdxs, "taesd");
        Assert.True(File.Exists(Path.Combine(taesd, "vae_decoder", "model.onnx")));
        Assert.False(Directory.Exists(Path.Combine(builtPlain, "taesd")));

        var request = new GenerationRequest { Prompt = "a photo of a cat", Seed = 3, Width = 64, Height = 64, Steps = 1 };
        byte[] Pixels(string built, string? tiny = null)
        {
            using var model = TurboModel.Load(built, new ModelLoadOptions { TinyVaePath = tiny });
            return new TurboPipeline(model).Generate(request with { UseTinyVae = tiny is not null }).Images[0].Pixels;
        }
        byte[] kl = Pixels(builtSdxs);
        Assert.Equal(Pixels(builtPlain), kl);   // the KL VAE of vae_large/
        // The bundled tiny VAE decodes like the same AutoencoderTiny built on its own.
        string separate = ModelResolver.ResolveTinyVae(Path.Combine(sdxs, "vae"), options);
        byte[] tinyBundled = Pixels(builtSdxs, taesd);
        Assert.Equal(Pixels(builtSdxs, separate), tinyBundled);
        Assert.NotEqual(kl, tinyBundled);
    }

    [Fact]
    public void TinyVaeInVae_WithoutVaeLarge_IsAnErrorNamingBoth()
    {
        string sdxs = Folder("tiny-only");
        Directory.Delete(Path.Combine(sdxs, "vae"), recursive: true);
        CopyDir(TestPaths.GoldenCase("taesd"), Path.Combine(sdxs, "vae"));
        var e = Assert.Throws<ModelLoadException>(() => DiffusersCheckpoint.Open(sdxs, Path.Combine(_dir, "cache")));
        Assert.Contains("AutoencoderTiny", e.Message);
        Assert.Contains("vae_large/", e.Message);
        Assert.Equal(Path.Combine(sdxs, "vae", "config.json"), e.Path);
    }
}
