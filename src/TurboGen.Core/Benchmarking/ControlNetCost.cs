using TurboGen.Configs;
using TurboGen.Graphs;
using TurboGen.Graphs.Architectures.ControlNet;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Runtime;
using TurboGen.Tensors;
using TurboGen.Weights;

namespace TurboGen.Benchmarking;

/// <summary>One ControlNet run against one UNet step at the same size (milliseconds, medians), measured in one window.</summary>
public sealed record ControlNetCostResult(string Family, int Size, int Runs, double UnetMs, double UnetAgainMs, double ControlNetMs)
{
    /// <summary>ControlNet time over the mean of the UNet medians measured before and after it.</summary>
    public double Ratio => ControlNetMs / ((UnetMs + UnetAgainMs) / 2);
}

/// <summary>
/// <c>turbogen bench controlnet-cost</c>: the cost of one full-size ControlNet relative to one UNet step, on random weights.
/// <para>How it works: the published configs (the family's UNet from <see cref="KnownConfigs"/>, the ControlNet from
/// <see cref="KnownControlNetConfigs"/>) get seeded random F16 weights with the real names (<see cref="RandomCheckpoint"/>),
/// which are built into float32 ONNX (the UNet with its ControlNet residual inputs, fed zeros) and deleted. Then, one component
/// loaded at a time to bound memory: the UNet, the ControlNet, the UNet again (A-B-A, so drift on a shared machine shows), each
/// with one untimed run and <c>runs</c> timed runs at batch 1 on the same random inputs.</para>
/// </summary>
public static class ControlNetCost
{
    /// <summary>Writes and builds the random UNet (with residual inputs) and ControlNet under <paramref name="workDir"/>; returns the two model.onnx paths.</summary>
    public static (string Unet, string ControlNet) Build(string workDir, ModelFamily family, int seed, IProgress<string>? progress, CancellationToken ct)
    {
        Directory.CreateDirectory(workDir);
        var unetConfig = UnetConfig.FromJson(KnownConfigs.For(family).UnetConfigJson, "known unet config");
        var cnConfig = ControlNetConfig.FromJson(KnownControlNetConfigs.For(family), "known controlnet config");
        string unet = BuildOne(workDir, "unet", UnetCheckpointLayout.Tensors(unetConfig), seed, progress, ct,
            w => Unet2DConditionModel.Build(unetConfig, w, new UnetBuildOptions { ControlNetResiduals = true }));
        string controlnet = BuildOne(workDir, "controlnet", ControlNetCheckpointLayout.Tensors(cnConfig), seed + 1, progress, ct,
            w => ControlNetModel.Build(cnConfig, w));
        return (unet, controlnet);
    }

    private static string BuildOne(string workDir, string name, IEnumerable<(string Name, long[] Shape)> tensors, int seed, IProgress<string>? progress, CancellationToken ct,
        Func<ICheckpointTensors, GraphBuilder> build)
    {
        string model = Path.Combine(workDir, name, "model.onnx");
        if (File.Exists(model)) return model;
        string weights = Path.Combine(workDir, name + ".safetensors");
        progress?.Report($"{name}: writing random weights");
        RandomCheckpoint.WriteInitialized(weights, tensors, seed);
        ct.ThrowIfCancellationRequested();
        progress?.Report($"{name}: building float32 ONNX");
        using (var checkpoint = new SafetensorsCheckpoint(weights))
        {
            build(checkpoint).Save(model, "model.onnx_data");
        }
        File.Delete(weights);
        return model;
    }

    /// <summary>
    /// Analytic multiply-add FLOPs (<see cref="GraphFlops"/>) of one UNet step (residual inputs included) and one ControlNet run at
    /// <paramref name="size"/>², batch 1: (UNet, ControlNet).
    /// </summary>
    public static (FlopCount Unet, FlopCount ControlNet) Flops(string unetPath, string controlNetPath, ModelFamily family, int size)
    {
        bool xl = family == ModelFamily.Sdxl;
        var unetConfig = UnetConfig.FromJson(KnownConfigs.For(family).UnetConfigJson, "known unet config");
        int h = size / 8;
        var common = new Dictionary<string, long[]>
        {
            ["sample"] = [1, 4, h, h],
            ["timestep"] = [],
            ["encoder_hidden_states"] = [1, 77, unetConfig.CrossAttentionDim],
        };
        if (xl)
        {
            common["text_embeds"] = [1, Unet2DConditionModel.TextEmbedsWidth(unetConfig, new UnetBuildOptions())];
            common["time_ids"] = [1, 6];
        }
        var unetShapes = new Dictionary<string, long[]>(common);
        var channels = unetConfig.SkipChannels();
        var factors = unetConfig.SkipDownscales();
        for (int i = 0; i < channels.Count; i++)
        {
            long side = h;
            for (int d = factors[i]; d > 1; d /= 2) side = (side + 1) / 2;
            unetShapes[Unet2DConditionModel.DownResidualInputPrefix + i] = [1, channels[i], side, side];
            if (i == channels.Count - 1) unetShapes[Unet2DConditionModel.MidResidualInput] = [1, unetConfig.BlockOutChannels[^1], side, side];
        }
        var cnShapes = new Dictionary<string, long[]>(common)
        {
            [ControlNetModel.ControlNetCondInput] = [1, 3, size, size],
            [ControlNetModel.ConditioningScaleInput] = [],
        };
        return (GraphFlops.Count(unetPath, unetShapes), GraphFlops.Count(controlNetPath, cnShapes));
    }

    /// <summary>Times the UNet, the ControlNet, the UNet again at <paramref name="size"/>² (batch 1).</summary>
    public static ControlNetCostResult Measure(string unetPath, string controlNetPath, ModelFamily family, int size, int runs, RuntimeOptions runtime,
        IProgress<string>? progress, CancellationToken ct)
    {
        bool xl = family == ModelFamily.Sdxl;
        int h = size / 8;
        var rng = new Random(5);
        FloatTensor Random(params long[] shape)
        {
            var data = new float[TensorShape.ElementCount(shape)];
            for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
            return new FloatTensor(data, shape);
        }
        var sample = Random(1, 4, h, h);
        var context = Random(1, 77, xl ? 2048 : 1024);
        var textEmbeds = xl ? Random(1, 1280) : null;
        var timeIds = xl ? new FloatTensor([size, size, 0, 0, size, size], [1, 6]) : null;
        var image = new FloatTensor(Random(1, 3, size, size).Data.Select(v => (v + 1) / 2).ToArray(), [1, 3, size, size]);

        double TimeUnet()
        {
            using var unet = new Unet(SessionFactory.Create(unetPath, runtime), unetPath) { ReleaseMemoryAfterRun = runtime.ReleaseMemoryAfterRun };
            return Median(runs, () => unet.Predict(sample, 999f, context, textEmbeds, timeIds, null, ct).OnnxMilliseconds, "unet", progress);
        }
        double unetMs = TimeUnet();
        double controlMs;
        using (var controlnet = ControlNet.Load(controlNetPath, runtime))
        {
            controlMs = Median(runs, () => controlnet.Predict(sample, 999f, context, textEmbeds, timeIds, image, 1f, ct).OnnxMilliseconds, "controlnet", progress);
        }
        double again = TimeUnet();
        return new ControlNetCostResult(xl ? "sdxl" : "sd", size, runs, unetMs, again, controlMs);
    }

    private static double Median(int runs, Func<double> run, string name, IProgress<string>? progress)
    {
        run();   // untimed first run (allocation, pre-packing)
        var times = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            times.Add(run());
            progress?.Report($"{name} run {i + 1}/{runs}: {times[^1]:F0} ms");
        }
        times.Sort();
        return times.Count % 2 == 1 ? times[times.Count / 2] : (times[times.Count / 2 - 1] + times[times.Count / 2]) / 2;
    }
}
