using TurboGen.Checkpoints.Lora;
using TurboGen.Testing;
using TurboGen.Weights;
using Xunit.Abstractions;
using static TurboGen.Core.Tests.Checkpoints.Lora.LoraTestSupport;

namespace TurboGen.Core.Tests.Checkpoints.Lora;

/// <summary>
/// The key namings and alpha sources of one LoRA: kohya, diffusers/PEFT, diffusers down/up and old attention-processor keys give
/// identical weights; text_encoder_2 prefixes target only the second encoder; alpha from a tensor, the adapter metadata or its
/// alpha_pattern scales the delta by alpha / rank.
/// </summary>
public sealed class LoraKeyNamingTests(ITestOutputHelper output) : LoraMergeTestBase(output)
{
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
}
