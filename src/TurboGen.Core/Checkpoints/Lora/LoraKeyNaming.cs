namespace TurboGen.Checkpoints.Lora;

/// <summary>Which of a LoRA module's tensors a key holds.</summary>
internal enum LoraTensorRole { Down, Up, Alpha }

/// <summary>A LoRA tensor name split into target network, module, naming style and role.</summary>
internal readonly record struct LoraKey(string Component, string Module, LoraNaming Naming, LoraTensorRole Role);

/// <summary>
/// Parses the tensor names of LoRA files.
/// kohya / A1111: <c>lora_unet_&lt;module_with_underscores&gt;</c>, <c>lora_te_</c> and <c>lora_te1_</c> (text_encoder),
/// <c>lora_te2_</c> (text_encoder_2), each followed by <c>.lora_down.weight</c>, <c>.lora_up.weight</c> or <c>.alpha</c>.
/// diffusers / PEFT: <c>unet.</c>, <c>text_encoder.</c>, <c>text_encoder_2.</c> + dotted module + <c>.lora_A.weight</c> /
/// <c>.lora_B.weight</c>, <c>.lora.down.weight</c> / <c>.lora.up.weight</c>, <c>.lora_linear_layer.down.weight</c> /
/// <c>.up.weight</c>, <c>.lora_down.weight</c> / <c>.lora_up.weight</c> or <c>.alpha</c>; and the old attention-processor form
/// <c>…attn1.processor.to_q_lora.down.weight</c> (unet prefix optional) / <c>…self_attn.to_q_lora.down.weight</c>.
/// UNet modules in the original (LDM/sgm) layout — kohya's SDXL files (<c>lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q</c>),
/// ComfyUI / stable-diffusion.cpp style <c>diffusion_model.input_blocks.4.1.….lora_down.weight</c> (or <c>lora_A</c>/<c>lora_B</c>) —
/// are <see cref="LoraNaming.Original"/>, kept underscored and resolved through the model's single-file layout.
/// </summary>
internal static class LoraKeyNaming
{
    private static readonly (string Prefix, string Component)[] KohyaPrefixes =
    [
        ("lora_unet_", LoraComponent.Unet),
        ("lora_te1_", LoraComponent.TextEncoder),
        ("lora_te2_", LoraComponent.TextEncoder2),
        ("lora_te_", LoraComponent.TextEncoder),
    ];

    private static readonly (string Suffix, LoraTensorRole Role)[] KohyaSuffixes =
    [
        ("lora_down.weight", LoraTensorRole.Down),
        ("lora_up.weight", LoraTensorRole.Up),
        ("alpha", LoraTensorRole.Alpha),
    ];

    // text_encoder_2 before text_encoder: the longer prefix wins; "model.diffusion_model." before "diffusion_model.".
    private static readonly (string Prefix, string Component)[] DiffusersPrefixes =
    [
        ("model.diffusion_model.", LoraComponent.Unet),
        ("diffusion_model.", LoraComponent.Unet),
        ("unet.", LoraComponent.Unet),
        ("text_encoder_2.", LoraComponent.TextEncoder2),
        ("text_encoder.", LoraComponent.TextEncoder),
    ];

    private static readonly (string Suffix, LoraTensorRole Role)[] DiffusersSuffixes =
    [
        (".lora_linear_layer.down.weight", LoraTensorRole.Down),
        (".lora_linear_layer.up.weight", LoraTensorRole.Up),
        (".lora.down.weight", LoraTensorRole.Down),
        (".lora.up.weight", LoraTensorRole.Up),
        (".lora_A.weight", LoraTensorRole.Down),
        (".lora_B.weight", LoraTensorRole.Up),
        (".lora_down.weight", LoraTensorRole.Down),
        (".lora_up.weight", LoraTensorRole.Up),
        (".alpha", LoraTensorRole.Alpha),
    ];

    /// <summary>First parts of UNet module names in the original (LDM/sgm) layout; diffusers names start differently (down_blocks, conv_in, time_embedding, …).</summary>
    private static readonly string[] OriginalUnetLayout = ["input_blocks", "middle_block", "output_blocks", "time_embed", "label_emb", "out"];

    /// <summary>Whether a UNet module path (dotted, or underscored for kohya) is in the original layout.</summary>
    private static bool IsOriginalLayout(string module, char separator) =>
        OriginalUnetLayout.Any(b => module.StartsWith(b + separator, StringComparison.Ordinal));

    /// <summary>Parses <paramref name="key"/>; on failure <paramref name="reason"/> says why it cannot be used.</summary>
    public static bool TryParse(string key, out LoraKey parsed, out string reason)
    {
        parsed = default;
        foreach (var (prefix, component) in KohyaPrefixes)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal))
            {
                return TryParseKohya(key, prefix, component, out parsed, out reason);
            }
        }
        foreach (var (prefix, component) in DiffusersPrefixes)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal))
            {
                return TryParseDiffusers(key, key[prefix.Length..], component, out parsed, out reason);
            }
        }
        if (key.Contains(".processor.", StringComparison.Ordinal))
        {
            // diffusers' save_attn_procs files (UNet only) have no component prefix.
            return TryParseDiffusers(key, key, LoraComponent.Unet, out parsed, out reason);
        }
        reason = "unrecognized LoRA key naming (expected lora_unet_/lora_te_/lora_te1_/lora_te2_, unet./text_encoder./text_encoder_2. or diffusion_model.)";
        return false;
    }

    private static bool TryParseKohya(string key, string prefix, string component, out LoraKey parsed, out string reason)
    {
        parsed = default;
        int dot = key.IndexOf('.', StringComparison.Ordinal);
        if (dot < 0)
        {
            reason = "kohya key without a tensor suffix (.lora_down.weight, .lora_up.weight, .alpha)";
            return false;
        }
        string module = key[prefix.Length..dot];
        string suffix = key[(dot + 1)..];
        var naming = component == LoraComponent.Unet && IsOriginalLayout(module, '_') ? LoraNaming.Original : LoraNaming.Kohya;
        foreach (var (s, role) in KohyaSuffixes)
        {
            if (suffix == s)
            {
                parsed = new LoraKey(component, module, naming, role);
                reason = "";
                return true;
            }
        }
        reason = UnsupportedVariant(suffix);
        return false;
    }

    private static bool TryParseDiffusers(string key, string rest, string component, out LoraKey parsed, out string reason)
    {
        parsed = default;
        foreach (var (suffix, role) in DiffusersSuffixes)
        {
            if (rest.EndsWith(suffix, StringComparison.Ordinal))
            {
                return Accept(rest[..^suffix.Length], role, component, out parsed, out reason);
            }
        }
        // Old attention-processor form: <attention>.processor.to_q_lora.down.weight
        foreach (var (suffix, role) in new[] { (".down.weight", LoraTensorRole.Down), (".up.weight", LoraTensorRole.Up) })
        {
            if (rest.EndsWith(suffix, StringComparison.Ordinal))
            {
                string path = rest[..^suffix.Length];
                int lastDot = path.LastIndexOf('.');
                string last = path[(lastDot + 1)..];
                if (lastDot > 0 && last.EndsWith("_lora", StringComparison.Ordinal))
                {
                    string parent = path[..lastDot];
                    if (parent.EndsWith(".processor", StringComparison.Ordinal)) parent = parent[..^".processor".Length];
                    string? projection = ProcessorProjection(last[..^"_lora".Length], component);
                    if (projection is not null)
                    {
                        return Accept(parent + "." + projection, role, component, out parsed, out reason);
                    }
                }
            }
        }
        int tail = rest.LastIndexOf('.');
        reason = rest.Contains("lora", StringComparison.OrdinalIgnoreCase)
            ? UnsupportedVariant(tail >= 0 ? rest[(tail + 1)..] : rest)
            : "unrecognized LoRA tensor (no lora_A/lora_B, lora.down/lora.up or alpha suffix)";
        return false;

        static bool Accept(string module, LoraTensorRole role, string component, out LoraKey parsed, out string reason)
        {
            // Original-layout modules are kept underscored, as kohya writes them: both resolve through one table.
            parsed = component == LoraComponent.Unet && IsOriginalLayout(module, '.')
                ? new LoraKey(component, module.Replace('.', '_'), LoraNaming.Original, role)
                : new LoraKey(component, module, LoraNaming.Diffusers, role);
            reason = "";
            return true;
        }
    }

    /// <summary>The projection an old LoRA attention processor's <c>to_q_lora</c> … <c>to_out_lora</c> adapts.</summary>
    private static string? ProcessorProjection(string name, string component)
    {
        bool text = component != LoraComponent.Unet;
        return name switch
        {
            "to_q" => text ? "q_proj" : "to_q",
            "to_k" => text ? "k_proj" : "to_k",
            "to_v" => text ? "v_proj" : "to_v",
            "to_out" => text ? "out_proj" : "to_out.0",
            _ => null,
        };
    }

    private static string UnsupportedVariant(string suffix) =>
        $"tensor '{suffix}' is not plain LoRA (LyCORIS LoHa/LoKr/Tucker 'lora_mid', DoRA, LoRA biases and weight diffs are not supported; only down/up/alpha)";
}
