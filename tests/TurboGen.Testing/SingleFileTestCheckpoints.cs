using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using TurboGen.Checkpoints;
using TurboGen.Configs;
using TurboGen.Weights;

namespace TurboGen.Testing;

/// <summary>
/// Tiny original-layout (Stability single-file) checkpoints made from the diffusers/transformers-named golden models, so that
/// <see cref="SingleFileCheckpoint"/> can be checked against the golden outputs. The conversion here goes the other way
/// (diffusers → original) and is written independently of Core's <see cref="SingleFileLayout"/>: it walks the golden keys,
/// fuses q/k/v into OpenCLIP's <c>in_proj_weight/bias</c>, stores the VAE attention weights as 1×1 convs, transposes the text
/// projection, numbers the UNet's <c>input_blocks</c>/<c>output_blocks</c> with a uniform layers_per_block and reverses the
/// VAE decoder's up blocks. It also adds the tensors real files carry but nothing reads (CLIP-L position_ids, logit_scale,
/// and for SD 2.x an extra last resblock and a text projection).
/// <list type="bullet">
/// <item>SDXL: UNet unet_sdxl_tiny; embedders.0 (CLIP-L) clip_text_tiny; embedders.1 (OpenCLIP bigG) clip_text_with_projection_tiny; VAE vae_tiny.</item>
/// <item>SD 2.x: UNet unet_sd21_tiny; cond_stage_model (OpenCLIP-H) clip_text_with_projection_tiny, read as CLIPTextModel; VAE vae_tiny.</item>
/// <item>SD 1.x: UNet unet_sd15_tiny; <c>cond_stage_model.transformer.</c> (CLIP ViT-L, transformers names, with position_ids) clip_text_tiny; VAE vae_tiny.</item>
/// </list>
/// </summary>
public static class SingleFileTestCheckpoints
{
    public const string SdxlUnetCase = "unet_sdxl_tiny";
    public const string SdUnetCase = "unet_sd21_tiny";
    public const string Sd1UnetCase = "unet_sd15_tiny";
    public const string VaeCase = "vae_tiny";
    public const string ClipCase = "clip_text_tiny";
    public const string OpenClipCase = "clip_text_with_projection_tiny";

    /// <summary>
    /// Writes the tiny SDXL single file; <paramref name="keep"/> may drop original keys, <paramref name="extra"/> adds tensors.
    /// <paramref name="convShapedAttentionBiases"/> stores the VAE attention biases [C,1,1], as diffusers'
    /// convert_diffusers_to_original_stable_diffusion.py writes them.
    /// </summary>
    public static void WriteSdxl(string path, Func<string, bool>? keep = null, IEnumerable<SafetensorsWriter.Tensor>? extra = null,
        bool convShapedAttentionBiases = false)
    {
        var tensors = new List<SafetensorsWriter.Tensor>();
        tensors.AddRange(Unet(SdxlUnetCase));
        tensors.AddRange(TransformersClip(ClipCase, "conditioner.embedders.0.transformer."));
        tensors.AddRange(OpenClip(OpenClipCase, "conditioner.embedders.1.model.", extraLayer: false));
        tensors.AddRange(Vae(VaeCase, convShapedAttentionBiases));
        Write(path, tensors, keep, extra);
    }

    /// <summary>Writes the tiny SD 2.x single file, with the text tower under <paramref name="textPrefix"/> (ldm's, or sgm's "conditioner.embedders.0.model.").</summary>
    public static void WriteSd(string path, Func<string, bool>? keep = null, IEnumerable<SafetensorsWriter.Tensor>? extra = null, string textPrefix = "cond_stage_model.model.")
    {
        var tensors = new List<SafetensorsWriter.Tensor>();
        tensors.AddRange(Unet(SdUnetCase));
        tensors.AddRange(OpenClip(OpenClipCase, textPrefix, extraLayer: true));
        tensors.AddRange(Vae(VaeCase));
        Write(path, tensors, keep, extra);
    }

    /// <summary>
    /// Writes the tiny SD 1.x single file (ldm v1 layout: model.diffusion_model, cond_stage_model.transformer.text_model, first_stage_model);
    /// with <paramref name="legacyClipNames"/> the text encoder as early transformers versions saved it, without <c>text_model.</c>.
    /// </summary>
    public static void WriteSd1(string path, Func<string, bool>? keep = null, IEnumerable<SafetensorsWriter.Tensor>? extra = null, string unetCase = Sd1UnetCase,
        bool legacyClipNames = false)
    {
        const string prefix = "cond_stage_model.transformer.";
        var tensors = new List<SafetensorsWriter.Tensor>();
        tensors.AddRange(Unet(unetCase));
        tensors.AddRange(TransformersClip(ClipCase, prefix).Select(t =>
            legacyClipNames ? t with { Name = prefix + t.Name[(prefix + "text_model.").Length..] } : t));
        tensors.AddRange(Vae(VaeCase));
        Write(path, tensors, keep, extra);
    }

    /// <summary>The golden configs of the tiny SD 1.x file (CLIP-L clip_text_tiny, 32 wide = the UNet's cross_attention_dim; SD 1.5's scheduler and model index).</summary>
    public static ModelConfigSet Sd1Configs() => new(ModelFamily.Sd, Config(Sd1UnetCase), Config(ClipCase), null, Config(VaeCase),
        KnownConfigs.Sd15.SchedulerConfigJson, KnownConfigs.Sd15.ModelIndexJson);

    /// <summary>The golden configs of the tiny SDXL file (the scheduler and model index of SDXL-Turbo).</summary>
    public static ModelConfigSet SdxlConfigs() => new(ModelFamily.Sdxl, Config(SdxlUnetCase), Config(ClipCase), Config(OpenClipCase),
        Config(VaeCase), KnownConfigs.SdxlTurbo.SchedulerConfigJson, KnownConfigs.SdxlTurbo.ModelIndexJson);

    /// <summary>The golden configs of the tiny SD file; the text encoder is clip_text_with_projection_tiny's config as a CLIPTextModel (SD 2.x has no projection).</summary>
    public static ModelConfigSet SdConfigs()
    {
        var text = JsonNode.Parse(Config(OpenClipCase))!.AsObject();
        text["architectures"] = new JsonArray("CLIPTextModel");
        return new(ModelFamily.Sd, Config(SdUnetCase), text.ToJsonString(), null, Config(VaeCase), KnownConfigs.SdTurbo.SchedulerConfigJson, KnownConfigs.SdTurbo.ModelIndexJson);
    }

    public static string Config(string caseName) => File.ReadAllText(Path.Combine(TestPaths.GoldenCase(caseName), "config.json"));

    private static void Write(string path, List<SafetensorsWriter.Tensor> tensors, Func<string, bool>? keep, IEnumerable<SafetensorsWriter.Tensor>? extra)
    {
        var all = tensors.Where(t => keep?.Invoke(t.Name) ?? true).Concat(extra ?? []);
        SafetensorsWriter.Write(path, all, new Dictionary<string, string> { ["format"] = "pt" });
    }

    // ---- UNet: model.diffusion_model.* -------------------------------------------------------------------------

    private static readonly (string Diffusers, string Original)[] ResnetNames =
    [
        ("norm1.", "in_layers.0."), ("conv1.", "in_layers.2."), ("time_emb_proj.", "emb_layers.1."),
        ("norm2.", "out_layers.0."), ("conv2.", "out_layers.3."), ("conv_shortcut.", "skip_connection."),
    ];

    /// <summary>The golden UNet <paramref name="caseName"/> with original (ldm) key names under <c>model.diffusion_model.</c>.</summary>
    public static IEnumerable<SafetensorsWriter.Tensor> Unet(string caseName)
    {
        string dir = TestPaths.GoldenCase(caseName);
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "config.json")));
        int perBlock = config.RootElement.GetProperty("layers_per_block").GetInt32();   // an int in both golden configs
        var golden = Load(Path.Combine(dir, "diffusion_pytorch_model.safetensors"));
        var upBlocksWithAttention = golden.Keys
            .Select(k => Regex.Match(k, @"^up_blocks\.(\d+)\.attentions\.")).Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value)).ToHashSet();

        foreach (var (key, (shape, values)) in golden)
        {
            yield return F32("model.diffusion_model." + UnetOriginalName(key, perBlock, upBlocksWithAttention), shape, values);
        }
    }

    private static string UnetOriginalName(string key, int perBlock, HashSet<int> upBlocksWithAttention)
    {
        string Resnet(string rest)
        {
            foreach (var (d, o) in ResnetNames)
            {
                if (rest.StartsWith(d, StringComparison.Ordinal)) return o + rest[d.Length..];
            }
            throw new InvalidOperationException($"unknown resnet parameter {rest}");
        }

        var m = Regex.Match(key, @"^down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)$");
        if (m.Success)
        {
            int index = 1 + int.Parse(m.Groups[1].Value) * (perBlock + 1) + int.Parse(m.Groups[3].Value);
            return m.Groups[2].Value == "resnets" ? $"input_blocks.{index}.0.{Resnet(m.Groups[4].Value)}" : $"input_blocks.{index}.1.{m.Groups[4].Value}";
        }
        m = Regex.Match(key, @"^down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)$");
        if (m.Success)
        {
            return $"input_blocks.{(int.Parse(m.Groups[1].Value) + 1) * (perBlock + 1)}.0.op.{m.Groups[2].Value}";
        }
        m = Regex.Match(key, @"^up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)$");
        if (m.Success)
        {
            int index = int.Parse(m.Groups[1].Value) * (perBlock + 1) + int.Parse(m.Groups[3].Value);
            return m.Groups[2].Value == "resnets" ? $"output_blocks.{index}.0.{Resnet(m.Groups[4].Value)}" : $"output_blocks.{index}.1.{m.Groups[4].Value}";
        }
        m = Regex.Match(key, @"^up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)$");
        if (m.Success)
        {
            int block = int.Parse(m.Groups[1].Value);
            return $"output_blocks.{block * (perBlock + 1) + perBlock}.{(upBlocksWithAttention.Contains(block) ? 2 : 1)}.conv.{m.Groups[2].Value}";
        }
        m = Regex.Match(key, @"^mid_block\.resnets\.(\d)\.(.*)$");
        if (m.Success)
        {
            return $"middle_block.{(m.Groups[1].Value == "0" ? 0 : 2)}.{Resnet(m.Groups[2].Value)}";
        }
        if (key.StartsWith("mid_block.attentions.0.", StringComparison.Ordinal))
        {
            return "middle_block.1." + key["mid_block.attentions.0.".Length..];
        }
        string[] parts = key.Split('.');
        string module = string.Join('.', parts[..^1]), param = parts[^1];
        string original = module switch
        {
            "conv_in" => "input_blocks.0.0",
            "time_embedding.linear_1" => "time_embed.0",
            "time_embedding.linear_2" => "time_embed.2",
            "add_embedding.linear_1" => "label_emb.0.0",
            "add_embedding.linear_2" => "label_emb.0.2",
            "conv_norm_out" => "out.0",
            "conv_out" => "out.2",
            _ => throw new InvalidOperationException($"no original name for UNet key {key}"),
        };
        return $"{original}.{param}";
    }

    // ---- VAE: first_stage_model.* ------------------------------------------------------------------------------

    private static IEnumerable<SafetensorsWriter.Tensor> Vae(string caseName, bool convShapedBiases = false)
    {
        var golden = Load(Path.Combine(TestPaths.GoldenCase(caseName), "diffusion_pytorch_model.safetensors"));
        int upBlocks = golden.Keys.Select(k => Regex.Match(k, @"^decoder\.up_blocks\.(\d+)\.")).Where(m => m.Success)
            .Select(m => m.Groups[1].Value).Distinct().Count();
        foreach (var (key, (goldenShape, values)) in golden)
        {
            long[] shape = goldenShape;
            string name = key
                .Replace("conv_norm_out.", "norm_out.", StringComparison.Ordinal)
                .Replace("conv_shortcut.", "nin_shortcut.", StringComparison.Ordinal)
                .Replace("mid_block.resnets.0.", "mid.block_1.", StringComparison.Ordinal)
                .Replace("mid_block.resnets.1.", "mid.block_2.", StringComparison.Ordinal)
                .Replace("downsamplers.0.", "downsample.", StringComparison.Ordinal)
                .Replace("upsamplers.0.", "upsample.", StringComparison.Ordinal);
            name = Regex.Replace(name, @"^encoder\.down_blocks\.(\d+)\.resnets\.", m => $"encoder.down.{m.Groups[1].Value}.block.");
            name = Regex.Replace(name, @"^encoder\.down_blocks\.(\d+)\.", m => $"encoder.down.{m.Groups[1].Value}.");
            name = Regex.Replace(name, @"^decoder\.up_blocks\.(\d+)\.resnets\.", m => $"decoder.up.{upBlocks - 1 - int.Parse(m.Groups[1].Value)}.block.");
            name = Regex.Replace(name, @"^decoder\.up_blocks\.(\d+)\.", m => $"decoder.up.{upBlocks - 1 - int.Parse(m.Groups[1].Value)}.");
            var attention = Regex.Match(name, @"^(encoder|decoder)\.mid_block\.attentions\.0\.(group_norm|to_q|to_k|to_v|to_out\.0)\.(weight|bias)$");
            if (attention.Success)
            {
                string module = attention.Groups[2].Value switch { "group_norm" => "norm", "to_out.0" => "proj_out", var qkv => qkv[3..] };
                name = $"{attention.Groups[1].Value}.mid.attn_1.{module}.{attention.Groups[3].Value}";
                if (module != "norm" && shape.Length == 2)
                {
                    shape = [shape[0], shape[1], 1, 1];   // ldm's AttnBlock uses 1×1 Conv2d
                }
                else if (module != "norm" && convShapedBiases)
                {
                    shape = [shape[0], 1, 1];
                }
            }
            yield return F32("first_stage_model." + name, shape, values);
        }
    }

    // ---- text encoders -----------------------------------------------------------------------------------------

    private static IEnumerable<SafetensorsWriter.Tensor> TransformersClip(string caseName, string prefix)
    {
        foreach (var (key, (shape, values)) in Load(Path.Combine(TestPaths.GoldenCase(caseName), "model.safetensors")))
        {
            yield return F32(prefix + key, shape, values);
        }
        long[] positions = Enumerable.Range(0, 77).Select(i => (long)i).ToArray();
        yield return SafetensorsWriter.Tensor.FromArray(prefix + "text_model.embeddings.position_ids", SafetensorsDType.I64, [1, 77], positions);
    }

    /// <summary>A transformers CLIP text model written the open_clip way (fused attention input, [width, proj] projection).</summary>
    private static IEnumerable<SafetensorsWriter.Tensor> OpenClip(string caseName, string prefix, bool extraLayer)
    {
        var golden = Load(Path.Combine(TestPaths.GoldenCase(caseName), "model.safetensors"));
        (long[] Shape, float[] Values) T(string key) => golden[key];

        yield return F32(prefix + "token_embedding.weight", T("text_model.embeddings.token_embedding.weight"));
        yield return F32(prefix + "positional_embedding", T("text_model.embeddings.position_embedding.weight"));
        yield return F32(prefix + "ln_final.weight", T("text_model.final_layer_norm.weight"));
        yield return F32(prefix + "ln_final.bias", T("text_model.final_layer_norm.bias"));
        var (projShape, proj) = T("text_projection.weight");   // [proj, width] → open_clip [width, proj]
        yield return F32(prefix + "text_projection", [projShape[1], projShape[0]], Transposed(proj, projShape[0], projShape[1]));
        yield return F32(prefix + "logit_scale", [], [MathF.Log(100f)]);

        int layers = golden.Keys.Count(k => k.EndsWith(".self_attn.q_proj.weight", StringComparison.Ordinal));
        for (int i = 0; i < layers + (extraLayer ? 1 : 0); i++)
        {
            // The extra (unused) last layer of SD 2.x's OpenCLIP-H is given layer 0's numbers.
            string d = $"text_model.encoder.layers.{(i < layers ? i : 0)}.", o = $"{prefix}transformer.resblocks.{i}.";
            foreach (string param in new[] { "weight", "bias" })
            {
                var q = T(d + $"self_attn.q_proj.{param}");
                float[] fused = [.. q.Values, .. T(d + $"self_attn.k_proj.{param}").Values, .. T(d + $"self_attn.v_proj.{param}").Values];
                yield return F32($"{o}attn.in_proj_{param}", [3 * q.Shape[0], .. q.Shape[1..]], fused);
                yield return F32($"{o}attn.out_proj.{param}", T(d + $"self_attn.out_proj.{param}"));
                yield return F32($"{o}ln_1.{param}", T(d + $"layer_norm1.{param}"));
                yield return F32($"{o}ln_2.{param}", T(d + $"layer_norm2.{param}"));
                yield return F32($"{o}mlp.c_fc.{param}", T(d + $"mlp.fc1.{param}"));
                yield return F32($"{o}mlp.c_proj.{param}", T(d + $"mlp.fc2.{param}"));
            }
        }
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    private static Dictionary<string, (long[] Shape, float[] Values)> Load(string path)
    {
        using var file = SafetensorsFile.Open(path);
        return file.Tensors.Values.OrderBy(t => t.Begin)
            .ToDictionary(t => t.Name, t => (t.Shape, file.ReadFloat32(t.Name)), StringComparer.Ordinal);
    }

    private static SafetensorsWriter.Tensor F32(string name, (long[] Shape, float[] Values) t) => F32(name, t.Shape, t.Values);

    private static SafetensorsWriter.Tensor F32(string name, long[] shape, float[] values) =>
        new(name, SafetensorsDType.F32, shape, s => s.Write(MemoryMarshal.AsBytes(values.AsSpan())));

    private static float[] Transposed(float[] values, long rows, long cols)
    {
        var result = new float[values.Length];
        for (long r = 0; r < rows; r++)
        {
            for (long c = 0; c < cols; c++)
            {
                result[c * rows + r] = values[r * cols + c];
            }
        }
        return result;
    }
}
