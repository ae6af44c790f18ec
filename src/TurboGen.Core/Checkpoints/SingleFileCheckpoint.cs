using TurboGen.Configs;
using TurboGen.Storage;
using TurboGen.Weights;

namespace TurboGen.Checkpoints;

/// <summary>
/// Opens an original Stability single-file checkpoint (<c>sd_xl_turbo_1.0_fp16.safetensors</c>, <c>sd_turbo.safetensors</c> or a
/// fine-tune of either) as <see cref="CheckpointComponents"/> for the graph builders.
/// <para>
/// How it works: the file is memory-mapped once (<see cref="SafetensorsCheckpoint"/>). The base model is read from the keys
/// (<see cref="SingleFileLayout.DetectBase"/>: SDXL iff <c>conditioner.embedders.1.*</c> is present, SD 1.x iff a CLIP-L is stored
/// under <c>cond_stage_model.transformer.</c>, else SD 2.x). The file has no configs, so those of the published model of that
/// base (<see cref="SingleFileBaseExtensions.KnownConfigs"/>: SDXL-Turbo, SD 1.5 or SD-Turbo) are used unless the caller passes a <see cref="ModelConfigSet"/>. From the configs,
/// <see cref="SingleFileLayout"/> derives where each diffusers/transformers tensor lives in the file; the file's keys are checked
/// against it (every missing and every unexpected key listed in one <see cref="ModelLoadException"/>), and each component is a
/// <see cref="RenamedCheckpoint"/> over the one file (renames, q/k/v split, 1×1 conv → linear, transpose; nothing copied).
/// Single files carry no tokenizer: the caller passes standard CLIP tokenizer folders. <see cref="CheckpointComponents.ContentHash"/>
/// combines the file's SHA-256 (<see cref="FileContentId"/>: the Hub blob name, or hashed once and memoised on disk) with the configs and tokenizer files.
/// </para>
/// </summary>
public static class SingleFileCheckpoint
{
    private const int MaxListed = 30;

    /// <summary>Opens <paramref name="path"/> with the configs of the published model of its base (SDXL-Turbo, SD 1.5 or SD-Turbo).</summary>
    /// <param name="path">The .safetensors file.</param>
    /// <param name="tokenizerDir">A CLIP tokenizer folder (vocab.json, merges.txt, special_tokens_map.json): sdxl-turbo's or sd-turbo's <c>tokenizer/</c>.</param>
    /// <param name="tokenizer2Dir">SDXL only: sdxl-turbo's <c>tokenizer_2/</c>.</param>
    public static CheckpointComponents Open(string path, string? tokenizerDir, string? tokenizer2Dir) =>
        Open(path, tokenizerDir, tokenizer2Dir, configs: null);

    /// <summary>Opens <paramref name="path"/> with explicit configs (e.g. a fine-tune with other sizes, or the tiny test models).</summary>
    /// <param name="path">The .safetensors file.</param>
    /// <param name="tokenizerDir">A CLIP tokenizer folder (<c>tokenizer/</c> of the published model), or null for the standard CLIP files.</param>
    /// <param name="tokenizer2Dir">SDXL only: the second tokenizer folder (<c>tokenizer_2/</c>), or null.</param>
    /// <param name="configs">The configs; null: <see cref="SingleFileBaseExtensions.KnownConfigs"/> of the detected base. Their family must match the file's.</param>
    /// <param name="cacheRoot">Where the file's SHA-256 is memoised between processes (<see cref="FileContentId"/>); null = the TurboGen cache.</param>
    public static CheckpointComponents Open(string path, string? tokenizerDir, string? tokenizer2Dir, ModelConfigSet? configs, string? cacheRoot = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var file = new SafetensorsCheckpoint(path);
        try
        {
            var detected = SingleFileLayout.DetectBase(file.Names) ?? throw new ModelLoadException(path,
                $"{path} is not an SD 1.x / SD 2.x / SDXL single-file checkpoint: it has no '{SingleFileLayout.UnetPrefix}*' UNet tensors.");
            var family = detected.Family();
            configs ??= WithInChannelsOf(file, detected.KnownConfigs());
            if (configs.Family != family)
            {
                throw new ModelLoadException(path, $"{path} holds an {detected.Describe()} checkpoint, but {Describe(configs.Family)} configs were given.");
            }

            var layout = SingleFileLayout.For(configs, SingleFileLayout.SdTextEncoderPrefixOf(file.Names), SingleFileLayout.HasLegacyClipNames(file.Names));
            CheckKeys(path, layout, file.Names);
            var (tokenizer, tokenizer2) = CheckTokenizers(path, detected, tokenizerDir, tokenizer2Dir);

            string name = Path.GetFileName(path);
            return new CheckpointComponents
            {
                Family = family,
                UnetConfigJson = configs.UnetConfigJson,
                Unet = new RenamedCheckpoint(file, layout.Unet, $"UNet of {path}"),
                TextEncoderConfigJson = configs.TextEncoderConfigJson,
                TextEncoder = new RenamedCheckpoint(file, layout.TextEncoder, $"text encoder of {path}"),
                TextEncoder2ConfigJson = configs.TextEncoder2ConfigJson,
                TextEncoder2 = layout.TextEncoder2 is { } t2 ? new RenamedCheckpoint(file, t2, $"text encoder 2 of {path}") : null,
                VaeConfigJson = configs.VaeConfigJson,
                Vae = new RenamedCheckpoint(file, layout.Vae, $"VAE of {path}"),
                SchedulerConfigJson = configs.SchedulerConfigJson,
                TokenizerDir = tokenizer,
                Tokenizer2Dir = tokenizer2,
                ContentHash = ContentHash(path, cacheRoot, configs, tokenizer, tokenizer2),
                Source = $"single-file checkpoint {name}",
                Owned = [file],
            };
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The published configs with the UNet's <c>in_channels</c> read from the file's first convolution
    /// (<c>model.diffusion_model.input_blocks.0.0.weight</c> [C, in, 3, 3]), as diffusers' single-file loader does: an
    /// inpainting file (<c>sd-v1-5-inpainting</c>, 9 channels) gets a 9-channel UNet; otherwise the configs are unchanged.
    /// </summary>
    internal static ModelConfigSet WithInChannelsOf(ICheckpointTensors file, ModelConfigSet configs)
    {
        const string convIn = SingleFileLayout.UnetPrefix + "input_blocks.0.0.weight";
        if (!file.Names.Contains(convIn) || file.Shape(convIn) is not [_, var inChannels, _, _]) return configs;
        var unet = System.Text.Json.Nodes.JsonNode.Parse(configs.UnetConfigJson)!.AsObject();
        if (unet["in_channels"]?.GetValue<long>() == inChannels) return configs;
        unet["in_channels"] = inChannels;
        return configs with { UnetConfigJson = unet.ToJsonString() };
    }

    private static void CheckKeys(string path, SingleFileLayout layout, IEnumerable<string> keys)
    {
        var (missing, unexpected) = layout.Compare(keys);
        if (missing.Count == 0 && unexpected.Count == 0)
        {
            return;
        }
        var message = new System.Text.StringBuilder($"{path} does not match the {layout.Base.Describe()} single-file layout of its configs.");
        if (missing.Count > 0)
        {
            message.Append($" Missing {missing.Count} tensor(s): {Listed(missing)}.");
        }
        if (unexpected.Count > 0)
        {
            message.Append($" Unexpected {unexpected.Count} tensor(s): {Listed(unexpected)}.");
        }
        throw new ModelLoadException(path, message.ToString());
    }

    private static (string Tokenizer, string? Tokenizer2) CheckTokenizers(string path, SingleFileBase detected, string? tokenizerDir, string? tokenizer2Dir)
    {
        var family = detected.Family();
        string repo = TokenizerRepository(detected);
        string needed = detected switch
        {
            SingleFileBase.Sdxl => $"two CLIP tokenizer folders, the tokenizer/ and tokenizer_2/ of {repo}",
            SingleFileBase.Sd1 => $"a CLIP ViT-L tokenizer folder padding with <|endoftext|> (openai/clip-vit-large-patch14's files, e.g. the tokenizer/ of {repo})",
            _ => $"a CLIP tokenizer folder, the tokenizer/ of {repo}",
        };
        string Problem(string? dir, string what) =>
            dir is null ? $"no {what} folder was given"
            : !Directory.Exists(dir) ? $"the {what} folder {dir} does not exist"
            : TokenizerFiles.FirstOrDefault(f => !File.Exists(Path.Combine(dir, f))) is { } lacking ? $"the {what} folder {dir} has no {lacking}"
            : "";

        var problems = new List<string> { Problem(tokenizerDir, "tokenizer") };
        if (family == ModelFamily.Sdxl)
        {
            problems.Add(Problem(tokenizer2Dir, "tokenizer_2"));
        }
        problems.RemoveAll(p => p.Length == 0);
        if (problems.Count > 0)
        {
            throw new ModelLoadException(path,
                $"The single-file checkpoint {path} carries no tokenizer, and {string.Join("; ", problems)}. " +
                $"An {detected.Describe()} checkpoint needs {needed} (vocab.json, merges.txt, special_tokens_map.json): download them from " +
                $"the Hugging Face repository {repo} (or let the CLI fetch them into the Hugging Face cache) and pass their paths.");
        }
        return (tokenizerDir!, family == ModelFamily.Sdxl ? tokenizer2Dir : null);
    }

    private static readonly string[] TokenizerFiles = ["vocab.json", "merges.txt", "special_tokens_map.json"];

    private static string Describe(ModelFamily family) => family == ModelFamily.Sdxl ? "SDXL" : "SD 1.x/2.x";

    /// <summary>
    /// The Hub repository whose <c>tokenizer/</c> (and <c>tokenizer_2/</c>) folders serve a single file of <paramref name="b"/>: SD 2.x
    /// stabilityai/sd-turbo (OpenCLIP, pad "!"); SDXL and SD 1.x stabilityai/sdxl-turbo (its <c>tokenizer/</c> is CLIP ViT-L's,
    /// padding with &lt;|endoftext|&gt; as openai/clip-vit-large-patch14, the tokenizer diffusers gives SD 1.x single files).
    /// </summary>
    public static string TokenizerRepository(SingleFileBase b) => b == SingleFileBase.Sd2 ? "stabilityai/sd-turbo" : "stabilityai/sdxl-turbo";

    private static string Listed(List<string> items) =>
        string.Join(", ", items.Take(MaxListed)) + (items.Count > MaxListed ? $", … ({items.Count - MaxListed} more)" : "");

    /// <summary>
    /// The build-cache key: the file's content identity plus everything else that shapes the built model — the configs
    /// and the tokenizer files — so a fine-tune opened with other configs or tokenizers never reuses a stale build.
    /// </summary>
    private static string ContentHash(string path, string? cacheRoot, ModelConfigSet configs, string tokenizer, string? tokenizer2)
    {
        var parts = new List<string>
        {
            "single-file v1",
            "weights " + FileContentId.Of(path, cacheRoot),
            "configs " + FileContentId.HashText(string.Join("\n", configs.UnetConfigJson, configs.TextEncoderConfigJson,
                configs.TextEncoder2ConfigJson ?? "", configs.VaeConfigJson, configs.SchedulerConfigJson)),
        };
        foreach (string dir in new[] { tokenizer, tokenizer2 }.OfType<string>())
        {
            foreach (string file in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal))
            {
                parts.Add($"tokenizer {Path.GetFileName(dir)}/{Path.GetFileName(file)} {FileContentId.HashFile(file)}");
            }
        }
        return FileContentId.HashText(string.Join("\n", parts));
    }
}
