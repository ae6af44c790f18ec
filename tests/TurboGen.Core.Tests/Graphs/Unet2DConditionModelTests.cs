using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using TurboGen.Graphs;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Runtime;
using TurboGen.Tensors;
using TurboGen.Testing;
using TurboGen.Weights;
using Xunit.Abstractions;

namespace TurboGen.Core.Tests.Graphs;

public sealed class Unet2DConditionModelTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;
    private const string Sdxl = "unet_sdxl_tiny";
    private const string Sd21 = "unet_sd21_tiny";

    // ---- golden parity -------------------------------------------------------------------------------

    [Theory]
    [InlineData(Sdxl)]
    [InlineData(Sd21)]
    public void VectorFloatTimestep_MatchesGolden(string caseName)
    {
        using var golden = GoldenCase.Open(caseName);
        using var checkpoint = golden.Checkpoint();
        var graph = Unet2DConditionModel.Build(golden.Config, checkpoint, new UnetBuildOptions { Timestep = TimestepInput.VectorFloat });
        using var session = NewSession(graph.ToBytes());

        float[] actual = Run(session, golden.Inputs(), golden.TimestepValue(TimestepInput.VectorFloat));

        AssertClose(golden.Expected, actual, caseName);
    }

    [Theory]
    [InlineData(Sdxl)]
    [InlineData(Sd21)]
    public void ScalarTimestep_MatchesGoldenItemByItem(string caseName)
    {
        using var golden = GoldenCase.Open(caseName);
        using var checkpoint = golden.Checkpoint();
        var graph = Unet2DConditionModel.Build(golden.Config, checkpoint);   // default: rank-0 float
        using var session = NewSession(graph.ToBytes());

        var inputs = golden.Inputs();
        float[] timesteps = golden.Reader.Float("timestep");
        int batch = timesteps.Length;
        int itemSize = golden.Expected.Length / batch;
        for (int b = 0; b < batch; b++)
        {
            var item = inputs.ToDictionary(kv => kv.Key, kv => kv.Value.Item(b, batch));
            float[] actual = Run(session, item, Tensor.Of([timesteps[b]]));
            AssertClose(golden.Expected.AsSpan(b * itemSize, itemSize).ToArray(), actual, $"{caseName} item {b}");
        }
    }

    [Fact]
    public void Int64Timestep_MatchesGolden_AndBroadcastsASingleStep()
    {
        using var golden = GoldenCase.Open(Sdxl);
        using var checkpoint = golden.Checkpoint();
        var graph = Unet2DConditionModel.Build(golden.Config, checkpoint, new UnetBuildOptions { Timestep = TimestepInput.VectorInt64 });
        using var session = NewSession(graph.ToBytes());
        Assert.Equal(typeof(long), session.InputMetadata["timestep"].ElementType);

        long[] steps = golden.Reader.Float("timestep").Select(t => (long)t).ToArray();
        Assert.Equal(new long[] { 999, 499 }, steps);
        float[] actual = Run(session, golden.Inputs(), Tensor.OfInt64(steps, [steps.Length]));
        AssertClose(golden.Expected, actual, "int64 [2]");

        // A single step [1] is broadcast to the batch: item 0 (timestep 999) must still match.
        float[] broadcast = Run(session, golden.Inputs(), Tensor.OfInt64([steps[0]], [1]));
        int itemSize = golden.Expected.Length / 2;
        AssertClose(golden.Expected.AsSpan(0, itemSize).ToArray(), broadcast.AsSpan(0, itemSize).ToArray(), "int64 [1] broadcast");
        Assert.True(GoldenTensors.RelativeError(broadcast.AsSpan(itemSize), golden.Expected.AsSpan(itemSize)) > 1e-2,
            "item 1 ran at timestep 999 instead of 499, so it must differ from the golden item 1");
    }

    // ---- graph kernels and the optimized-session cache ------------------------------------------------

    [Theory]
    [InlineData(Sdxl)]
    [InlineData(Sd21)]
    public void FusedAttentionKernels_MatchGolden_WithMultiHeadAttentionNodes(string caseName)
    {
        using var golden = GoldenCase.Open(caseName);
        using var checkpoint = golden.Checkpoint();
        var graph = Unet2DConditionModel.Build(golden.Config, checkpoint,
            new UnetBuildOptions { Timestep = TimestepInput.VectorFloat, Kernels = GraphKernels.Fused });
        Assert.Contains(graph.Nodes, n => n.OpType == "MultiHeadAttention" && n.Domain == GraphBuilder.MicrosoftDomain);
        Assert.DoesNotContain(graph.Nodes, n => n.OpType == "Softmax");
        using var session = NewSession(graph.ToBytes());
        AssertClose(golden.Expected, Run(session, golden.Inputs(), golden.TimestepValue(TimestepInput.VectorFloat)), caseName + " fused");
    }

    [Theory]
    [InlineData(Sdxl)]
    [InlineData(Sd21)]
    public void Int8Kernels_QuantizeEveryLinear_AndStayNearGolden(string caseName)
    {
        using var golden = GoldenCase.Open(caseName);
        using var checkpoint = golden.Checkpoint();
        var graph = Unet2DConditionModel.Build(golden.Config, checkpoint,
            new UnetBuildOptions { Timestep = TimestepInput.VectorFloat, Kernels = GraphKernels.Int8All });
        int linears = checkpoint.Names.Count(n => n.EndsWith(".weight", StringComparison.Ordinal) && checkpoint.Shape(n).Length == 2);
        Assert.Equal(linears, graph.Nodes.Count(n => n.OpType == "MatMulNBits"));
        using var session = NewSession(graph.ToBytes());
        float[] actual = Run(session, golden.Inputs(), golden.TimestepValue(TimestepInput.VectorFloat));
        double rel = GoldenTensors.RelativeError(actual, golden.Expected);
        output.WriteLine($"{caseName} int8: relative error {rel:E2}");
        Assert.InRange(rel, 1e-6, 1e-1);   // quantized (not bit-exact) but close: the tiny golden UNets land at 2–5 %
    }

    [Theory]
    [InlineData(Sdxl)]
    [InlineData(Sd21)]
    public void Int8MixedPrecision_KeepsTheListedLayersFloat_WithZeroPointsAndSmallBlocks(string caseName)
    {
        using var golden = GoldenCase.Open(caseName);
        using var checkpoint = golden.Checkpoint();
        var kernels = GraphKernels.Int8 with { Int8ZeroPoints = true };
        var graph = Unet2DConditionModel.Build(golden.Config, checkpoint, new UnetBuildOptions { Timestep = TimestepInput.VectorFloat, Kernels = kernels });
        var linears = checkpoint.Names.Where(n => n.EndsWith(".weight", StringComparison.Ordinal) && checkpoint.Shape(n).Length == 2)
            .Select(n => n[..^".weight".Length]).ToList();
        int quantized = linears.Count(kernels.QuantizesLinear);
        Assert.InRange(quantized, 1, linears.Count - 1);
        var nbits = graph.Nodes.Where(n => n.OpType == "MatMulNBits").ToList();
        Assert.Equal(quantized, nbits.Count);
        Assert.All(nbits, n => Assert.Equal(16, n.Attribute.Single(a => a.Name == "block_size").I));
        Assert.All(nbits, n => Assert.EndsWith(".q8zero", n.Input[3]));
        using var session = NewSession(graph.ToBytes());
        float[] actual = Run(session, golden.Inputs(), golden.TimestepValue(TimestepInput.VectorFloat));
        double rel = GoldenTensors.RelativeError(actual, golden.Expected);
        output.WriteLine($"{caseName} int8 mixed, zero points: relative error {rel:E2}");
        Assert.InRange(rel, 1e-6, 5e-2);
    }

    [Fact]
    public void OptimizedSessionCache_SecondLoadUsesTheCache_AndGivesIdenticalOutputs()
    {
        using var golden = GoldenCase.Open(Sd21);
        using var checkpoint = golden.Checkpoint();
        var graph = Unet2DConditionModel.Build(golden.Config, checkpoint, new UnetBuildOptions { Timestep = TimestepInput.VectorFloat });
        string dir = TestPaths.NewTempDir("unet-session-cache");
        try
        {
            string modelPath = Path.Combine(dir, "unet", "model.onnx");
            graph.Save(modelPath, "model.onnx_data");
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
            AssertClose(golden.Expected, second, "from the optimized-session cache");

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
        using var checkpoint = golden.Checkpoint();
        var graph = Unet2DConditionModel.Build(golden.Config, checkpoint, new UnetBuildOptions { Timestep = TimestepInput.VectorFloat });
        string dir = TestPaths.NewTempDir("unet-external");
        try
        {
            string modelPath = Path.Combine(dir, "unet", "model.onnx");
            graph.Save(modelPath, "model.onnx_data");
            long dataBytes = new FileInfo(Path.Combine(dir, "unet", "model.onnx_data")).Length;
            Assert.True(dataBytes >= golden.NumParameters * 4L * 9 / 10, $"external data holds {dataBytes} bytes");
            Assert.True(new FileInfo(modelPath).Length < dataBytes / 4, "weights should live in model.onnx_data");

            using var session = new InferenceSession(modelPath, NewOptions());
            AssertClose(golden.Expected, Run(session, golden.Inputs(), golden.TimestepValue(TimestepInput.VectorFloat)), "external data");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ConvProjection_IsEquivalentToLinearProjection()
    {
        // use_linear_projection=false stores proj_in/proj_out as 1×1 convs [C,C,1,1]; the same numbers must give the same UNet.
        using var golden = GoldenCase.Open(Sd21);
        using var checkpoint = golden.Checkpoint();
        var convConfig = golden.Config with { UseLinearProjection = false };
        var asConv = new ProjectionAsConvCheckpoint(checkpoint);
        var graph = Unet2DConditionModel.Build(convConfig, asConv, new UnetBuildOptions { Timestep = TimestepInput.VectorFloat });
        Assert.Contains(graph.Nodes, n => n.OpType == "Conv" && n.Name.Contains("proj_in", StringComparison.Ordinal));
        using var session = NewSession(graph.ToBytes());

        AssertClose(golden.Expected, Run(session, golden.Inputs(), golden.TimestepValue(TimestepInput.VectorFloat)), "conv projection");
    }

    [Fact]
    public void OddLatentSize_UpsamplesToTheSkipSize()
    {
        // 15×13 latents: the ×2 upsample of ceil(15/2)=8 must be cut to 15 like diffusers' forwarded upsample_size.
        var config = UnetConfig.FromJson(File.ReadAllText(Path.Combine(TestPaths.GoldenCase(Sd21), "config.json")));
        var checkpoint = RandomUnetCheckpoint.ForConfig(config, seed: 7);
        using var session = NewSession(Unet2DConditionModel.Build(config, checkpoint).ToBytes());
        var inputs = new Dictionary<string, Tensor>
        {
            ["sample"] = Tensor.Random([1, 4, 15, 13], 1),
            ["encoder_hidden_states"] = Tensor.Random([1, 77, config.CrossAttentionDim], 2),
        };
        using var results = RunRaw(session, inputs, Tensor.Of([500f]));
        Assert.Equal([1L, 4, 15, 13], results[0].GetTensorTypeAndShape().Shape);
        Assert.All(results[0].GetTensorDataAsSpan<float>().ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    // ---- I/O contract --------------------------------------------------------------------------------

    [Theory]
    [InlineData(Sdxl, TimestepInput.ScalarFloat)]
    [InlineData(Sdxl, TimestepInput.VectorFloat)]
    [InlineData(Sd21, TimestepInput.VectorInt64)]
    public void Io_MatchesTheOptimumExport(string caseName, TimestepInput timestep)
    {
        using var golden = GoldenCase.Open(caseName);
        using var checkpoint = golden.Checkpoint();
        var graph = Unet2DConditionModel.Build(golden.Config, checkpoint, new UnetBuildOptions { Timestep = timestep });
        using var session = NewSession(graph.ToBytes());

        var expectedNames = golden.Config.HasTextTimeEmbedding
            ? new[] { "sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids" }
            : new[] { "sample", "timestep", "encoder_hidden_states" };
        Assert.Equal(expectedNames, session.InputNames);
        Assert.Equal(["out_sample"], session.OutputNames);

        var meta = session.InputMetadata;
        Assert.Equal([-1, 4, -1, -1], meta["sample"].Dimensions);
        Assert.Equal(["batch", "", "height", "width"], meta["sample"].SymbolicDimensions);
        Assert.Equal(timestep == TimestepInput.ScalarFloat ? 0 : 1, meta["timestep"].Dimensions.Length);
        Assert.Equal(timestep == TimestepInput.VectorInt64 ? typeof(long) : typeof(float), meta["timestep"].ElementType);
        Assert.Equal([-1, -1, golden.Config.CrossAttentionDim], meta["encoder_hidden_states"].Dimensions);
        if (golden.Config.HasTextTimeEmbedding)
        {
            Assert.Equal([-1, 32], meta["text_embeds"].Dimensions);
            Assert.Equal([-1, 6], meta["time_ids"].Dimensions);
        }
        Assert.Equal([-1, 4, -1, -1], session.OutputMetadata["out_sample"].Dimensions);
    }

    // ---- checkpoint checks ---------------------------------------------------------------------------

    [Theory]
    [InlineData(Sdxl)]
    [InlineData(Sd21)]
    public void Layout_IsExactlyTheDiffusersCheckpoint(string caseName)
    {
        using var golden = GoldenCase.Open(caseName);
        using var file = SafetensorsFile.Open(golden.WeightsPath);
        var layout = UnetCheckpointLayout.Tensors(golden.Config);

        var expected = file.Tensors.Values.Select(t => $"{t.Name} [{string.Join(",", t.Shape)}]").Order(StringComparer.Ordinal);
        var actual = layout.Select(t => $"{t.Name} [{string.Join(",", t.Shape)}]").Order(StringComparer.Ordinal);
        Assert.Equal(expected, actual);
        Assert.Equal(golden.NumParameters, UnetCheckpointLayout.ParameterCount(golden.Config));
    }

    [Fact]
    public void MissingAndMisshapenTensors_AreAllListed()
    {
        var config = ConfigOf(Sdxl);
        var tensors = UnetCheckpointLayout.Tensors(config)
            .Where(t => t.Name is not "add_embedding.linear_2.bias" and not "up_blocks.1.attentions.2.transformer_blocks.0.attn2.to_k.weight")
            .Select(t => t.Name == "down_blocks.2.resnets.0.conv_shortcut.weight" ? (t.Name, new long[] { 48, 32, 3, 3 }) : t);
        var checkpoint = new RandomUnetCheckpoint(tensors, seed: 1, source: "broken.safetensors");

        var e = Assert.Throws<ModelLoadException>(() => Unet2DConditionModel.Build(config, checkpoint));
        Assert.Equal("broken.safetensors", e.Path);
        Assert.Contains("Missing 2 tensor(s)", e.Message);
        Assert.Contains("add_embedding.linear_2.bias", e.Message);
        Assert.Contains("up_blocks.1.attentions.2.transformer_blocks.0.attn2.to_k.weight", e.Message);
        Assert.Contains("down_blocks.2.resnets.0.conv_shortcut.weight is [48,32,3,3], expected [48,32,1,1]", e.Message);
    }

    [Fact]
    public void UnusedTensors_AreReported_UnlessAllowed()
    {
        var config = ConfigOf(Sd21);
        var tensors = UnetCheckpointLayout.Tensors(config)
            .Append(("mid_block.attentions.0.transformer_blocks.0.attn1.to_q.bias", new long[] { 32 }))
            .Append(("class_embedding.linear_1.weight", new long[] { 64, 16 }));
        var checkpoint = new RandomUnetCheckpoint(tensors, seed: 1, source: "extra.safetensors");

        var e = Assert.Throws<ModelLoadException>(() => Unet2DConditionModel.Build(config, checkpoint));
        Assert.Contains("2 tensor(s) that the UNet does not use", e.Message);
        Assert.Contains("mid_block.attentions.0.transformer_blocks.0.attn1.to_q.bias", e.Message);
        Assert.Contains("class_embedding.linear_1.weight", e.Message);

        var lenient = new RandomUnetCheckpoint(tensors, seed: 1);
        var graph = Unet2DConditionModel.Build(config, lenient, new UnetBuildOptions { AllowUnusedKeys = true });
        Assert.DoesNotContain(graph.Initializers, i => i.Name.StartsWith("class_embedding", StringComparison.Ordinal));
    }

    [Fact]
    public void Builder_ReadsEveryLayoutTensor()
    {
        var config = ConfigOf(Sdxl);
        var checkpoint = RandomUnetCheckpoint.ForConfig(config, seed: 3);
        var graph = Unet2DConditionModel.Build(config, checkpoint);
        var initializerKeys = graph.Initializers.Select(i => KeyOf(i.Name)).ToHashSet(StringComparer.Ordinal);
        Assert.All(checkpoint.Names, name => Assert.Contains(name, initializerKeys));

        // Node scopes follow the module tree without repeating the prefix.
        Assert.Contains(graph.Nodes, n => n.Name.StartsWith("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k/MatMul", StringComparison.Ordinal));
        Assert.Contains(graph.Nodes, n => n.Name.StartsWith("up_blocks.0.upsamplers.0/Resize", StringComparison.Ordinal));
        Assert.DoesNotContain(graph.Nodes, n => n.Name.Contains("down_blocks.1.down_blocks.1", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(SafetensorsDType.F32)]
    [InlineData(SafetensorsDType.F16)]
    public void RandomCheckpoint_WritesReadableSafetensors_ThatBuildAndRun(SafetensorsDType dtype)
    {
        var config = ConfigOf(Sdxl);
        var random = RandomUnetCheckpoint.ForConfig(config, seed: 21);
        string dir = TestPaths.NewTempDir("unet-random");
        try
        {
            string path = Path.Combine(dir, "diffusion_pytorch_model.safetensors");
            random.WriteSafetensors(path, dtype);
            using var file = new SafetensorsCheckpoint(path);
            Assert.Equal(random.Names.Order(StringComparer.Ordinal), file.Names.Order(StringComparer.Ordinal));
            foreach (string name in new[] { "conv_in.weight", "down_blocks.1.attentions.0.norm.weight", "time_embedding.linear_1.bias" })
            {
                float[] expected = random.ReadFloat32(name);
                float[] actual = file.ReadFloat32(name);
                Assert.Equal(random.Shape(name), file.Shape(name));
                double tolerance = dtype == SafetensorsDType.F32 ? 0 : 1e-3;
                Assert.True(GoldenTensors.RelativeError(actual, expected) <= tolerance, name);
                Assert.True(expected.Distinct().Count() > expected.Length / 2, $"{name} should be random");
            }

            var graph = Unet2DConditionModel.Build(config, file);
            using var session = NewSession(graph.ToBytes());
            var inputs = new Dictionary<string, Tensor>
            {
                ["sample"] = Tensor.Random([2, 4, 16, 16], 1),
                ["encoder_hidden_states"] = Tensor.Random([2, 77, 72], 2),
                ["text_embeds"] = Tensor.Random([2, 32], 3),
                ["time_ids"] = new Tensor([16f, 16f, 0f, 0f, 16f, 16f, 32f, 32f, 0f, 0f, 16f, 16f], [2, 6]),
            };
            float[] result = Run(session, inputs, Tensor.Of([250f]));
            Assert.Equal(2 * 4 * 16 * 16, result.Length);
            Assert.All(result, v => Assert.True(float.IsFinite(v)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // ---- config parsing ------------------------------------------------------------------------------

    [Fact]
    public void Config_ReadsPerBlockValuesAndTheHeadCountQuirk()
    {
        var xl = UnetConfig.FromJson(RealUnetConfigs.SdxlTurbo);
        Assert.Equal([5, 10, 20], xl.AttentionHeads);
        Assert.Equal([1, 2, 10], xl.TransformerLayersPerBlock);
        Assert.Equal([10, 2, 1], xl.ReverseTransformerLayersPerBlock);
        Assert.Equal(1280, xl.TimeEmbedDim);
        Assert.Equal(1280, Unet2DConditionModel.TextEmbedsWidth(xl, new UnetBuildOptions()));
        var up = xl.UpBlocks();
        Assert.Equal((1280, 640, 1280, 3, 10, 20), (up[0].OutChannels, up[0].InChannels, up[0].PrevOutChannels, up[0].Layers, up[0].TransformerLayers, up[0].Heads));
        Assert.False(up[2].HasSampler);

        var sd = UnetConfig.FromJson(RealUnetConfigs.SdTurbo);
        Assert.Equal([1, 1, 1, 1], sd.TransformerLayersPerBlock);
        Assert.Equal(1024, sd.CrossAttentionDim);
        Assert.False(sd.HasTextTimeEmbedding);
        Assert.Equal([true, true, true, false], sd.DownBlocks().Select(b => b.HasCrossAttention));
    }

    [Theory]
    [InlineData("\"class_embed_type\": \"timestep\"", "class_embed_type")]
    [InlineData("\"transformer_layers_per_block\": [[1], [2], [10]]", "nested")]
    [InlineData("\"attention_head_dim\": [5, 10]", "attention_head_dim has 2 entries")]
    [InlineData("\"attention_head_dim\": [7, 10, 20]", "cannot be split into 7 attention heads")]
    [InlineData("\"up_block_types\": [\"CrossAttnUpBlock2D\", \"CrossAttnUpBlock2D\", \"AttnUpBlock2D\"]", "AttnUpBlock2D")]
    [InlineData("\"resnet_time_scale_shift\": \"scale_shift\"", "resnet_time_scale_shift")]
    [InlineData("\"addition_embed_type\": \"text\"", "addition_embed_type")]
    public void Config_RejectsUnsupportedOptionsClearly(string overrideJson, string expected)
    {
        var doc = System.Text.Json.Nodes.JsonNode.Parse(RealUnetConfigs.SdxlTurbo)!.AsObject();
        var patch = System.Text.Json.Nodes.JsonNode.Parse("{" + overrideJson + "}")!.AsObject();
        foreach (var (key, value) in patch.ToList())
        {
            patch.Remove(key);
            doc[key] = value;
        }
        var e = Assert.Throws<ModelLoadException>(() => UnetConfig.FromJson(doc.ToJsonString(), "x/unet/config.json"));
        Assert.Contains(expected, e.Message);
        Assert.Equal("x/unet/config.json", e.Path);
    }

    [Fact]
    public void Config_RejectsInvalidJson()
    {
        var e = Assert.Throws<ModelLoadException>(() => UnetConfig.FromJson("{ \"block_out_channels\": [32, "));
        Assert.Contains("not valid JSON", e.Message);
    }

    // ---- full-size configs ---------------------------------------------------------------------------

    [Theory]
    [InlineData("sdxl-turbo", 2_567_463_684L)]
    [InlineData("sd-turbo", 865_910_724L)]
    public void RealConfig_HasTheKnownParameterCount_AndBuilds(string model, long expectedParameters)
    {
        var config = UnetConfig.FromJson(model == "sdxl-turbo" ? RealUnetConfigs.SdxlTurbo : RealUnetConfigs.SdTurbo);
        var checkpoint = RandomUnetCheckpoint.ForConfig(config, seed: 11);
        Assert.Equal(expectedParameters, checkpoint.ParameterCount);

        var sw = Stopwatch.StartNew();
        var graph = Unet2DConditionModel.Build(config, checkpoint);
        output.WriteLine($"{model}: {checkpoint.Tensors.Count} tensors, {graph.Nodes.Count} nodes, built in {sw.ElapsedMilliseconds} ms");

        Assert.Equal(checkpoint.Names.Order(StringComparer.Ordinal), checkpoint.Used.Order(StringComparer.Ordinal));
        long weightElements = graph.Initializers.Where(i => checkpoint.Contains(KeyOf(i.Name))).Sum(i => TensorShape.ElementCount(i.Shape));
        Assert.Equal(expectedParameters, weightElements);

        var inputs = graph.Inputs.Select(i => i.Name).ToArray();
        Assert.Equal(model == "sdxl-turbo"
            ? ["sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids"]
            : ["sample", "timestep", "encoder_hidden_states"], inputs);
        var context = graph.Inputs.Single(i => i.Name == "encoder_hidden_states").Type.TensorType.Shape.Dim;
        Assert.Equal(model == "sdxl-turbo" ? 2048 : 1024, context[2].DimValue);
        if (model == "sdxl-turbo")
        {
            Assert.Equal(1280, graph.Inputs.Single(i => i.Name == "text_embeds").Type.TensorType.Shape.Dim[1].DimValue);
        }
        // Transformer blocks: SDXL 2·2 + 2·10 (down) + 10 (mid) + 3·10 + 3·2 (up) = 70; SD 2.1 3·2 + 1 + 3·3 = 16.
        int transformerBlocks = graph.Initializers.Count(i => i.Name.EndsWith(".attn2.to_out.0.bias", StringComparison.Ordinal));
        Assert.Equal(model == "sdxl-turbo" ? 70 : 16, transformerBlocks);
    }

    /// <summary>
    /// One 512² denoising step of the full-size UNet on CPU, from a seeded random F16 safetensors checkpoint written
    /// with the real key names (1.7 GB for SD-Turbo, 5.1 GB for SDXL-Turbo), saved as model.onnx + model.onnx_data.
    /// </summary>
    [SlowTheory]
    [Trait("Category", "Slow")]
    [InlineData("sd-turbo")]
    [InlineData("sdxl-turbo")]
    public void FullSize512_OneStepRunsOnCpu(string model)
    {
        var config = UnetConfig.FromJson(model == "sdxl-turbo" ? RealUnetConfigs.SdxlTurbo : RealUnetConfigs.SdTurbo);
        string dir = TestPaths.NewTempDir("unet-full");
        try
        {
            var sw = Stopwatch.StartNew();
            string weights = Path.Combine(dir, "diffusion_pytorch_model.fp16.safetensors");
            RandomUnetCheckpoint.ForConfig(config, seed: 5).WriteSafetensors(weights, SafetensorsDType.F16);
            output.WriteLine($"{model}: random checkpoint written in {sw.Elapsed.TotalSeconds:F1} s");

            sw.Restart();
            string modelPath = Path.Combine(dir, "unet", "model.onnx");
            using (var checkpoint = new SafetensorsCheckpoint(weights))
            {
                Unet2DConditionModel.Build(config, checkpoint).Save(modelPath, "model.onnx_data");
            }
            File.Delete(weights);
            output.WriteLine($"{model}: graph built and saved in {sw.Elapsed.TotalSeconds:F1} s");

            sw.Restart();
            using var session = new InferenceSession(modelPath, NewOptions(threads: 0));
            output.WriteLine($"{model}: session created in {sw.Elapsed.TotalSeconds:F1} s");

            var inputs = new Dictionary<string, Tensor>
            {
                ["sample"] = Tensor.Random([1, 4, 64, 64], 1),
                ["encoder_hidden_states"] = Tensor.Random([1, 77, config.CrossAttentionDim], 2),
            };
            if (config.HasTextTimeEmbedding)
            {
                inputs["text_embeds"] = Tensor.Random([1, 1280], 3);
                inputs["time_ids"] = new Tensor([512f, 512f, 0f, 0f, 512f, 512f], [1, 6]);
            }
            sw.Restart();
            using var results = RunRaw(session, inputs, Tensor.Of([999f]));
            output.WriteLine($"{model}: one 512² step in {sw.Elapsed.TotalSeconds:F1} s");

            Assert.Equal([1L, 4, 64, 64], results[0].GetTensorTypeAndShape().Shape);
            float[] values = results[0].GetTensorDataAsSpan<float>().ToArray();
            Assert.All(values, v => Assert.True(float.IsFinite(v)));
            Assert.True(values.Max() > values.Min());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // ---- helpers -------------------------------------------------------------------------------------

    private static UnetConfig ConfigOf(string caseName) =>
        UnetConfig.FromJson(File.ReadAllText(Path.Combine(TestPaths.GoldenCase(caseName), "config.json")));

    /// <summary>The checkpoint key an initializer was made from (Linear weights are stored as "key.T", reshaped views as "key:AxB").</summary>
    private static string KeyOf(string initializer)
    {
        int colon = initializer.IndexOf(':', StringComparison.Ordinal);
        string key = colon >= 0 ? initializer[..colon] : initializer;
        return key.EndsWith(".T", StringComparison.Ordinal) ? key[..^2] : key;
    }

    private static SessionOptions NewOptions(int threads = 2) => new() { IntraOpNumThreads = threads, InterOpNumThreads = 1 };

    private static InferenceSession NewSession(byte[] model) => new(model, NewOptions());

    private void AssertClose(float[] expected, float[] actual, string what)
    {
        double rel = GoldenTensors.RelativeError(actual, expected);
        output.WriteLine($"{what}: relative error {rel:E2}");
        Assert.True(rel <= Tolerance, $"{what}: relative error {rel:E3} > {Tolerance}");
    }

    private static float[] Run(InferenceSession session, IReadOnlyDictionary<string, Tensor> inputs, Tensor timestep)
    {
        using var results = RunRaw(session, inputs, timestep);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static IDisposableReadOnlyCollection<OrtValue> RunRaw(InferenceSession session, IReadOnlyDictionary<string, Tensor> inputs, Tensor timestep)
    {
        var all = inputs.Append(new KeyValuePair<string, Tensor>("timestep", timestep)).ToList();
        var values = all.Select(kv => kv.Value.ToOrtValue()).ToList();
        try
        {
            using var runOptions = new RunOptions();
            return session.Run(runOptions, all.Select(kv => kv.Key).ToList(), values, ["out_sample"]);
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    /// <summary>A float32 or int64 tensor for an ORT input.</summary>
    private sealed record Tensor(float[]? Floats, long[] Shape, long[]? Longs = null)
    {
        public static Tensor Of(float[] scalarOrVector) => new(scalarOrVector, scalarOrVector.Length == 1 ? [] : [scalarOrVector.Length]);
        public static Tensor OfInt64(long[] values, long[] shape) => new(null, shape, values);

        public static Tensor Random(long[] shape, int seed)
        {
            var rng = new Random(seed);
            var data = new float[TensorShape.ElementCount(shape)];
            for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
            return new Tensor(data, shape);
        }

        /// <summary>Batch item <paramref name="b"/> of <paramref name="batch"/>, keeping a leading axis of 1.</summary>
        public Tensor Item(int b, int batch)
        {
            int size = Floats!.Length / batch;
            return new Tensor(Floats.AsSpan(b * size, size).ToArray(), [1, .. Shape[1..]]);
        }

        public OrtValue ToOrtValue() => Longs is not null
            ? OrtValue.CreateTensorValueFromMemory(Longs, Shape)
            : OrtValue.CreateTensorValueFromMemory(Floats!, Shape);
    }

    /// <summary>A golden UNet case: config, checkpoint path, inputs (without timestep) and expected output.</summary>
    private sealed class GoldenCase : IDisposable
    {
        private readonly GoldenTensors _outputs;

        private GoldenCase(string name)
        {
            string dir = TestPaths.GoldenCase(name);
            Config = UnetConfig.FromJson(File.ReadAllText(Path.Combine(dir, "config.json")));
            WeightsPath = Path.Combine(dir, "diffusion_pytorch_model.safetensors");
            Reader = new GoldenTensors(Path.Combine(dir, "inputs.safetensors"));
            _outputs = new GoldenTensors(Path.Combine(dir, "outputs.safetensors"));
            Expected = _outputs.Float("sample");
            using var caseJson = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "case.json")));
            NumParameters = caseJson.RootElement.GetProperty("num_parameters").GetInt64();
        }

        public static GoldenCase Open(string name) => new(name);

        public UnetConfig Config { get; }
        public string WeightsPath { get; }
        public GoldenTensors Reader { get; }
        public float[] Expected { get; }
        public long NumParameters { get; }

        public SafetensorsCheckpoint Checkpoint() => new(WeightsPath);

        public Dictionary<string, Tensor> Inputs() => Reader.Names
            .Where(n => n != "timestep")
            .ToDictionary(n => n, n => new Tensor(Reader.Float(n), Reader.Shape(n)));

        public Tensor TimestepValue(TimestepInput variant)
        {
            float[] t = Reader.Float("timestep");
            return variant == TimestepInput.VectorInt64
                ? Tensor.OfInt64(t.Select(x => (long)x).ToArray(), [t.Length])
                : new Tensor(t, [t.Length]);
        }

        public void Dispose()
        {
            Reader.Dispose();
            _outputs.Dispose();
        }
    }

    /// <summary>Presents linear proj_in/proj_out weights [C,C] as 1×1 conv weights [C,C,1,1] (same bytes).</summary>
    private sealed class ProjectionAsConvCheckpoint(ICheckpointTensors inner) : ICheckpointTensors
    {
        private static bool IsProjection(string name) =>
            name.EndsWith(".proj_in.weight", StringComparison.Ordinal) || name.EndsWith(".proj_out.weight", StringComparison.Ordinal);

        public string Source => inner.Source;
        public IEnumerable<string> Names => inner.Names;
        public IReadOnlyCollection<string> Used => inner.Used;
        public bool Contains(string name) => inner.Contains(name);
        public long[] Shape(string name) => IsProjection(name) ? [.. inner.Shape(name), 1, 1] : inner.Shape(name);
        public WeightData Float32(string name) => inner.Float32(name);
        public WeightData Float32Transposed(string name) => inner.Float32Transposed(name);
        public float[] ReadFloat32(string name) => inner.ReadFloat32(name);
    }
}
