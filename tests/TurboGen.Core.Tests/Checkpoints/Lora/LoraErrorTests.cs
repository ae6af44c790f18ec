using TurboGen.Checkpoints.Lora;
using TurboGen.Weights;
using Xunit.Abstractions;
using static TurboGen.Core.Tests.Checkpoints.Lora.LoraTestSupport;

namespace TurboGen.Core.Tests.Checkpoints.Lora;

/// <summary>
/// LoRA keys and files that cannot be merged: unmatched keys reported (and fatal in strict mode), a kohya name matching two base
/// keys reported as ambiguous, corrupt files failing with the file name, and a non-finite scale rejected.
/// </summary>
public sealed class LoraErrorTests(ITestOutputHelper output) : LoraMergeTestBase(output)
{
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
        foreach (var r in report.Unmatched) Output.WriteLine(r.ToString());
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

    [Fact]
    public void NonFiniteScale_IsRejected()
    {
        using var lora = LoraAdapter.Open(Write(TempFile("scale.safetensors"), TestLoraNaming.Kohya, UnetLayer($"{Block}.attn1.to_q", 4, 150)));
        using var unet = new SafetensorsCheckpoint(UnetWeights);
        var e = Assert.Throws<InvalidRequestException>(() => new LoraMergedCheckpoint(unet, [(lora, float.NaN)], LoraComponent.Unet));
        Assert.Contains("scale.safetensors", e.Message);
    }
}
