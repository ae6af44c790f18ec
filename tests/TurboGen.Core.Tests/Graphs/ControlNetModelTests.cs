using Microsoft.ML.OnnxRuntime;
using TurboGen.Graphs.Architectures.ControlNet;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Testing;
using TurboGen.Weights;
using Xunit.Abstractions;

namespace TurboGen.Core.Tests.Graphs;

/// <summary>
/// Golden parity of the built ControlNet (diffusers 0.26.3 ControlNetModel, tiny seeded SD 2.1 and SDXL configs) and of the
/// UNet built with the residual inputs fed with its outputs (case controlnet_*_tiny: residuals × 0.8, then the UNet of
/// unet_*_tiny with down_block_additional_residuals / mid_block_additional_residual).
/// </summary>
public sealed class ControlNetModelTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;
    private const float Scale = 0.8f;   // case.json inputs_note: conditioning_scale = 0.8

    [Theory]
    [InlineData("controlnet_sd21_tiny", "unet_sd21_tiny")]
    [InlineData("controlnet_sdxl_tiny", "unet_sdxl_tiny")]
    public void ControlNetAndUnetWithResiduals_MatchGolden(string caseName, string unetCase)
    {
        string dir = TestPaths.GoldenCase(caseName);
        var config = ControlNetConfig.FromJson(File.ReadAllText(Path.Combine(dir, "config.json")));
        using var weights = new SafetensorsCheckpoint(Path.Combine(dir, "diffusion_pytorch_model.safetensors"));
        using var inputs = new GoldenTensors(Path.Combine(dir, "inputs.safetensors"));
        using var expected = new GoldenTensors(Path.Combine(dir, "outputs.safetensors"));
        var options = new UnetBuildOptions { Timestep = TimestepInput.VectorFloat };

        using var controlnet = new InferenceSession(ControlNetModel.Build(config, weights, options with { GraphName = "controlnet" }).ToBytes(), Options());
        var feeds = inputs.Names.ToDictionary(n => n, n => (Data: inputs.Float(n), Shape: inputs.Shape(n)));
        feeds[ControlNetModel.ConditioningScaleInput] = ([Scale], []);
        var residuals = Run(controlnet, feeds);
        int n = config.Unet.SkipChannels().Count;
        Assert.Equal(n + 1, residuals.Count);
        for (int i = 0; i < n; i++)
        {
            AssertClose($"down_block_res_sample.{i:D2}", residuals[ControlNetModel.DownResidualOutputPrefix + i].Data, expected.Float($"down_block_res_sample.{i:D2}"));
            Assert.Equal(expected.Shape($"down_block_res_sample.{i:D2}"), residuals[ControlNetModel.DownResidualOutputPrefix + i].Shape);
        }
        AssertClose("mid_block_res_sample", residuals[ControlNetModel.MidResidualOutput].Data, expected.Float("mid_block_res_sample"));

        var unetConfig = UnetConfig.FromJson(File.ReadAllText(Path.Combine(TestPaths.GoldenCase(unetCase), "config.json")));
        using var unetWeights = new SafetensorsCheckpoint(Path.Combine(TestPaths.GoldenCase(unetCase), "diffusion_pytorch_model.safetensors"));
        using var unet = new InferenceSession(Unet2DConditionModel.Build(unetConfig, unetWeights, options with { ControlNetResiduals = true }).ToBytes(), Options());
        var unetFeeds = feeds.Where(kv => kv.Key is not (ControlNetModel.ControlNetCondInput or ControlNetModel.ConditioningScaleInput))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        for (int i = 0; i < n; i++)
        {
            var r = residuals[ControlNetModel.DownResidualOutputPrefix + i];
            unetFeeds[Unet2DConditionModel.DownResidualInputPrefix + i] = (r.Data, r.Shape);
        }
        var mid = residuals[ControlNetModel.MidResidualOutput];
        unetFeeds[Unet2DConditionModel.MidResidualInput] = (mid.Data, mid.Shape);
        var noise = Run(unet, unetFeeds)["out_sample"].Data;
        AssertClose("noise_pred", noise, expected.Float("noise_pred"));

        // Zero residuals give the plain UNet: the residual inputs change nothing else.
        foreach (var key in unetFeeds.Keys.Where(k => k.Contains("residual", StringComparison.Ordinal)).ToList())
        {
            unetFeeds[key] = (new float[unetFeeds[key].Data.Length], unetFeeds[key].Shape);
        }
        AssertClose("noise_pred_without_control", Run(unet, unetFeeds)["out_sample"].Data, expected.Float("noise_pred_without_control"));
    }

    [Theory]
    [InlineData("controlnet_sd21_tiny")]
    [InlineData("controlnet_sdxl_tiny")]
    public void Layout_IsExactlyTheDiffusersCheckpoint(string caseName)
    {
        string dir = TestPaths.GoldenCase(caseName);
        var config = ControlNetConfig.FromJson(File.ReadAllText(Path.Combine(dir, "config.json")));
        using var file = SafetensorsFile.Open(Path.Combine(dir, "diffusion_pytorch_model.safetensors"));
        var expected = file.Tensors.Values.Select(t => $"{t.Name} [{string.Join(",", t.Shape)}]").Order(StringComparer.Ordinal);
        var actual = ControlNetCheckpointLayout.Tensors(config).Select(t => $"{t.Name} [{string.Join(",", t.Shape)}]").Order(StringComparer.Ordinal);
        Assert.Equal(expected, actual);
        using var caseJson = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "case.json")));
        Assert.Equal(caseJson.RootElement.GetProperty("num_parameters").GetInt64(), ControlNetCheckpointLayout.ParameterCount(config));
    }

    [Fact]
    public void MissingTensors_AreListedWithTheModelName()
    {
        var config = ControlNetConfig.FromJson(File.ReadAllText(Path.Combine(TestPaths.GoldenCase("controlnet_sd21_tiny"), "config.json")));
        var tensors = ControlNetCheckpointLayout.Tensors(config).Where(t => t.Name != "controlnet_mid_block.weight" && t.Name != "controlnet_cond_embedding.conv_out.bias");
        var e = Assert.Throws<ModelLoadException>(() => ControlNetModel.Build(config, new RandomUnetCheckpoint(tensors, seed: 1, source: "cn.safetensors")));
        // The shared TensorLayout wording: "Checkpoint FILE does not match the ControlNet config. Missing N tensor(s): …"
        Assert.Contains("Checkpoint cn.safetensors does not match the ControlNet config", e.Message);
        Assert.Contains("Missing 2 tensor(s)", e.Message);
        Assert.Contains("controlnet_mid_block.weight", e.Message);
    }

    [Fact]
    public void UnetWithResiduals_DeclaresOneInputPerSkip_AfterTheOptimumInputs()
    {
        var config = UnetConfig.FromJson(File.ReadAllText(Path.Combine(TestPaths.GoldenCase("unet_sdxl_tiny"), "config.json")));
        var graph = Unet2DConditionModel.Build(config, RandomUnetCheckpoint.ForConfig(config, seed: 2), new UnetBuildOptions { ControlNetResiduals = true });
        using var session = new InferenceSession(graph.ToBytes(), Options());
        var skips = config.SkipChannels();
        Assert.Equal(["sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids",
            .. skips.Select((_, i) => $"down_block_additional_residual_{i}"), "mid_block_additional_residual"], session.InputNames);
        for (int i = 0; i < skips.Count; i++)
        {
            Assert.Equal([-1, skips[i], -1, -1], session.InputMetadata[$"down_block_additional_residual_{i}"].Dimensions);
        }
        Assert.Equal([-1, 48, -1, -1], session.InputMetadata["mid_block_additional_residual"].Dimensions);
    }

    [Theory]
    [InlineData("\"controlnet_conditioning_channel_order\": \"bgr\"", true)]
    [InlineData("\"controlnet_conditioning_channel_order\": \"rgb\"", false)]
    public void Config_ReadsChannelOrder_AndRejectsUnknown(string field, bool bgr)
    {
        string json = File.ReadAllText(Path.Combine(TestPaths.GoldenCase("controlnet_sd21_tiny"), "config.json"))
            .Replace("\"controlnet_conditioning_channel_order\": \"rgb\"", field, StringComparison.Ordinal);
        var config = ControlNetConfig.FromJson(json);
        Assert.Equal(bgr, config.BgrChannelOrder);
        Assert.Equal([8, 8, 16, 16], config.ConditioningEmbeddingOutChannels);
        Assert.Equal(8, config.ConditioningDownscale);
        var e = Assert.Throws<ModelLoadException>(() => ControlNetConfig.FromJson(json.Replace(field, "\"controlnet_conditioning_channel_order\": \"yuv\"", StringComparison.Ordinal), "x/config.json"));
        Assert.Contains("controlnet_conditioning_channel_order 'yuv'", e.Message);
        Assert.Contains("x/config.json", e.Message);
    }

    private void AssertClose(string what, float[] actual, float[] expected)
    {
        double error = GoldenTensors.RelativeError(actual, expected);
        output.WriteLine($"{what}: relative error {error:E2}");
        Assert.True(error <= Tolerance, $"{what}: relative error {error:E3} > {Tolerance:E0}");
    }

    private static SessionOptions Options() => new() { IntraOpNumThreads = 2, InterOpNumThreads = 1 };

    private static Dictionary<string, (float[] Data, long[] Shape)> Run(InferenceSession session, Dictionary<string, (float[] Data, long[] Shape)> feeds)
    {
        var names = session.InputNames.ToList();
        var values = names.Select(n => OrtValue.CreateTensorValueFromMemory(feeds[n].Data, feeds[n].Shape)).ToList();
        try
        {
            using var run = new RunOptions();
            using var results = session.Run(run, names, values, session.OutputNames);
            return session.OutputNames.Select((n, i) => (n, i)).ToDictionary(x => x.n,
                x => (results[x.i].GetTensorDataAsSpan<float>().ToArray(), results[x.i].GetTensorTypeAndShape().Shape));
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }
}
