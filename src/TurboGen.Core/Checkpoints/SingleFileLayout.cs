using TurboGen.Configs;
using TurboGen.Graphs.Architectures.Clip;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Graphs.Architectures.Vae;
using TurboGen.Weights;

namespace TurboGen.Checkpoints;

/// <summary>
/// Where every tensor the builders read (diffusers/transformers names, for one <see cref="ModelConfigSet"/>) lives in an original
/// Stability single-file checkpoint (<c>sd_xl_turbo_1.0_fp16.safetensors</c>, <c>sd_turbo.safetensors</c> and their fine-tunes),
/// as <see cref="TensorMapping"/>s for a <see cref="RenamedCheckpoint"/>.
/// </summary>
/// <remarks>
/// The rules (the correspondences of diffusers' single-file conversion, derived here from the configs):
/// <list type="bullet">
/// <item>UNet <c>model.diffusion_model.</c>: <c>conv_in</c> = <c>input_blocks.0.0</c>; <c>time_embedding.linear_1/2</c> =
/// <c>time_embed.0/2</c>; <c>add_embedding.linear_1/2</c> = <c>label_emb.0.0/0.2</c>; down block b, layer j =
/// <c>input_blocks.k</c> with k counting from 1 over all resnets and downsamplers (resnet <c>.0</c>, transformer <c>.1</c>,
/// downsampler <c>input_blocks.k.0.op</c>); <c>mid_block.resnets.0</c>/<c>attentions.0</c>/<c>resnets.1</c> =
/// <c>middle_block.0/1/2</c>; up block b, layer j = <c>output_blocks.k</c> counting from 0 (resnet <c>.0</c>, transformer
/// <c>.1</c>, upsampler on the last layer at <c>.2.conv</c>, or <c>.1.conv</c> in blocks without attention);
/// <c>conv_norm_out</c>/<c>conv_out</c> = <c>out.0</c>/<c>out.2</c>. Resnets: norm1 = in_layers.0, conv1 = in_layers.2,
/// time_emb_proj = emb_layers.1, norm2 = out_layers.0, conv2 = out_layers.3, conv_shortcut = skip_connection. Transformer
/// internals keep their names.</item>
/// <item>VAE <c>first_stage_model.</c>: <c>down_blocks.i.resnets.j</c> = <c>down.i.block.j</c>, <c>downsamplers.0</c> =
/// <c>downsample</c>; decoder <c>up_blocks.i</c> = <c>up.(n−1−i)</c> (ldm counts up blocks from the full-resolution end),
/// <c>upsamplers.0</c> = <c>upsample</c>; <c>mid_block.resnets.0/1</c> = <c>mid.block_1/2</c>; <c>mid_block.attentions.0</c> =
/// <c>mid.attn_1</c> with group_norm = norm, to_q/to_k/to_v = q/k/v, to_out.0 = proj_out, weights stored as 1×1 convs
/// [C,C,1,1] (read as [C,C]); <c>conv_norm_out</c> = <c>norm_out</c>; <c>conv_shortcut</c> = <c>nin_shortcut</c>.</item>
/// <item>SDXL text_encoder (CLIP-L) = <c>conditioner.embedders.0.transformer.</c> + the transformers name; SD 1.x's text_encoder
/// (CLIP ViT-L/14 alone, ldm's FrozenCLIPEmbedder) = <c>cond_stage_model.transformer.</c> + the transformers name (diffusers strips
/// these two prefixes, <c>LDM_CLIP_PREFIX_TO_REMOVE</c>); early SD 1.x fine-tunes saved it without the <c>text_model.</c> level
/// (<see cref="HasLegacyClipNames"/>), which is read too, as A1111 renames it on load. SD 1.x conditions on its
/// <c>last_hidden_state</c> (after the final layer norm), so all 12 layers are read.</item>
/// <item>OpenCLIP text towers (SDXL text_encoder_2 = <c>conditioner.embedders.1.model.</c>, SD 2.x text_encoder =
/// <c>cond_stage_model.model.</c>, or <c>conditioner.embedders.0.model.</c> in files saved by Stability's sgm code): token_embedding.weight, positional_embedding, ln_final; <c>transformer.resblocks.i</c> =
/// <c>encoder.layers.i</c> with ln_1/ln_2 = layer_norm1/2, mlp.c_fc/c_proj = mlp.fc1/fc2, attn.out_proj = self_attn.out_proj, and the
/// fused <c>attn.in_proj_weight</c> [3C,C] / <c>in_proj_bias</c> [3C] split into q, k, v in that order; <c>text_projection</c>
/// [width, proj] (applied as x·P) is the transpose of transformers' <c>text_projection.weight</c>.</item>
/// <item>SD 2.x conditions on the penultimate layer of OpenCLIP-H (24 resblocks) followed by ln_final, so diffusers' SD 2.x text
/// encoder has 23 layers, and its conversion drops <c>resblocks.23.*</c> and <c>text_projection</c>. The same here: for the SD
/// family the single resblock at index num_hidden_layers and the projection are known unused keys.</item>
/// <item>Other known unused keys: CLIP-L's <c>position_ids</c> buffer, OpenCLIP's <c>logit_scale</c>, training leftovers (the
/// DDPM schedule buffers, <c>denoiser.sigmas</c>, <c>model_ema.*</c>).</item>
/// </list>
/// </remarks>
public sealed class SingleFileLayout
{
    /// <summary>The UNet's key prefix in an original (ldm/sgm) single file: <c>model.diffusion_model.</c>.</summary>
    public const string UnetPrefix = "model.diffusion_model.";

    /// <summary>The VAE's key prefix: <c>first_stage_model.</c>.</summary>
    public const string VaePrefix = "first_stage_model.";

    /// <summary>SDXL's first text encoder (CLIP-L, transformers names below it): <c>conditioner.embedders.0.transformer.</c>.</summary>
    public const string SdxlClipLPrefix = "conditioner.embedders.0.transformer.";

    /// <summary>SDXL's second text encoder (OpenCLIP-bigG, open_clip names below it): <c>conditioner.embedders.1.model.</c>.</summary>
    public const string SdxlOpenClipPrefix = "conditioner.embedders.1.model.";

    /// <summary>SD 2.x's text encoder (OpenCLIP-H) in ldm files: <c>cond_stage_model.model.</c>.</summary>
    public const string SdOpenClipPrefix = "cond_stage_model.model.";

    /// <summary>SD 1.x's text encoder (CLIP ViT-L/14, transformers names below it) in ldm files: <c>cond_stage_model.transformer.</c>.</summary>
    public const string Sd1ClipLPrefix = "cond_stage_model.transformer.";

    /// <summary>Where Stability's sgm code base (generative-models) stores an SD 2.x OpenCLIP-H; accepted as an alternative to <see cref="SdOpenClipPrefix"/>.</summary>
    public const string SgmSdOpenClipPrefix = "conditioner.embedders.0.model.";

    /// <summary>The key whose prefix marks an SDXL checkpoint (a second text embedder).</summary>
    private const string SdxlMarker = "conditioner.embedders.1.";

    /// <summary>Keys of training state some single files carry (ldm's DDPM buffers, sgm's denoiser) that inference never reads.</summary>
    private static readonly HashSet<string> TrainingBuffers = new(StringComparer.Ordinal)
    {
        "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
        "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod", "posterior_variance",
        "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2", "denoiser.sigmas",
    };

    private const string EmaPrefix = "model_ema.";

    private readonly List<(TensorMapping Mapping, long[] Shape)> _unet;
    private readonly List<(TensorMapping Mapping, long[] Shape)> _textEncoder;
    private readonly List<(TensorMapping Mapping, long[] Shape)>? _textEncoder2;
    private readonly List<(TensorMapping Mapping, long[] Shape)> _vae;
    private readonly HashSet<string> _ignoredKeys = new(StringComparer.Ordinal);
    private readonly string? _ignoredLayerPrefix;
    private readonly List<(string Name, long[] Shape)> _extraTensors = [];

    private SingleFileLayout(ModelConfigSet configs, string sdTextPrefix, bool legacyClipNames)
    {
        configs.Validate();
        Family = configs.Family;
        Base = Family == ModelFamily.Sdxl ? SingleFileBase.Sdxl : sdTextPrefix == Sd1ClipLPrefix ? SingleFileBase.Sd1 : SingleFileBase.Sd2;
        var unet = UnetConfig.FromJson(configs.UnetConfigJson, "unet config");
        var vae = AutoencoderKlConfig.FromJson(configs.VaeConfigJson, "vae config");
        var text = ClipTextConfig.FromJson(configs.TextEncoderConfigJson, "text_encoder config");
        _unet = SingleFileUnetNames.Mappings(unet);
        _vae = SingleFileVaeNames.Mappings(vae);
        if (Family == ModelFamily.Sdxl)
        {
            var text2 = ClipTextConfig.FromJson(configs.TextEncoder2ConfigJson!, "text_encoder_2 config");
            TextEncoderPrefix = SdxlClipLPrefix;
            TextEncoder2Prefix = SdxlOpenClipPrefix;
            _textEncoder = SingleFileClipNames.ClipL(text, SdxlClipLPrefix);
            _textEncoder2 = SingleFileClipNames.OpenClip(text2, SdxlOpenClipPrefix);
            AddIgnored(SdxlClipLPrefix + "text_model.embeddings.position_ids", [1, text.MaxPositionEmbeddings]);
            AddIgnored(SdxlOpenClipPrefix + "logit_scale", []);
            if (!text2.HasProjection)
            {
                AddIgnored(SdxlOpenClipPrefix + "text_projection", [text2.HiddenSize, text2.HiddenSize]);
            }
        }
        else if (Base == SingleFileBase.Sd1)
        {
            TextEncoderPrefix = sdTextPrefix;
            _textEncoder = SingleFileClipNames.ClipL(text, sdTextPrefix, legacyClipNames);
            const string positionIds = "text_model.embeddings.position_ids";
            AddIgnored(sdTextPrefix + (legacyClipNames ? SingleFileClipNames.WithoutTextModel(positionIds) : positionIds), [1, text.MaxPositionEmbeddings]);
        }
        else
        {
            TextEncoderPrefix = sdTextPrefix;
            _textEncoder = SingleFileClipNames.OpenClip(text, sdTextPrefix);
            AddIgnored(sdTextPrefix + "logit_scale", []);
            if (!text.HasProjection)
            {
                AddIgnored(sdTextPrefix + "text_projection", [text.HiddenSize, text.HiddenSize]);
            }
            // The last resblock, which SD 2.x skips (penultimate-layer conditioning): same shapes as the layer before it.
            int unused = text.NumHiddenLayers;
            _ignoredLayerPrefix = $"{sdTextPrefix}transformer.resblocks.{unused}.";
            string previous = $"{sdTextPrefix}transformer.resblocks.{unused - 1}.";
            foreach (var (name, shape) in SourceTensorsOf(_textEncoder).Where(t => t.Name.StartsWith(previous, StringComparison.Ordinal)))
            {
                _extraTensors.Add((_ignoredLayerPrefix + name[previous.Length..], shape));
            }
        }
    }

    /// <summary>The layout for <paramref name="configs"/> (throws <see cref="ModelLoadException"/> when a config cannot be parsed).</summary>
    /// <param name="configs">The model's configs.</param>
    /// <param name="sdTextEncoderPrefix">SD family only: the text tower's prefix, <see cref="SdOpenClipPrefix"/> (default) or
    /// <see cref="SgmSdOpenClipPrefix"/> for SD 2.x, <see cref="Sd1ClipLPrefix"/> for SD 1.x (<see cref="SdTextEncoderPrefixOf"/> reads it from a file).</param>
    /// <param name="legacyClipNames">SD 1.x only: the CLIP-L tensors lack the <c>text_model.</c> level (<see cref="HasLegacyClipNames"/>).</param>
    public static SingleFileLayout For(ModelConfigSet configs, string sdTextEncoderPrefix = SdOpenClipPrefix, bool legacyClipNames = false) =>
        new(configs, sdTextEncoderPrefix, legacyClipNames && sdTextEncoderPrefix == Sd1ClipLPrefix);

    /// <summary>
    /// True for an SD 1.x file whose CLIP-L was saved by an early transformers version, without the <c>text_model.</c> level
    /// (<c>cond_stage_model.transformer.embeddings.…</c>, <c>.encoder.…</c>, <c>.final_layer_norm.…</c>; early fine-tunes
    /// carry them, and A1111 renames them on load): its token embedding is there instead of under <c>text_model.</c>.
    /// </summary>
    public static bool HasLegacyClipNames(IEnumerable<string> keys) =>
        keys.Contains(Sd1ClipLPrefix + "embeddings.token_embedding.weight", StringComparer.Ordinal);

    /// <summary>
    /// The SD text tower prefix a file uses: <see cref="Sd1ClipLPrefix"/> when it is an SD 1.x file (<see cref="DetectBase"/>),
    /// <see cref="SgmSdOpenClipPrefix"/> when its token embedding is there, else <see cref="SdOpenClipPrefix"/>.
    /// </summary>
    public static string SdTextEncoderPrefixOf(IEnumerable<string> keys)
    {
        var list = keys as ICollection<string> ?? keys.ToList();
        return DetectBase(list) == SingleFileBase.Sd1 ? Sd1ClipLPrefix
            : list.Contains(SgmSdOpenClipPrefix + "token_embedding.weight") ? SgmSdOpenClipPrefix : SdOpenClipPrefix;
    }

    /// <summary>The family of the configs the layout was made for.</summary>
    public ModelFamily Family { get; }

    /// <summary>The base model the layout reads: SDXL, SD 2.x (OpenCLIP text tower) or SD 1.x (CLIP-L under <see cref="Sd1ClipLPrefix"/>).</summary>
    public SingleFileBase Base { get; }

    /// <summary>The UNet's diffusers names mapped to the file's keys (with splits and reshapes).</summary>
    public IReadOnlyList<TensorMapping> Unet => _unet.Select(m => m.Mapping).ToList();

    /// <summary>The first text encoder's transformers names mapped to the file's keys (an OpenCLIP tower's fused q/k/v split into three).</summary>
    public IReadOnlyList<TensorMapping> TextEncoder => _textEncoder.Select(m => m.Mapping).ToList();

    /// <summary>SDXL only: the second text encoder's mappings; null for SD 1.x/2.x.</summary>
    public IReadOnlyList<TensorMapping>? TextEncoder2 => _textEncoder2?.Select(m => m.Mapping).ToList();

    /// <summary>The VAE's diffusers names mapped to the file's keys (attention 1×1 convolutions read as linear weights).</summary>
    public IReadOnlyList<TensorMapping> Vae => _vae.Select(m => m.Mapping).ToList();

    /// <summary>The key prefix of the first text encoder in the file (<see cref="SdxlClipLPrefix"/>, <see cref="Sd1ClipLPrefix"/>, <see cref="SdOpenClipPrefix"/> or <see cref="SgmSdOpenClipPrefix"/>).</summary>
    public string TextEncoderPrefix { get; }

    /// <summary>SDXL only: <see cref="SdxlOpenClipPrefix"/>; null for SD 2.x.</summary>
    public string? TextEncoder2Prefix { get; }

    /// <summary>The pipeline family of <see cref="DetectBase"/> (SD 1.x and SD 2.x are both <see cref="ModelFamily.Sd"/>); null when that is null.</summary>
    public static ModelFamily? DetectFamily(IEnumerable<string> keys) => DetectBase(keys)?.Family();

    /// <summary>
    /// SDXL iff the keys hold a second text embedder (<c>conditioner.embedders.1.*</c>); else, if they hold a UNet, SD 1.x when
    /// a CLIP-L text encoder is stored under <see cref="Sd1ClipLPrefix"/> (ldm's v1 layout) and SD 2.x otherwise (OpenCLIP
    /// <c>cond_stage_model.model.*</c>, sgm's <c>conditioner.embedders.0.model.*</c>, or no text encoder at all, which the key
    /// check then reports); null without a UNet.
    /// </summary>
    public static SingleFileBase? DetectBase(IEnumerable<string> keys)
    {
        bool unet = false, clipL = false;
        foreach (string k in keys)
        {
            if (k.StartsWith(SdxlMarker, StringComparison.Ordinal)) return SingleFileBase.Sdxl;
            unet |= k.StartsWith(UnetPrefix, StringComparison.Ordinal);
            clipL |= k.StartsWith(Sd1ClipLPrefix, StringComparison.Ordinal);
        }
        return !unet ? null : clipL ? SingleFileBase.Sd1 : SingleFileBase.Sd2;
    }

    /// <summary>True for a key a real file may carry that none of the networks reads (see the remarks).</summary>
    public bool IsIgnored(string key) =>
        _ignoredKeys.Contains(key)
        || TrainingBuffers.Contains(key)
        || key.StartsWith(EmaPrefix, StringComparison.Ordinal)
        || (_ignoredLayerPrefix is not null && key.StartsWith(_ignoredLayerPrefix, StringComparison.Ordinal));

    /// <summary>
    /// Compares a file's keys with the layout: <c>Missing</c> = source keys the mappings read that the file lacks,
    /// <c>Unexpected</c> = file keys that are neither read nor known to be unused. Both sorted.
    /// </summary>
    public (List<string> Missing, List<string> Unexpected) Compare(IEnumerable<string> fileKeys)
    {
        var present = new HashSet<string>(fileKeys, StringComparer.Ordinal);
        var read = new HashSet<string>(AllMappings().Select(m => m.SourceName), StringComparer.Ordinal);
        var missing = read.Where(k => !present.Contains(k)).Order(StringComparer.Ordinal).ToList();
        var unexpected = present.Where(k => !read.Contains(k) && !IsIgnored(k)).Order(StringComparer.Ordinal).ToList();
        return (missing, unexpected);
    }

    /// <summary>
    /// Every tensor (name, shape) a complete original file of this layout holds: the sources of all mappings (shapes derived from
    /// the configs) plus the known unused tensors real files carry (CLIP-L's int64 <c>position_ids</c>, <c>logit_scale</c> scalars,
    /// SD 2.x's last resblock and <c>text_projection</c>). Training leftovers are not included.
    /// </summary>
    public IReadOnlyList<(string Name, long[] Shape)> SourceTensors()
    {
        var list = new List<(string, long[])>();
        list.AddRange(SourceTensorsOf(_unet));
        list.AddRange(SourceTensorsOf(_textEncoder));
        if (_textEncoder2 is not null) list.AddRange(SourceTensorsOf(_textEncoder2));
        list.AddRange(SourceTensorsOf(_vae));
        list.AddRange(_extraTensors);
        return list;
    }

    private IEnumerable<TensorMapping> AllMappings() =>
        _unet.Concat(_textEncoder).Concat(_textEncoder2 ?? []).Concat(_vae).Select(m => m.Mapping);

    private void AddIgnored(string key, long[] shape)
    {
        _ignoredKeys.Add(key);
        _extraTensors.Add((key, shape));
    }

    /// <summary>The source tensors of mappings with their shapes: each transform inverted on the config's shape, fused parts counted once.</summary>
    private static List<(string Name, long[] Shape)> SourceTensorsOf(List<(TensorMapping Mapping, long[] Shape)> mappings)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var list = new List<(string, long[])>();
        foreach (var (m, shape) in mappings)
        {
            if (!seen.Add(m.SourceName)) continue;
            long[] source = m.Transform switch
            {
                TensorTransform.None or TensorTransform.DropTrailingOnes => shape,
                TensorTransform.ConvToLinear => [shape[0], shape[1], 1, 1],
                TensorTransform.Transpose => [shape[1], shape[0]],
                TensorTransform.Chunk => [shape[0] * m.ChunkCount, .. shape[1..]],
                _ => throw new InvalidOperationException($"Unknown transform {m.Transform}."),
            };
            list.Add((m.SourceName, source));
        }
        return list;
    }
}
