using TurboGen.Checkpoints.Lora;
using TurboGen.Testing;
using TurboGen.Weights;
using static TurboGen.Core.Tests.Checkpoints.Lora.LoraTestSupport;

namespace TurboGen.Core.Tests.Checkpoints.Lora;

/// <summary>
/// An LCM-LoRA-style file on the tiny SD 1.x UNet (golden unet_sd15_tiny: 4 down blocks, the last without attention,
/// convolutional proj_in/proj_out) in the namings SD 1.5 LoRAs come in (issue 16 "Done when"): every targeted weight becomes
/// W + scale · (alpha / rank) · up · down, computed in double from the values the test wrote, and every other weight keeps
/// its bits. The original (LDM) names are written out by hand for this config, not derived by the code under test:
/// input_blocks 1–2 are down_blocks.0, 4–5 down_blocks.1, 7–8 down_blocks.2, 10–11 down_blocks.3; output_blocks 0–2
/// up_blocks.0, 3–5 up_blocks.1, 6–8 up_blocks.2, 9–11 up_blocks.3.
/// </summary>
public sealed class Sd15LoraMergeTests : IDisposable
{
    private const string Case = "unet_sd15_tiny";
    private readonly string _dir = TestPaths.NewTempDir("turbogen-lora-sd15");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Weights => Path.Combine(TestPaths.GoldenCase(Case), "diffusion_pytorch_model.safetensors");
    private static string ConfigJson => File.ReadAllText(Path.Combine(TestPaths.GoldenCase(Case), "config.json"));

    /// <summary>(diffusers module, the same module in the SD 1.x original layout).</summary>
    private static readonly (string Diffusers, string Original)[] Modules =
    [
        ("down_blocks.0.attentions.0.proj_in", "input_blocks.1.1.proj_in"),                          // 1×1 convolution in SD 1.x
        ("down_blocks.0.attentions.1.transformer_blocks.0.attn1.to_q", "input_blocks.2.1.transformer_blocks.0.attn1.to_q"),
        ("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k", "input_blocks.4.1.transformer_blocks.0.attn2.to_k"),
        ("down_blocks.2.resnets.0.conv1", "input_blocks.7.0.in_layers.2"),
        ("down_blocks.3.resnets.1.time_emb_proj", "input_blocks.11.0.emb_layers.1"),
        ("mid_block.attentions.0.proj_out", "middle_block.1.proj_out"),
        ("mid_block.resnets.0.conv2", "middle_block.0.out_layers.3"),
        ("up_blocks.0.resnets.2.conv_shortcut", "output_blocks.2.0.skip_connection"),
        ("up_blocks.1.attentions.2.transformer_blocks.0.attn2.to_v", "output_blocks.5.1.transformer_blocks.0.attn2.to_v"),
        ("up_blocks.3.attentions.0.transformer_blocks.0.ff.net.2", "output_blocks.9.1.transformer_blocks.0.ff.net.2"),
        ("time_embedding.linear_1", "time_embed.0"),
        ("conv_out", "out.2"),
    ];

    private static TestLoraLayer[] Layers(int seed) => Modules
        .Select((m, i) => TestLoraLayer.Random(LoraComponent.Unet, m.Diffusers, ShapeIn(Weights, m.Diffusers + ".weight"), rank: 2 + i % 3, seed + i, alpha: 1f + i))
        .ToArray();

    private string WriteLora(LoraFamilyNamingTests.Style style, TestLoraLayer[] layers)
    {
        var tensors = new List<SafetensorsWriter.Tensor>();
        for (int i = 0; i < layers.Length; i++)
        {
            var (down, up, alpha) = LoraFamilyNamingTests.Keys(style, Modules[i]);
            tensors.Add(SafetensorsWriter.Tensor.FromArray(down, SafetensorsDType.F32, layers[i].DownShape, layers[i].Down));
            tensors.Add(SafetensorsWriter.Tensor.FromArray(up, SafetensorsDType.F32, layers[i].UpShape, layers[i].Up));
            if (alpha is not null) tensors.Add(SafetensorsWriter.Tensor.FromArray(alpha, SafetensorsDType.F32, [], new[] { layers[i].Alpha!.Value }));
        }
        string path = Path.Combine(_dir, $"lcm-lora-sd15-{style}.safetensors");
        SafetensorsWriter.Write(path, tensors);
        return path;
    }

    [Theory]
    [InlineData(LoraFamilyNamingTests.Style.KohyaDiffusers)]
    [InlineData(LoraFamilyNamingTests.Style.KohyaOriginal)]
    [InlineData(LoraFamilyNamingTests.Style.Peft)]
    [InlineData(LoraFamilyNamingTests.Style.DiffusionModelDown)]
    public void LcmLoraOnTheSd1xUnet_ChangesExactlyTheTargetedWeights_ByTheMergeFormula(LoraFamilyNamingTests.Style style)
    {
        var layers = Layers(500);
        using var lora = LoraAdapter.Open(WriteLora(style, layers));
        Assert.Empty(lora.UnrecognizedKeys);
        using var unet = new SafetensorsCheckpoint(Weights);
        var merged = new LoraMergedCheckpoint(unet, [(lora, 1f)], LoraComponent.Unet, unetConfigJson: ConfigJson);

        Assert.Empty(merged.Problems);
        Assert.Equal(layers.Select(l => l.BaseKey).Order(), merged.Applied.Select(a => a.BaseKey).Order());
        AssertMerged(unet, merged, (layers, 1f));
    }
}
