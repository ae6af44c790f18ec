using TurboGen.Checkpoints.Lora;
using TurboGen.Testing;
using Xunit.Abstractions;
using static TurboGen.Core.Tests.Checkpoints.Lora.LoraTestSupport;

namespace TurboGen.Core.Tests.Checkpoints.Lora;

/// <summary>
/// What the LoRA merge tests on the golden tiny SDXL UNet and CLIP text encoder share: a scratch folder per test, LoRA layers of
/// every kind for both networks, and the checks that a merge matches (or clearly changes) an output.
/// </summary>
public abstract class LoraMergeTestBase(ITestOutputHelper output) : IDisposable
{
    protected ITestOutputHelper Output { get; } = output;

    protected const double MergeTolerance = 1e-5;
    private readonly string _dir = TestPaths.NewTempDir("turbogen-lora");

    protected string TempFile(string name) => Path.Combine(_dir, name);

    protected const string Block = "down_blocks.1.attentions.0.transformer_blocks.0";

    /// <summary>Linear layers of every kind in the UNet (attention, cross-attention from 72 channels, GEGLU, projections, time embedding) and 1×1 / 3×3 convs.</summary>
    protected static TestLoraLayer[] UnetLayers(int seed, float? alpha = null) =>
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

    protected static TestLoraLayer[] ClipLayers(int seed, float? alpha = null, string component = LoraComponent.TextEncoder) =>
    [
        ClipLayer("text_model.encoder.layers.0.self_attn.q_proj", 4, seed + 1, alpha, component),
        ClipLayer("text_model.encoder.layers.1.self_attn.v_proj", 4, seed + 2, alpha, component),
        ClipLayer("text_model.encoder.layers.2.self_attn.out_proj", 2, seed + 3, alpha, component),
        ClipLayer("text_model.encoder.layers.1.mlp.fc1", 4, seed + 4, alpha, component),
        ClipLayer("text_model.encoder.layers.0.mlp.fc2", 8, seed + 5, alpha, component),
    ];

    protected void AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        double err = GoldenTensors.RelativeError(actual, expected);
        Output.WriteLine($"{what}: relative error {err:E2}");
        Assert.True(err <= tolerance, $"{what}: relative error {err:E3} > {tolerance:E0}");
    }

    protected void AssertDifferent(float[] a, float[] b, string what)
    {
        double err = GoldenTensors.RelativeError(a, b);
        Output.WriteLine($"{what}: relative difference {err:E2}");
        Assert.True(err > 1e-2, $"{what}: the LoRA barely changed the output (relative difference {err:E3})");
    }

    public void Dispose()
    {
        Directory.Delete(_dir, recursive: true);
        GC.SuppressFinalize(this);
    }
}
