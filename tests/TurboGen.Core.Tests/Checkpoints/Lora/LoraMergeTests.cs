using TurboGen.Checkpoints;
using TurboGen.Checkpoints.Lora;
using TurboGen.Weights;
using Xunit.Abstractions;
using static TurboGen.Core.Tests.Checkpoints.Lora.LoraTestSupport;

namespace TurboGen.Core.Tests.Checkpoints.Lora;

/// <summary>
/// Merging LoRAs into the UNet and text encoder: scale 0 keeps the base bits, a merged build equals a build from a hand-merged
/// checkpoint, two LoRAs stack, the fingerprint follows contents and scales, and applying to a whole model wraps every component.
/// </summary>
public sealed class LoraMergeTests(ITestOutputHelper output) : LoraMergeTestBase(output)
{
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
}
