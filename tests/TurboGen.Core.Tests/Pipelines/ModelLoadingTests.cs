using TurboGen.Graphs;
using TurboGen.Runtime;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Pipelines;

public sealed class ModelLoadingTests
{
    private static string CopyOf(TinyFamily family, TinyFlavor flavor)
    {
        string src = TinyModels.Get(family, flavor, withTinyVae: false);
        string dst = TestPaths.NewTempDir("turbogen-broken");
        foreach (var file in Directory.EnumerateFiles(src, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(dst, Path.GetRelativePath(src, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return dst;
    }

    [Fact]
    public void MissingFolder_NamesThePath()
    {
        var e = Assert.Throws<ModelLoadException>(() => TurboModel.Load("/nonexistent/model/dir"));
        Assert.Contains("/nonexistent/model/dir", e.Message);
    }

    [Fact]
    public void MissingUnet_SaysWhatWasExpected()
    {
        string dir = CopyOf(TinyFamily.SdTurbo, TinyFlavor.OptimumNew);
        Directory.Delete(Path.Combine(dir, "unet"), true);
        var e = Assert.Throws<ModelLoadException>(() => TurboModel.Load(dir));
        Assert.Contains(Path.Combine("unet", "model.onnx"), e.Message);
    }

    [Fact]
    public void MissingExternalData_IsAClearError()
    {
        string dir = CopyOf(TinyFamily.SdxlTurbo, TinyFlavor.OptimumNew);
        File.Delete(Path.Combine(dir, "unet", "model.onnx_data"));
        var e = Assert.Throws<ModelLoadException>(() => TurboModel.Load(dir));
        Assert.Contains("unet", e.Message);
    }

    [Fact]
    public void MissingTokenizer_SaysWhatWasExpected()
    {
        string dir = CopyOf(TinyFamily.SdxlTurbo, TinyFlavor.OptimumOld);
        Directory.Delete(Path.Combine(dir, "tokenizer_2"), true);
        var e = Assert.Throws<ModelLoadException>(() => TurboModel.Load(dir));
        Assert.Contains("tokenizer_2", e.Message);
    }

    [Fact]
    public void UnknownContract_ListsWhatWasFound()
    {
        string dir = CopyOf(TinyFamily.SdTurbo, TinyFlavor.OptimumNew);
        var g = new GraphBuilder("not_a_unet");
        var x = g.Input("pixels", ElementType.Float, "batch", 4);
        g.Output(g.Relu(x), "whatever", ElementType.Float, "batch", 4);
        File.Delete(Path.Combine(dir, "unet", "model.onnx_data"));
        g.Save(Path.Combine(dir, "unet", "model.onnx"));
        var e = Assert.Throws<ModelContractException>(() => TurboModel.Load(dir));
        Assert.Contains("pixels", e.Message);
        Assert.Contains("timestep", e.Message);
    }

    [Fact]
    public void ReadsVaeScalingFactor_AndFamily()
    {
        using var xl = TurboModel.Load(TinyModels.Get(TinyFamily.SdxlTurbo, TinyFlavor.OptimumOld, withTinyVae: false));
        using var sd = TurboModel.Load(TinyModels.Get(TinyFamily.SdTurbo, TinyFlavor.Olive, withTinyVae: false));
        Assert.Equal(0.13025f, xl.ScalingFactor);
        Assert.Equal(0.18215f, sd.ScalingFactor);
        Assert.Equal(ModelFamily.Sdxl, xl.Family);
        Assert.Equal(ModelFamily.Sd, sd.Family);
        Assert.Equal(49407, xl.Tokenizer.PadId);
        Assert.Equal(0, xl.Tokenizer2!.PadId);
        Assert.Equal("EulerAncestralDiscreteScheduler", xl.SchedulerConfig.ClassName);
        Assert.False(xl.VaeEncoder!.OutputsParameters);
    }

    [Fact]
    public void UnknownProvider_IsInvalidRequest()
    {
        var e = Assert.Throws<InvalidRequestException>(() => SessionFactory.CreateOptions(new RuntimeOptions { Provider = "quantum" }));
        Assert.Equal("provider", e.Parameter);
    }

    [Theory]
    [InlineData("cuda")]
    [InlineData("tensorrt")]
    [InlineData("directml")]
    public void MissingProviderLibrary_SaysWhichPackage(string provider)
    {
        // The CPU package has none of these providers: the error must name what to install, not crash.
        var e = Assert.Throws<ExecutionProviderUnavailableException>(() => SessionFactory.CreateOptions(new RuntimeOptions { Provider = provider }));
        Assert.Contains("Microsoft.ML.OnnxRuntime", e.Message);
        Assert.Equal(provider, e.Provider);
    }
}
