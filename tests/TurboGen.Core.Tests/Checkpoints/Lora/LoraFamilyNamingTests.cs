using TurboGen.Checkpoints;
using TurboGen.Checkpoints.Lora;
using TurboGen.Testing;
using TurboGen.Weights;
using static TurboGen.Core.Tests.Checkpoints.Lora.LoraTestSupport;

namespace TurboGen.Core.Tests.Checkpoints.Lora;

/// <summary>
/// The key namings few-step LoRAs (LCM-LoRA, Hyper-SD, SDXL-Lightning, TCD-LoRA) and other community LoRAs come in, merged into
/// the tiny SDXL UNet (issue 16 item 4): kohya with diffusers module names (<c>lora_unet_down_blocks_…</c>), kohya with original
/// (LDM/sgm) module names (kohya's SDXL files: <c>lora_unet_input_blocks_…</c>), diffusers/PEFT <c>unet.….lora_A/lora_B</c>, and
/// <c>diffusion_model.….lora_down</c> /
/// <c>lora_A</c> (ComfyUI / stable-diffusion.cpp style). Every file names the same layers; each must change exactly those
/// weights by W' = W + scale · (alpha / rank) · up · down, computed here in double from the values the test wrote, and leave
/// every other weight bit for bit. The original-layout names are written out by hand for this config (3 down blocks, 2 layers
/// each: input_blocks 4–5 are down_blocks.1, output_blocks 0–2 up_blocks.0, 6–8 up_blocks.2), not derived by the code under test.
/// </summary>
public sealed class LoraFamilyNamingTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("turbogen-lora-families");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string UnetConfigJson => File.ReadAllText(Path.Combine(TestPaths.GoldenCase(UnetCase), "config.json"));

    /// <summary>(diffusers module, the same module in the original layout, dotted).</summary>
    private static readonly (string Diffusers, string Original)[] Modules =
    [
        ("down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q", "input_blocks.4.1.transformer_blocks.0.attn1.to_q"),
        ("down_blocks.2.attentions.1.transformer_blocks.1.attn2.to_k", "input_blocks.8.1.transformer_blocks.1.attn2.to_k"),
        ("down_blocks.1.resnets.0.conv1", "input_blocks.4.0.in_layers.2"),
        ("down_blocks.1.resnets.0.time_emb_proj", "input_blocks.4.0.emb_layers.1"),
        ("mid_block.attentions.0.proj_in", "middle_block.1.proj_in"),
        ("mid_block.resnets.1.conv2", "middle_block.2.out_layers.3"),
        ("up_blocks.0.attentions.1.transformer_blocks.1.attn2.to_v", "output_blocks.1.1.transformer_blocks.1.attn2.to_v"),
        ("up_blocks.2.resnets.0.conv_shortcut", "output_blocks.6.0.skip_connection"),
        ("time_embedding.linear_1", "time_embed.0"),
        ("add_embedding.linear_2", "label_emb.0.2"),
        ("conv_out", "out.2"),
    ];

    public enum Style { KohyaDiffusers, KohyaOriginal, Peft, DiffusionModelDown, DiffusionModelLoraA }

    /// <summary>(down, up, alpha) tensor names of one module in a style; null alpha = the style keeps alpha elsewhere.</summary>
    internal static (string Down, string Up, string? Alpha) Keys(Style style, (string Diffusers, string Original) m) => style switch
    {
        Style.KohyaDiffusers => Kohya("lora_unet_" + m.Diffusers.Replace('.', '_')),
        Style.KohyaOriginal => Kohya("lora_unet_" + m.Original.Replace('.', '_')),
        Style.Peft => ($"unet.{m.Diffusers}.lora_A.weight", $"unet.{m.Diffusers}.lora_B.weight", $"unet.{m.Diffusers}.alpha"),
        Style.DiffusionModelDown => ($"diffusion_model.{m.Original}.lora_down.weight", $"diffusion_model.{m.Original}.lora_up.weight", $"diffusion_model.{m.Original}.alpha"),
        _ => ($"diffusion_model.{m.Original}.lora_A.weight", $"diffusion_model.{m.Original}.lora_B.weight", $"diffusion_model.{m.Original}.alpha"),
    };

    private static (string, string, string?) Kohya(string stem) => (stem + ".lora_down.weight", stem + ".lora_up.weight", stem + ".alpha");

    private static TestLoraLayer[] Layers(int seed) =>
        Modules.Select((m, i) => UnetLayer(m.Diffusers, rank: 2 + i % 3, seed + i, alpha: 1.5f + i)).ToArray();

    private string WriteLora(string name, Style style, TestLoraLayer[] layers)
    {
        var tensors = new List<SafetensorsWriter.Tensor>();
        for (int i = 0; i < layers.Length; i++)
        {
            var (down, up, alpha) = Keys(style, Modules[i]);
            tensors.Add(SafetensorsWriter.Tensor.FromArray(down, SafetensorsDType.F32, layers[i].DownShape, layers[i].Down));
            tensors.Add(SafetensorsWriter.Tensor.FromArray(up, SafetensorsDType.F32, layers[i].UpShape, layers[i].Up));
            if (alpha is not null) tensors.Add(SafetensorsWriter.Tensor.FromArray(alpha, SafetensorsDType.F32, [], new[] { layers[i].Alpha!.Value }));
        }
        string path = Path.Combine(_dir, name);
        SafetensorsWriter.Write(path, tensors);
        return path;
    }

    [Theory]
    [InlineData(Style.KohyaDiffusers)]
    [InlineData(Style.KohyaOriginal)]
    [InlineData(Style.Peft)]
    [InlineData(Style.DiffusionModelDown)]
    [InlineData(Style.DiffusionModelLoraA)]
    public void EachNaming_ChangesExactlyTheTargetedWeights_ByTheMergeFormula(Style style)
    {
        var layers = Layers(200);
        using var lora = LoraAdapter.Open(WriteLora($"{style}.safetensors", style, layers));
        Assert.Empty(lora.UnrecognizedKeys);
        using var unet = new SafetensorsCheckpoint(UnetWeights);
        var merged = new LoraMergedCheckpoint(unet, [(lora, 0.7f)], LoraComponent.Unet, unetConfigJson: UnetConfigJson);

        Assert.Empty(merged.Problems);
        Assert.Equal(layers.Select(l => l.BaseKey).Order(), merged.Applied.Select(a => a.BaseKey).Order());
        AssertMerged(unet, merged, (layers, 0.7f));
    }

    [Fact]
    public void SeveralLorasInOneLoad_InDifferentNamings_AddTheirScaledDeltas()
    {
        var first = Layers(300);
        var second = Layers(400);
        using var a = LoraAdapter.Open(WriteLora("lcm-like.safetensors", Style.KohyaOriginal, first));
        using var b = LoraAdapter.Open(WriteLora("style.safetensors", Style.Peft, second));
        using var unet = new SafetensorsCheckpoint(UnetWeights);
        var merged = new LoraMergedCheckpoint(unet, [(a, 1f), (b, -0.35f)], LoraComponent.Unet, unetConfigJson: UnetConfigJson);
        Assert.Empty(merged.Problems);
        AssertMerged(unet, merged, (first, 1f), (second, -0.35f));
    }

    [Fact]
    public void Apply_GivesTheUnetConfig_SoOriginalLayoutNamesResolve()
    {
        var layers = Layers(500);
        using var lora = LoraAdapter.Open(WriteLora("sgm.safetensors", Style.KohyaOriginal, layers));
        using var unet = new SafetensorsCheckpoint(UnetWeights);
        using var clip = new SafetensorsCheckpoint(ClipWeights);
        var components = new CheckpointComponents
        {
            Family = ModelFamily.Sdxl,
            UnetConfigJson = UnetConfigJson, Unet = unet,
            TextEncoderConfigJson = "{}", TextEncoder = clip,
            VaeConfigJson = "{}", Vae = clip,
            SchedulerConfigJson = "{}",
            ContentHash = "base",
            Source = "golden",
        };
        var (merged, report) = LoraMerge.Apply(components, [(lora, 0.5f)], strict: true);
        Assert.Equal(layers.Length, report.Applied.Count);
        AssertMerged(unet, merged.Unet, (layers, 0.5f));
    }

    [Fact]
    public void UnknownAndMismatchedKeys_FailStrictly_NamingTheKey()
    {
        var layers = Layers(600);
        string path = WriteLora("partial.safetensors", Style.KohyaOriginal, layers);
        // A block this UNet does not have (down block 0 has no attention: input_blocks.1.1), a wrong shape, an unknown key.
        string extra = Path.Combine(_dir, "partial2.safetensors");
        using (var file = SafetensorsFile.Open(path))
        {
            SafetensorsWriter.Write(extra, file.Tensors.Values.OrderBy(t => t.Begin)
                .Select(t => SafetensorsWriter.Tensor.FromArray(t.Name, t.DType, t.Shape, file.ReadFloat32(t.Name)))
                .Append(SafetensorsWriter.Tensor.FromArray("lora_unet_input_blocks_1_1_proj_in.lora_down.weight", SafetensorsDType.F32, [2, 32], new float[64]))
                .Append(SafetensorsWriter.Tensor.FromArray("lora_unet_input_blocks_1_1_proj_in.lora_up.weight", SafetensorsDType.F32, [32, 2], new float[64]))
                .Append(SafetensorsWriter.Tensor.FromArray("diffusion_model.input_blocks.5.1.proj_out.lora_down.weight", SafetensorsDType.F32, [2, 320], new float[640]))
                .Append(SafetensorsWriter.Tensor.FromArray("diffusion_model.input_blocks.5.1.proj_out.lora_up.weight", SafetensorsDType.F32, [320, 2], new float[640]))
                .Append(SafetensorsWriter.Tensor.FromArray("lora_unet_input_blocks_4_1_proj_in.hada_w1_a", SafetensorsDType.F32, [32, 2], new float[64]))
                .ToList());
        }
        using var lora = LoraAdapter.Open(extra);
        using var unet = new SafetensorsCheckpoint(UnetWeights);
        var merged = new LoraMergedCheckpoint(unet, [(lora, 1f)], LoraComponent.Unet, unetConfigJson: UnetConfigJson);
        var report = LoraMerge.Report([merged]);
        Assert.Equal(layers.Length, report.Applied.Count);   // the good modules still apply when not strict
        var reasons = report.Unmatched.ToDictionary(u => u.Key, u => u.Reason);
        Assert.Contains("no unet weight is named like original (LDM/sgm) layout module 'input_blocks_1_1_proj_in'", reasons["lora_unet_input_blocks_1_1_proj_in.lora_down.weight"]);
        Assert.Contains("does not fit unet weight 'down_blocks.1.attentions.1.proj_out.weight'", reasons["diffusion_model.input_blocks.5.1.proj_out.lora_down.weight"]);
        Assert.Contains("not plain LoRA", reasons["lora_unet_input_blocks_4_1_proj_in.hada_w1_a"]);

        var strict = Assert.Throws<ModelLoadException>(() => LoraMerge.Report([merged], strict: true));
        Assert.Equal(extra, strict.Path);
        Assert.Contains("lora_unet_input_blocks_1_1_proj_in.lora_down.weight", strict.Message);
        Assert.Contains("diffusion_model.input_blocks.5.1.proj_out.lora_down.weight", strict.Message);

        // A LoRA none of whose modules fits (an SD 1.x LoRA on this model) is an error even when not strict.
        string foreign = Path.Combine(_dir, "foreign.safetensors");
        SafetensorsWriter.Write(foreign, [
            SafetensorsWriter.Tensor.FromArray("lora_unet_input_blocks_1_1_transformer_blocks_0_attn1_to_q.lora_down.weight", SafetensorsDType.F32, [2, 320], new float[640]),
            SafetensorsWriter.Tensor.FromArray("lora_unet_input_blocks_1_1_transformer_blocks_0_attn1_to_q.lora_up.weight", SafetensorsDType.F32, [320, 2], new float[640]),
        ]);
        using var foreignLora = LoraAdapter.Open(foreign);
        var none = new LoraMergedCheckpoint(unet, [(foreignLora, 1f)], LoraComponent.Unet, unetConfigJson: UnetConfigJson);
        var error = Assert.Throws<ModelLoadException>(() => LoraMerge.Report([none]));
        Assert.Contains("fits nothing", error.Message);
        Assert.Contains("lora_unet_input_blocks_1_1_transformer_blocks_0_attn1_to_q.lora_down.weight", error.Message);
    }
}
