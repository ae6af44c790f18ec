using Microsoft.ML.OnnxRuntime;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Runtime;
using TurboGen.Testing;
using Xunit.Abstractions;
using static TurboGen.Core.Tests.Graphs.UnetTestSupport;

namespace TurboGen.Core.Tests.Graphs;

/// <summary>
/// A built UNet saved as <c>model.onnx</c> + <c>model.onnx_data</c>: run from the file path, and loaded again through the
/// optimized-session cache.
/// </summary>
public sealed class UnetSavedModelTests(ITestOutputHelper output)
{
    [Fact]
    public void OptimizedSessionCache_SecondLoadUsesTheCache_AndGivesIdenticalOutputs()
    {
        using var golden = GoldenCase.Open(Sd21);
        string dir = TestPaths.NewTempDir("unet-session-cache");
        try
        {
            string modelPath = SaveUnet(golden, dir);
            var runtime = new RuntimeOptions { Threads = 2, SessionCacheDir = Path.Combine(dir, "sessions") };
            string cached = OptimizedSessionCache.PathFor(runtime.SessionCacheDir, modelPath);
            float[] first, second;
            using (var session = SessionFactory.Create(modelPath, runtime))
            {
                first = Run(session, golden.Inputs(), golden.TimestepValue(TimestepInput.VectorFloat));
            }
            Assert.True(File.Exists(Path.Combine(cached, "model.onnx")), "the first load writes the optimized model");
            var written = File.GetLastWriteTimeUtc(Path.Combine(cached, "model.onnx"));
            using (var session = SessionFactory.Create(modelPath, runtime))
            {
                second = Run(session, golden.Inputs(), golden.TimestepValue(TimestepInput.VectorFloat));
            }
            Assert.Equal(written, File.GetLastWriteTimeUtc(Path.Combine(cached, "model.onnx")));
            Assert.Equal(first, second);
            AssertClose(output, golden.Expected, second, "from the optimized-session cache");

            // A changed model gets another cache entry.
            File.SetLastWriteTimeUtc(modelPath, DateTime.UtcNow.AddMinutes(1));
            Assert.NotEqual(cached, OptimizedSessionCache.PathFor(runtime.SessionCacheDir, modelPath));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void SavedWithExternalData_RunsFromTheFilePath()
    {
        using var golden = GoldenCase.Open(Sd21);
        string dir = TestPaths.NewTempDir("unet-external");
        try
        {
            string modelPath = SaveUnet(golden, dir);
            long dataBytes = new FileInfo(Path.Combine(dir, "unet", "model.onnx_data")).Length;
            Assert.True(dataBytes >= golden.NumParameters * 4L * 9 / 10, $"external data holds {dataBytes} bytes");
            Assert.True(new FileInfo(modelPath).Length < dataBytes / 4, "weights should live in model.onnx_data");

            using var session = new InferenceSession(modelPath, NewOptions());
            AssertClose(output, golden.Expected, Run(session, golden.Inputs(), golden.TimestepValue(TimestepInput.VectorFloat)), "external data");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Builds the golden UNet (float [B] timestep) and saves it as <c>dir/unet/model.onnx</c> + <c>model.onnx_data</c>.</summary>
    private static string SaveUnet(GoldenCase golden, string dir)
    {
        using var checkpoint = golden.Checkpoint();
        var graph = Unet2DConditionModel.Build(golden.Config, checkpoint, new UnetBuildOptions { Timestep = TimestepInput.VectorFloat });
        string modelPath = Path.Combine(dir, "unet", "model.onnx");
        graph.Save(modelPath, "model.onnx_data");
        return modelPath;
    }
}
