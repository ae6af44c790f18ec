using TurboGen.Checkpoints;
using TurboGen.Checkpoints.Lora;
using TurboGen.Testing;
using TurboGen.Weights;
using Xunit.Abstractions;
using static TurboGen.Core.Tests.Checkpoints.Lora.LoraTestSupport;

namespace TurboGen.Core.Tests.Checkpoints.Lora;

public sealed class LoraTests(ITestOutputHelper output) : IDisposable
{
    private const double MergeTolerance = 1e-5;
    private readonly string _dir = TestPaths.NewTempDir("turbogen-lora");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string TempFile(string name) => Path.Combine(_dir, name);

    private const string Block = "down_blocks.1.attentions.0.transformer_blocks.0";

    /// <summary>Linear layers of every kind in the UNet (attention, cross-attention from 72 channels, GEGLU, projections, time embedding) and 1×1 / 3×3 convs.</summary>
    private static TestLoraLayer[] UnetLayers(int seed, float? alpha = null) =>
    [
        UnetLayer($"{Block}.attn1.to_q", 4, seed + 1, alpha),
        UnetLayer($"{Block}.attn2.to_k", 4, seed + 2, alpha),
        UnetLayer($"{Block}.attn1.to_out.0", 2, seed + 3, alpha),
        UnetLayer($"{Block}.ff.net.0.proj", 4, seed + 4, alpha),
        UnetLayer("down_blocks.1.attentions.0.proj_in", 4, seed + 5, alpha),
        UnetLayer("up_blocks.0.attentions.1.transformer_blocks.1.attn2.to_v", 8, seed + 6, alpha),
        UnetLayer("down_blocks.1.resnets.0.time_emb_proj", 4, seed + 7, alpha),
        UnetLayer("up_blocks.2.resnets.0.conv_shortcut", 4, seed + 8, alpha),
        UnetLayer("down_blocks.1.resnets.0.conv1", 4, seed + 9, alpha),
    ];

    private static TestLoraLayer[] ClipLayers(int seed, float? alpha = null, string component = LoraComponent.TextEncoder) =>
    [
        ClipLayer("text_model.encoder.layers.0.self_attn.q_proj", 4, seed + 1, alpha, component),
        ClipLayer("text_model.encoder.layers.1.self_attn.v_proj", 4, seed + 2, alpha, component),
        ClipLayer("text_model.encoder.layers.2.self_attn.out_proj", 2, seed + 3, alpha, component),
        ClipLayer("text_model.encoder.layers.1.mlp.fc1", 4, seed + 4, alpha, component),
        ClipLayer("text_model.encoder.layers.0.mlp.fc2", 8, seed + 5, alpha, component),
    ];

    private void AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        double err = GoldenTensors.RelativeError(actual, expected);
        output.WriteLine($"{what}: relative error {err:E2}");
        Assert.True(err <= tolerance, $"{what}: relative error {err:E3} > {tolerance:E0}");
    }

    private void AssertDifferent(float[] a, float[] b, string what)
    {
        double err = GoldenTensors.RelativeError(a, b);
        output.WriteLine($"{what}: relative difference {err:E2}");
        Assert.True(err > 1e-2, $"{what}: the LoRA barely changed the output (relative difference {err:E3})");
    }

    // ---- (a) scale 0 ----------------------------------------------------------------------------

    [Fact]
    public void ScaleZero_GivesExactlyTheBaseOutput()
    {
        using var lora = LoraAdapter.Open(Write(TempFile("a.safetensors"), TestLoraNaming.Kohya, [.. UnetLayers(10, alpha: 2f), .. ClipLayers(20)]));
        using var unet = new SafetensorsCheckpoint(UnetWeights);
        using var clip = new SafetensorsCheckpoint(ClipWeights);
        var unetZero = new LoraMergedCheckpoint(unet, [(lora, 0f)], LoraComponent.Unet);
        var clipZero = new LoraMergedCheckpoint(clip, [(lora, 0f)], LoraComponent.TextEncoder);
        Assert.Equal(9, unetZero.Applied.Count);
        Assert.Equal(5, clipZero.Applied.Count);

        Assert.Equal(RunUnet(UnetWeights), RunUnet(unetZero));
        Assert.Equal(RunClip(ClipWeights), RunClip(clipZero));

        // The same LoRA at scale 1 does change the outputs: the test above can fail.
        using var unet1 = new SafetensorsCheckpoint(UnetWeights);
        AssertDifferent(RunUnet(UnetWeights), RunUnet(new LoraMergedCheckpoint(unet1, [(lora, 1f)], LoraComponent.Unet)), "unet scale 1");
    }

    // ---- (b) merged build = build from a hand-merged checkpoint ----------------------------------

    [Fact]
    public void Unet_MergedBuild_MatchesHandMergedCheckpoint()
    {
        var layers = UnetLayers(30, alpha: 2f);
        using var lora = LoraAdapter.Open(Write(TempFile("unet.safetensors"), TestLoraNaming.Kohya, layers));
        using var unet = new SafetensorsCheckpoint(UnetWeights);
        var merged = new LoraMergedCheckpoint(unet, [(lora, 0.8f)], LoraComponent.Unet);
        Assert.Empty(merged.Problems);
        Assert.Equal(layers.Select(l => l.BaseKey).Order(), merged.AdaptedKeys.Order());

        float[] actual = RunUnet(merged);
        float[] expected = RunUnet(WriteHandMerged(UnetWeights, TempFile("unet-merged.safetensors"), LoraComponent.Unet, (layers, 0.8f)));

        AssertClose(expected, actual, MergeTolerance, "unet merged vs hand-merged");
        AssertDifferent(RunUnet(UnetWeights), actual, "unet merged vs base");
    }

    [Fact]
    public void Clip_MergedBuild_MatchesHandMergedCheckpoint()
    {
        var layers = ClipLayers(40, alpha: 1f);
        using var lora = LoraAdapter.Open(Write(TempFile("clip.safetensors"), TestLoraNaming.PeftWithMetadataAlpha, layers));
        using var clip = new SafetensorsCheckpoint(ClipWeights);
        var merged = new LoraMergedCheckpoint(clip, [(lora, 1.25f)], LoraComponent.TextEncoder);
        Assert.Equal(5, merged.Applied.Count);

        float[] actual = RunClip(merged);
        float[] expected = RunClip(WriteHandMerged(ClipWeights, TempFile("clip-merged.safetensors"), LoraComponent.TextEncoder, (layers, 1.25f)));

        AssertClose(expected, actual, MergeTolerance, "clip merged vs hand-merged");
        AssertDifferent(RunClip(ClipWeights), actual, "clip merged vs base");
    }

    // ---- (c) kohya and diffusers/PEFT namings -----------------------------------------------------

    [Fact]
    public void KohyaAndDiffusersNamings_GiveIdenticalWeightsAndOutputs()
    {
        // Attention projections only, so that the old attention-processor form can express them too.
        TestLoraLayer[] unetLayers =
        [
            UnetLayer($"{Block}.attn1.to_q", 4, 51), UnetLayer($"{Block}.attn2.to_v", 4, 52), UnetLayer($"{Block}.attn1.to_out.0", 4, 53),
        ];
        TestLoraLayer[] clipLayers =
        [
            ClipLayer("text_model.encoder.layers.0.self_attn.k_proj", 4, 54), ClipLayer("text_model.encoder.layers.2.self_attn.out_proj", 4, 55),
        ];
        var reference = Outputs(TestLoraNaming.Kohya);
        foreach (var naming in new[] { TestLoraNaming.PeftWithMetadataAlpha, TestLoraNaming.DiffusersDownUp, TestLoraNaming.AttentionProcessor })
        {
            var other = Outputs(naming);
            Assert.Equal(reference.UnetWeights, other.UnetWeights);
            Assert.Equal(reference.ClipWeights, other.ClipWeights);
            AssertClose(reference.Unet, other.Unet, 1e-6, $"unet {naming} vs kohya");
            AssertClose(reference.Clip, other.Clip, 1e-6, $"clip {naming} vs kohya");
        }

        (float[][] UnetWeights, float[][] ClipWeights, float[] Unet, float[] Clip) Outputs(TestLoraNaming naming)
        {
            using var lora = LoraAdapter.Open(Write(TempFile($"{naming}.safetensors"), naming, [.. unetLayers, .. clipLayers]));
            Assert.Empty(lora.UnrecognizedKeys);
            Assert.All(lora.Modules, m => Assert.Equal(naming == TestLoraNaming.Kohya ? LoraNaming.Kohya : LoraNaming.Diffusers, m.Naming));
            using var unet = new SafetensorsCheckpoint(UnetWeights);
            using var clip = new SafetensorsCheckpoint(ClipWeights);
            var mergedUnet = new LoraMergedCheckpoint(unet, [(lora, 0.9f)], LoraComponent.Unet);
            var mergedClip = new LoraMergedCheckpoint(clip, [(lora, 0.9f)], LoraComponent.TextEncoder);
            Assert.Equal(unetLayers.Select(l => l.BaseKey).Order(), mergedUnet.AdaptedKeys.Order());
            Assert.Equal(clipLayers.Select(l => l.BaseKey).Order(), mergedClip.AdaptedKeys.Order());
            return (unetLayers.Select(l => mergedUnet.ReadFloat32(l.BaseKey)).ToArray(),
                    clipLayers.Select(l => mergedClip.ReadFloat32(l.BaseKey)).ToArray(),
                    RunUnet(mergedUnet), RunClip(mergedClip));
        }
    }

    [Fact]
    public void TextEncoder2_KohyaTe2AndDiffusersPrefix_TargetOnlyTheSecondEncoder()
    {
        var layers = ClipLayers(60, alpha: 4f, component: LoraComponent.TextEncoder2);
        using var kohya = LoraAdapter.Open(Write(TempFile("te2-kohya.safetensors"), TestLoraNaming.Kohya, layers));
        using var peft = LoraAdapter.Open(Write(TempFile("te2-peft.safetensors"), TestLoraNaming.PeftWithMetadataAlpha, layers));
        using var clip = new SafetensorsCheckpoint(ClipWeights);

        // As text_encoder, nothing applies; as text_encoder_2, both files apply the same weights.
        Assert.Empty(new LoraMergedCheckpoint(clip, [(kohya, 1f)], LoraComponent.TextEncoder).Applied);
        var fromKohya = new LoraMergedCheckpoint(clip, [(kohya, 1f)], LoraComponent.TextEncoder2);
        var fromPeft = new LoraMergedCheckpoint(clip, [(peft, 1f)], LoraComponent.TextEncoder2);
        Assert.Equal(5, fromKohya.Applied.Count);
        foreach (var layer in layers)
        {
            Assert.Equal(fromKohya.ReadFloat32(layer.BaseKey), fromPeft.ReadFloat32(layer.BaseKey));
        }
        float[] expected = RunClip(WriteHandMerged(ClipWeights, TempFile("te2-merged.safetensors"), LoraComponent.TextEncoder2, (layers, 1f)));
        AssertClose(expected, RunClip(fromKohya), MergeTolerance, "te2 kohya vs hand-merged");
    }

    // ---- (d) alpha ---------------------------------------------------------------------------------

    [Fact]
    public void Alpha_ScalesTheDeltaByAlphaOverRank()
    {
        string key = $"{Block}.ff.net.2.weight";
        var withAlpha = UnetLayer($"{Block}.ff.net.2", 8, 70, alpha: 2f);        // factor 2/8
        var noAlpha = withAlpha with { Alpha = null };                           // factor 1
        using var a = LoraAdapter.Open(Write(TempFile("alpha.safetensors"), TestLoraNaming.Kohya, withAlpha));
        using var b = LoraAdapter.Open(Write(TempFile("noalpha.safetensors"), TestLoraNaming.Kohya, noAlpha));
        using var c = LoraAdapter.Open(Write(TempFile("metadata.safetensors"), TestLoraNaming.PeftWithMetadataAlpha, withAlpha));
        Assert.Equal(2f, a.Modules[0].Alpha);
        Assert.Equal(8f, b.Modules[0].Alpha);   // no alpha: alpha = rank
        Assert.Equal(2f, c.Modules[0].Alpha);   // diffusers lora_adapter_metadata
        using var unet = new SafetensorsCheckpoint(UnetWeights);
        float[] baseWeight = unet.ReadFloat32(key);

        // W + 0.5 · (2/8) · up·down, checked element by element against the double-precision delta.
        float[] merged = new LoraMergedCheckpoint(unet, [(a, 0.5f)], LoraComponent.Unet).ReadFloat32(key);
        double[] delta = noAlpha.Delta();
        for (int i = 0; i < merged.Length; i++)
        {
            Assert.True(Math.Abs(merged[i] - (baseWeight[i] + 0.125 * delta[i])) <= 1e-6, $"element {i}");
        }
        // alpha 2 of rank 8 at scale 1 == no alpha at scale 0.25 == metadata alpha at scale 1.
        float[] quarter = new LoraMergedCheckpoint(unet, [(b, 0.25f)], LoraComponent.Unet).ReadFloat32(key);
        float[] alphaOne = new LoraMergedCheckpoint(unet, [(a, 1f)], LoraComponent.Unet).ReadFloat32(key);
        float[] metadataOne = new LoraMergedCheckpoint(unet, [(c, 1f)], LoraComponent.Unet).ReadFloat32(key);
        AssertClose(quarter, alphaOne, 1e-6, "alpha 2/8 vs scale 1/4");
        Assert.Equal(alphaOne, metadataOne);
        Assert.True(GoldenTensors.RelativeError(alphaOne, baseWeight) > 0.1, "alpha-scaled delta is not negligible");
    }

    [Fact]
    public void AlphaPattern_InMetadata_OverridesTheComponentAlpha()
    {
        var first = UnetLayer($"{Block}.attn1.to_k", 4, 80, alpha: 4f);
        var second = UnetLayer($"{Block}.attn1.to_v", 4, 81, alpha: 1f);
        using var lora = LoraAdapter.Open(Write(TempFile("pattern.safetensors"), TestLoraNaming.PeftWithMetadataAlpha, first, second));
        Assert.Equal([4f, 1f], lora.Modules.OrderBy(m => m.Module, StringComparer.Ordinal).Select(m => m.Alpha));
    }

    // ---- (e) two LoRAs stack ---------------------------------------------------------------------------

    [Fact]
    public void TwoLoras_Stack()
    {
        var first = UnetLayers(90, alpha: 2f);
        TestLoraLayer[] second =
        [
            UnetLayer($"{Block}.attn1.to_q", 2, 95, alpha: 1f),           // also in the first LoRA
            UnetLayer($"{Block}.attn2.to_out.0", 4, 96, alpha: 1f),
            UnetLayer("down_blocks.1.resnets.1.conv2", 4, 97, alpha: 1f),
        ];
        using var a = LoraAdapter.Open(Write(TempFile("first.safetensors"), TestLoraNaming.Kohya, first));
        using var b = LoraAdapter.Open(Write(TempFile("second.safetensors"), TestLoraNaming.PeftWithMetadataAlpha, second));
        using var unet = new SafetensorsCheckpoint(UnetWeights);
        var merged = new LoraMergedCheckpoint(unet, [(a, 0.7f), (b, -0.4f)], LoraComponent.Unet);
        Assert.Equal(first.Length + second.Length, merged.Applied.Count);
        Assert.Equal(first.Length + second.Length - 1, merged.AdaptedKeys.Count);

        float[] expected = RunUnet(WriteHandMerged(UnetWeights, TempFile("both.safetensors"), LoraComponent.Unet, (first, 0.7f), (second, -0.4f)));
        float[] onlyFirst = RunUnet(WriteHandMerged(UnetWeights, TempFile("first-merged.safetensors"), LoraComponent.Unet, (first, 0.7f)));
        float[] actual = RunUnet(merged);
        AssertClose(expected, actual, MergeTolerance, "two LoRAs vs hand-merged");
        AssertDifferent(onlyFirst, actual, "two LoRAs vs the first only");
    }

    // ---- (f) conv LoRA on 3×3 convs ---------------------------------------------------------------------

    [Fact]
    public void ConvLora_On3x3Convs_MergesPerKernelTap()
    {
        TestLoraLayer[] layers =
        [
            UnetLayer("down_blocks.1.resnets.1.conv1", 4, 100, alpha: 2f),      // [32,32,3,3]
            UnetLayer("up_blocks.2.resnets.0.conv1", 4, 101, alpha: 4f),        // [32,64,3,3]
            UnetLayer("down_blocks.0.downsamplers.0.conv", 2, 102),             // stride-2 conv
            UnetLayer("conv_in", 2, 103),                                       // [32,4,3,3]
        ];
        Assert.All(layers, l => Assert.Equal(4, l.DownShape.Length));
        Assert.All(layers, l => Assert.Equal([l.UpShape[0], l.Rank, 1L, 1L], l.UpShape));
        using var lora = LoraAdapter.Open(Write(TempFile("conv.safetensors"), TestLoraNaming.Kohya, layers));
        using var unet = new SafetensorsCheckpoint(UnetWeights);
        var merged = new LoraMergedCheckpoint(unet, [(lora, 0.6f)], LoraComponent.Unet);

        // Element level: W'[o,i,kh,kw] = W + 0.6 · (alpha/r) · Σ_r up[o,r] · down[r,i,kh,kw].
        foreach (var layer in layers)
        {
            float[] w = unet.ReadFloat32(layer.BaseKey), m = merged.ReadFloat32(layer.BaseKey);
            double[] delta = layer.Delta();
            Assert.Equal(w.Length, delta.Length);
            for (int i = 0; i < w.Length; i++)
            {
                Assert.True(Math.Abs(m[i] - (w[i] + 0.6 * delta[i])) <= 1e-6, $"{layer.BaseKey}[{i}]");
            }
        }
        float[] expected = RunUnet(WriteHandMerged(UnetWeights, TempFile("conv-merged.safetensors"), LoraComponent.Unet, (layers, 0.6f)));
        float[] actual = RunUnet(merged);
        AssertClose(expected, actual, MergeTolerance, "conv LoRA vs hand-merged");
        AssertDifferent(RunUnet(UnetWeights), actual, "conv LoRA vs base");
    }

    [Fact]
    public void OneByOneConvShapedLora_FitsALinear_AndLinearShapedLora_FitsAOneByOneConv()
    {
        // SD-1.x-style LoRAs store proj_in as a 1×1 conv; SDXL's proj_in is a Linear [32,32]. The reverse for conv_shortcut [32,64,1,1].
        var linear = UnetLayer("down_blocks.1.attentions.0.proj_in", 4, 160);
        var convShaped = linear with { DownShape = [4, 32, 1, 1], UpShape = [32, 4, 1, 1] };
        var conv = UnetLayer("up_blocks.2.resnets.0.conv_shortcut", 4, 161);
        var linearShaped = conv with { DownShape = [4, 64], UpShape = [32, 4] };
        using var lora = LoraAdapter.Open(Write(TempFile("shapes.safetensors"), TestLoraNaming.Kohya, convShaped, linearShaped));
        using var unet = new SafetensorsCheckpoint(UnetWeights);
        var merged = new LoraMergedCheckpoint(unet, [(lora, 1f)], LoraComponent.Unet);

        Assert.Empty(merged.Problems);
        foreach (var layer in new[] { linear, conv })
        {
            float[] w = unet.ReadFloat32(layer.BaseKey), m = merged.ReadFloat32(layer.BaseKey);
            double[] delta = layer.Delta();
            for (int i = 0; i < w.Length; i++)
            {
                Assert.True(Math.Abs(m[i] - (w[i] + delta[i])) <= 1e-6, $"{layer.BaseKey}[{i}]");
            }
        }
    }

    [Fact]
    public void LargeMatrix_MergedInParallelBlocks_EqualsTheSequentialProduct()
    {
        // 640×1024 with rank 8 is above the parallel threshold; compare against a plain double loop.
        const int rows = 640, cols = 1024, rank = 8;
        var layer = TestLoraLayer.Random(LoraComponent.Unet, "big", [rows, cols], rank, 170, alpha: 4f);
        var rng = new Random(171);
        float[] w = Enumerable.Range(0, rows * cols).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        byte[] bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(w.AsSpan()).ToArray();

        LoraMergedCheckpoint.AddLowRankProduct(bytes, layer.Up, layer.Down, rank, 0.3f * 4f / rank);

        float[] merged = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();
        double[] delta = layer.Delta();
        for (int i = 0; i < w.Length; i++)
        {
            Assert.True(Math.Abs(merged[i] - (w[i] + 0.3 * delta[i])) <= 1e-5, $"element {i}");
        }
    }

    // ---- (g) keys that match nothing ----------------------------------------------------------------

    [Fact]
    public void UnmatchedKeys_AreReported_AndStrictModeFails()
    {
        string path = TempFile("mixed.safetensors");
        var good = UnetLayer($"{Block}.attn1.to_q", 4, 110);
        var te2 = ClipLayer("text_model.encoder.layers.0.self_attn.q_proj", 4, 111, component: LoraComponent.TextEncoder2);
        var wrongShape = TestLoraLayer.Random(LoraComponent.Unet, $"{Block}.attn1.to_k", [32, 64], 4, 112);
        var missing = TestLoraLayer.Random(LoraComponent.Unet, "down_blocks.9.attentions.0.proj_in", [32, 32], 4, 113);
        Write(path, TestLoraNaming.Kohya, good, te2, wrongShape, missing);
        // Add keys of unsupported forms next to the valid ones.
        string extended = TempFile("mixed2.safetensors");
        using (var file = SafetensorsFile.Open(path))
        {
            var tensors = file.Tensors.Values.OrderBy(t => t.Begin)
                .Select(t => SafetensorsWriter.Tensor.FromArray(t.Name, t.DType, t.Shape, file.ReadFloat32(t.Name)))
                .Append(SafetensorsWriter.Tensor.FromArray("lora_unet_input_blocks_4_1_proj_in.lora_down.weight", SafetensorsDType.F32, [4, 32], new float[128]))
                .Append(SafetensorsWriter.Tensor.FromArray("lora_unet_input_blocks_4_1_proj_in.lora_up.weight", SafetensorsDType.F32, [32, 4], new float[128]))
                .Append(SafetensorsWriter.Tensor.FromArray($"lora_unet_{Block.Replace('.', '_')}_attn2_to_q.hada_w1_a", SafetensorsDType.F32, [32, 4], new float[128]))
                .Append(SafetensorsWriter.Tensor.FromArray("emb_params", SafetensorsDType.F32, [2, 32], new float[64]))
                .ToList();
            SafetensorsWriter.Write(extended, tensors);
        }

        using var lora = LoraAdapter.Open(extended);
        using var unet = new SafetensorsCheckpoint(UnetWeights);
        using var clip = new SafetensorsCheckpoint(ClipWeights);
        var mergedUnet = new LoraMergedCheckpoint(unet, [(lora, 1f)], LoraComponent.Unet);
        var mergedClip = new LoraMergedCheckpoint(clip, [(lora, 1f)], LoraComponent.TextEncoder);   // a model without text_encoder_2
        var report = LoraMerge.Report([mergedUnet, mergedClip]);

        Assert.Equal([good.BaseKey], report.Applied.Select(a => a.BaseKey));
        var reasons = report.Unmatched.ToDictionary(u => u.Key, u => u.Reason);
        foreach (var r in report.Unmatched) output.WriteLine(r.ToString());
        Assert.Equal(6, reasons.Count);
        // An original-layout module is a module (one issue, on its down key); without the UNet config nothing maps it.
        Assert.Contains("original (LDM/sgm) layout", reasons["lora_unet_input_blocks_4_1_proj_in.lora_down.weight"]);
        Assert.Contains("not plain LoRA", reasons[$"lora_unet_{Block.Replace('.', '_')}_attn2_to_q.hada_w1_a"]);
        Assert.Contains("unrecognized", reasons["emb_params"]);
        Assert.Contains("no text_encoder_2", reasons["lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight"]);
        Assert.Contains("does not fit", reasons[$"lora_unet_{Block.Replace('.', '_')}_attn1_to_k.lora_down.weight"]);
        Assert.Contains("[4,64]", reasons[$"lora_unet_{Block.Replace('.', '_')}_attn1_to_k.lora_down.weight"]);
        Assert.DoesNotContain($"lora_unet_{Block.Replace('.', '_')}_attn1_to_k.lora_down.weight", mergedUnet.AdaptedKeys);
        Assert.Contains("no unet weight is named like module 'down_blocks_9_attentions_0_proj_in'",
            reasons["lora_unet_down_blocks_9_attentions_0_proj_in.lora_down.weight"]);
        Assert.Contains("mixed2.safetensors", report.Warning());

        var strict = Assert.Throws<ModelLoadException>(() => LoraMerge.Report([mergedUnet, mergedClip], strict: true));
        Assert.Equal(extended, strict.Path);
        Assert.Contains("mixed2.safetensors", strict.Message);
        Assert.Contains("input_blocks_4_1_proj_in", strict.Message);

        // The model still builds with the one usable module (every base key read, nothing left unused).
        AssertDifferent(RunUnet(UnetWeights), RunUnet(mergedUnet), "unet with the usable module");
    }

    [Fact]
    public void KohyaName_MatchingTwoBaseKeys_IsReportedAsAmbiguous()
    {
        string basePath = TempFile("ambiguous-base.safetensors");
        SafetensorsWriter.Write(basePath,
        [
            SafetensorsWriter.Tensor.FromArray("a.b_c.weight", SafetensorsDType.F32, [2, 2], new float[4]),
            SafetensorsWriter.Tensor.FromArray("a_b.c.weight", SafetensorsDType.F32, [2, 2], new float[4]),
            SafetensorsWriter.Tensor.FromArray("x.y_z.weight", SafetensorsDType.F32, [2, 2], new float[] { 1, 2, 3, 4 }),
        ]);
        var ambiguous = new TestLoraLayer(LoraComponent.Unet, "a.b.c", [1, 1], [1, 2], [1, 1], [2, 1], null);
        var plain = new TestLoraLayer(LoraComponent.Unet, "x.y_z", [1, 0], [1, 2], [0.5f, 1], [2, 1], null);
        using var lora = LoraAdapter.Open(Write(TempFile("ambiguous.safetensors"), TestLoraNaming.Kohya, ambiguous, plain));
        using var weights = new SafetensorsCheckpoint(basePath);
        var merged = new LoraMergedCheckpoint(weights, [(lora, 2f)], LoraComponent.Unet);

        var problem = Assert.Single(merged.Problems);
        Assert.Equal("lora_unet_a_b_c.lora_down.weight", problem.Key);
        Assert.Contains("ambiguous", problem.Reason);
        // x_y_z resolves to x.y_z: W + 2 · [0.5, 1]ᵀ·[1, 0].
        Assert.Equal([2f, 2f, 5f, 4f], merged.ReadFloat32("x.y_z.weight"));
        // Linear layers read it transposed: [in, out].
        Assert.Equal([2f, 5f, 2f, 4f], Floats(merged.Float32Transposed("x.y_z.weight")));
        // Keys no LoRA touches pass through unchanged.
        Assert.Equal(Floats(weights.Float32("a.b_c.weight")), Floats(merged.Float32("a.b_c.weight")));
    }

    private static float[] Floats(WeightData data) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(data.ToArray()).ToArray();

    // ---- (h) corrupt files ---------------------------------------------------------------------------

    [Fact]
    public void CorruptLoraFiles_FailWithTheFileName()
    {
        string garbage = TempFile("garbage.safetensors");
        File.WriteAllBytes(garbage, [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 2, 3]);
        AssertFails(garbage, "header length");

        string valid = Write(TempFile("valid.safetensors"), TestLoraNaming.Kohya, UnetLayer($"{Block}.attn1.to_q", 4, 120));
        string truncated = TempFile("truncated.safetensors");
        byte[] bytes = File.ReadAllBytes(valid);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length - 100)]);
        AssertFails(truncated, "outside the data section");

        var layer = UnetLayer($"{Block}.attn1.to_q", 4, 121);
        string rankMismatch = TempFile("rank.safetensors");
        SafetensorsWriter.Write(rankMismatch,
        [
            SafetensorsWriter.Tensor.FromArray("lora_unet_x.lora_down.weight", SafetensorsDType.F32, layer.DownShape, layer.Down),
            SafetensorsWriter.Tensor.FromArray("lora_unet_x.lora_up.weight", SafetensorsDType.F32, [16, 8], new float[128]),
        ]);
        AssertFails(rankMismatch, "rank mismatch");

        string downOnly = TempFile("downonly.safetensors");
        SafetensorsWriter.Write(downOnly, [SafetensorsWriter.Tensor.FromArray("unet.x.lora_A.weight", SafetensorsDType.F32, layer.DownShape, layer.Down)]);
        AssertFails(downOnly, "no matching up tensor");

        string vectorAlpha = TempFile("alpha.safetensors");
        SafetensorsWriter.Write(vectorAlpha,
        [
            SafetensorsWriter.Tensor.FromArray("lora_unet_x.lora_down.weight", SafetensorsDType.F32, layer.DownShape, layer.Down),
            SafetensorsWriter.Tensor.FromArray("lora_unet_x.lora_up.weight", SafetensorsDType.F32, layer.UpShape, layer.Up),
            SafetensorsWriter.Tensor.FromArray("lora_unet_x.alpha", SafetensorsDType.F32, [2], new float[] { 1, 2 }),
        ]);
        AssertFails(vectorAlpha, "expected a scalar");

        string badMetadata = TempFile("metadata.safetensors");
        SafetensorsWriter.Write(badMetadata,
        [
            SafetensorsWriter.Tensor.FromArray("unet.x.lora_A.weight", SafetensorsDType.F32, layer.DownShape, layer.Down),
            SafetensorsWriter.Tensor.FromArray("unet.x.lora_B.weight", SafetensorsDType.F32, layer.UpShape, layer.Up),
        ], new Dictionary<string, string> { [LoraAdapter.AdapterMetadataKey] = "{not json" });
        AssertFails(badMetadata, "not valid JSON");

        // A model checkpoint given as a LoRA: no LoRA tensors at all.
        AssertFails(ClipWeights, "holds no usable LoRA tensors");

        AssertFails(TempFile("missing.safetensors"), "not found");

        static void AssertFails(string path, string because)
        {
            var e = Assert.Throws<ModelLoadException>(() => LoraAdapter.Open(path).Dispose());
            Assert.Equal(path, e.Path);
            Assert.Contains(Path.GetFileName(path), e.Message);
            Assert.Contains(because, e.Message);
        }
    }

    // ---- fingerprint and applying to a whole model --------------------------------------------------------

    [Fact]
    public void Fingerprint_FollowsFileContentsAndScales()
    {
        var layer = UnetLayer($"{Block}.attn1.to_q", 4, 130);
        using var a = LoraAdapter.Open(Write(TempFile("fa.safetensors"), TestLoraNaming.Kohya, layer));
        using var sameContent = LoraAdapter.Open(Write(TempFile("fa-copy.safetensors"), TestLoraNaming.Kohya, layer));
        using var b = LoraAdapter.Open(Write(TempFile("fb.safetensors"), TestLoraNaming.Kohya, UnetLayer($"{Block}.attn1.to_q", 4, 131)));

        Assert.Equal("", LoraMerge.Fingerprint([]));
        string fa = LoraMerge.Fingerprint([(a, 0.8f)]);
        Assert.Matches("^[0-9a-f]{64}$", fa);
        Assert.Equal(fa, LoraMerge.Fingerprint([(sameContent, 0.8f)]));       // content, not path
        Assert.NotEqual(fa, LoraMerge.Fingerprint([(a, 0.7f)]));
        Assert.NotEqual(fa, LoraMerge.Fingerprint([(b, 0.8f)]));
        Assert.NotEqual(fa, LoraMerge.Fingerprint([(a, 0.8f), (b, 0.8f)]));
        Assert.NotEqual(LoraMerge.Fingerprint([(a, 0.8f), (b, 0.5f)]), LoraMerge.Fingerprint([(a, 0.5f), (b, 0.8f)]));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(a.Path))), a.ContentHash);
    }

    [Fact]
    public void Apply_WrapsEveryComponent_ChangesTheContentHash_AndReportsMissingNetworks()
    {
        var unetLayer = UnetLayer($"{Block}.attn2.to_q", 4, 140);
        var teLayer = ClipLayer("text_model.encoder.layers.1.mlp.fc2", 4, 141);
        var te2Layer = ClipLayer("text_model.encoder.layers.1.mlp.fc2", 4, 142, component: LoraComponent.TextEncoder2);
        using var lora = LoraAdapter.Open(Write(TempFile("apply.safetensors"), TestLoraNaming.Kohya, unetLayer, teLayer, te2Layer));
        using var unet = new SafetensorsCheckpoint(UnetWeights);
        using var clip = new SafetensorsCheckpoint(ClipWeights);
        using var vae = new SafetensorsCheckpoint(ClipWeights);
        var components = new CheckpointComponents
        {
            Family = default,
            UnetConfigJson = "{}", Unet = unet,
            TextEncoderConfigJson = "{}", TextEncoder = clip,
            VaeConfigJson = "{}", Vae = vae,
            SchedulerConfigJson = "{}",
            ContentHash = "base-hash",
            Source = "golden",
        };

        Assert.Same(components, LoraMerge.Apply(components, []).Components);
        var (merged, report) = LoraMerge.Apply(components, [(lora, 0.5f)]);
        var (merged2, _) = LoraMerge.Apply(components, [(lora, 0.6f)]);

        Assert.IsType<LoraMergedCheckpoint>(merged.Unet);
        Assert.IsType<LoraMergedCheckpoint>(merged.TextEncoder);
        Assert.Null(merged.TextEncoder2);
        Assert.Same(vae, merged.Vae);
        Assert.NotEqual("base-hash", merged.ContentHash);
        Assert.NotEqual(merged.ContentHash, merged2.ContentHash);
        Assert.Equal([unetLayer.BaseKey, teLayer.BaseKey], report.Applied.Select(a => a.BaseKey));
        var issue = Assert.Single(report.Unmatched);
        Assert.Contains("the model has no text_encoder_2", issue.Reason);
        Assert.Throws<ModelLoadException>(() => LoraMerge.Apply(components, [(lora, 0.5f)], strict: true));

        float[] expected = RunClip(WriteHandMerged(ClipWeights, TempFile("apply-te.safetensors"), LoraComponent.TextEncoder, ([teLayer], 0.5f)));
        AssertClose(expected, RunClip(merged.TextEncoder), MergeTolerance, "applied text encoder vs hand-merged");
    }

    [Fact]
    public void NonFiniteScale_IsRejected()
    {
        using var lora = LoraAdapter.Open(Write(TempFile("scale.safetensors"), TestLoraNaming.Kohya, UnetLayer($"{Block}.attn1.to_q", 4, 150)));
        using var unet = new SafetensorsCheckpoint(UnetWeights);
        var e = Assert.Throws<InvalidRequestException>(() => new LoraMergedCheckpoint(unet, [(lora, float.NaN)], LoraComponent.Unet));
        Assert.Contains("scale.safetensors", e.Message);
    }
}
