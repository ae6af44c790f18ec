using System.Text;
using System.Text.Json;
using TurboGen.Configs;
using TurboGen.Storage;
using TurboGen.Weights;

namespace TurboGen.Checkpoints;

/// <summary>
/// Opens a diffusers repository folder (as published on the Hub, or a Hub cache snapshot) as <see cref="CheckpointComponents"/>.
/// <para>
/// How it works: the folder must have <c>model_index.json</c>, <c>scheduler/scheduler_config.json</c>, <c>tokenizer/</c>,
/// <c>text_encoder/</c>, <c>unet/</c> and <c>vae/</c>; it is SDXL iff <c>text_encoder_2/</c> exists (then <c>tokenizer_2/</c>
/// is needed too). Each network folder needs <c>config.json</c> and safetensors weights. Weight files, in order of
/// preference: the full-precision file (<c>diffusion_pytorch_model.safetensors</c> or, for transformers encoders,
/// <c>model.safetensors</c>), else the fp16 variant (<c>….fp16.safetensors</c>, what <c>turbogen</c>'s downloader fetches);
/// a sharded checkpoint is read through its <c>….safetensors.index[.fp16].json</c>. Full precision wins when both are
/// present because the graphs are built in fp32 and it is the exact original. The weights stay memory-mapped (nothing is
/// read until the model is written). <see cref="CheckpointComponents.ContentHash"/> is the SHA-256 of a manifest listing every
/// config's text, every weight file's <see cref="FileContentId"/> and the tokenizer files' hashes, so any change to what the
/// built model depends on gives another hash.
/// </para>
/// </summary>
public static class DiffusersCheckpoint
{
    /// <summary>The weight file stems: diffusers models, then transformers models.</summary>
    private static readonly string[] Stems = ["diffusion_pytorch_model", "model"];

    /// <summary>
    /// Opens the folder. Every missing piece is a <see cref="ModelLoadException"/> naming the path and what was expected.
    /// <paramref name="cacheRoot"/> is where file hashes are memoised (default: <see cref="TurboGenCache.Root"/>).
    /// </summary>
    public static CheckpointComponents Open(string folder, string? cacheRoot = null)
    {
        folder = Path.GetFullPath(folder);
        if (!Directory.Exists(folder))
        {
            throw new ModelLoadException(folder, File.Exists(folder)
                ? $"{folder} is a file; expected a diffusers model folder (model_index.json, unet/, text_encoder/, vae/, ...)."
                : $"Model folder not found: {folder}");
        }
        string modelIndexPath = RequireFile(Path.Combine(folder, "model_index.json"), "the pipeline index of a diffusers model folder");
        var (modelIndex, index) = ReadConfig(modelIndexPath, "Model index");
        string schedulerPath = RequireFile(Path.Combine(folder, "scheduler", "scheduler_config.json"), "the scheduler config");
        string schedulerJson = ReadConfig(schedulerPath, "Scheduler config").Text;

        bool xl = Directory.Exists(Path.Combine(folder, "text_encoder_2"));
        if (!xl && ModelIndexLists(index, "text_encoder_2"))
        {
            throw new ModelLoadException(Path.Combine(folder, "text_encoder_2"),
                $"model_index.json in {folder} lists text_encoder_2 (SDXL) but the folder {Path.Combine(folder, "text_encoder_2")} is missing.");
        }
        string tokenizer = RequireTokenizer(folder, "tokenizer");
        string? tokenizer2 = xl ? RequireTokenizer(folder, "tokenizer_2") : null;

        var owned = new List<IDisposable>();
        try
        {
            var unet = OpenComponent(folder, "unet", owned);
            var textEncoder = OpenComponent(folder, "text_encoder", owned);
            var textEncoder2 = xl ? OpenComponent(folder, "text_encoder_2", owned) : null;
            // SDXS-style repositories ship an AutoencoderTiny as vae/ and the KL VAE as vae_large/: the KL one is the model's VAE,
            // the tiny one is built into the model's taesd/ (what --tiny-vae finds bundled).
            string? tinyVae = TinyVaeOf(folder);
            var vae = OpenComponent(folder, tinyVae is null ? "vae" : LargeVaeFolder, owned);

            var manifest = new StringBuilder("turbogen diffusers checkpoint v1\n");
            manifest.Append("family ").Append(xl ? "sdxl" : "sd").Append('\n');
            manifest.Append("model_index ").Append(FileContentId.HashText(modelIndex)).Append('\n');
            manifest.Append("scheduler ").Append(FileContentId.HashText(schedulerJson)).Append('\n');
            foreach (var part in new[] { unet, textEncoder, textEncoder2, vae })
            {
                if (part is null) continue;
                manifest.Append(part.Name).Append(" config ").Append(FileContentId.HashText(part.ConfigJson)).Append('\n');
                foreach (string file in part.Files)
                {
                    manifest.Append(part.Name).Append(" weights ").Append(Path.GetFileName(file)).Append(' ')
                        .Append(FileContentId.Of(file, cacheRoot)).Append('\n');
                }
            }
            if (tinyVae is not null)
            {
                manifest.Append("tiny_vae config ").Append(FileContentId.HashText(File.ReadAllText(Path.Combine(tinyVae, "config.json")))).Append('\n');
                foreach (string file in WeightFiles(tinyVae))
                {
                    manifest.Append("tiny_vae weights ").Append(Path.GetFileName(file)).Append(' ').Append(FileContentId.Of(file, cacheRoot)).Append('\n');
                }
            }
            foreach (string? dir in new[] { tokenizer, tokenizer2 })
            {
                if (dir is null) continue;
                foreach (string file in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal))
                {
                    manifest.Append(Path.GetFileName(dir)).Append(' ').Append(Path.GetFileName(file)).Append(' ')
                        .Append(FileContentId.HashFile(file)).Append('\n');
                }
            }

            return new CheckpointComponents
            {
                Family = xl ? ModelFamily.Sdxl : ModelFamily.Sd,
                UnetConfigJson = unet.ConfigJson,
                Unet = unet.Weights,
                TextEncoderConfigJson = textEncoder.ConfigJson,
                TextEncoder = textEncoder.Weights,
                TextEncoder2ConfigJson = textEncoder2?.ConfigJson,
                TextEncoder2 = textEncoder2?.Weights,
                VaeConfigJson = vae.ConfigJson,
                Vae = vae.Weights,
                SchedulerConfigJson = schedulerJson,
                ModelIndexJson = modelIndex,
                TokenizerDir = tokenizer,
                Tokenizer2Dir = tokenizer2,
                TinyVaeDir = tinyVae,
                ContentHash = FileContentId.HashText(manifest.ToString()),
                Source = folder,
                Owned = owned,
            };
        }
        catch
        {
            foreach (var d in owned) d.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The safetensors files of one component folder, by the preference in the class remarks (full precision, then fp16;
    /// single file, then sharded index). Throws naming the folder and the expected names when there are none.
    /// </summary>
    public static IReadOnlyList<string> WeightFiles(string componentDir)
    {
        foreach (string? variant in new[] { null, "fp16" })
        {
            foreach (string stem in Stems)
            {
                string single = Path.Combine(componentDir, variant is null ? $"{stem}.safetensors" : $"{stem}.{variant}.safetensors");
                if (File.Exists(single)) return [single];
                string index = Path.Combine(componentDir, variant is null ? $"{stem}.safetensors.index.json" : $"{stem}.safetensors.index.{variant}.json");
                if (File.Exists(index)) return ShardsOf(index);
            }
        }
        string found = Directory.Exists(componentDir)
            ? string.Join(", ", Directory.EnumerateFiles(componentDir).Select(Path.GetFileName).Order(StringComparer.Ordinal))
            : "";
        string hint = found.Contains(".bin", StringComparison.Ordinal) || found.Contains(".ckpt", StringComparison.Ordinal)
            ? " Only safetensors weights are read (pickled .bin/.ckpt files are not loaded for safety)."
            : "";
        throw new ModelLoadException(componentDir,
            $"No safetensors weights in {componentDir}: expected diffusion_pytorch_model.safetensors or model.safetensors " +
            $"(or their .fp16 variants, or a sharded ….safetensors.index.json). Found: {(found.Length == 0 ? "nothing" : found)}.{hint}");
    }

    private sealed record Component(string Name, string ConfigJson, IReadOnlyList<string> Files, SafetensorsCheckpoint Weights);

    /// <summary>Where SDXS-style repositories keep the KL VAE when their <c>vae/</c> is an AutoencoderTiny.</summary>
    public const string LargeVaeFolder = "vae_large";

    /// <summary>
    /// <c>vae/</c> of <paramref name="folder"/> when its config says <c>"_class_name": "AutoencoderTiny"</c> (SDXS), else null; such a
    /// folder needs the KL VAE in <see cref="LargeVaeFolder"/> (a <see cref="ModelLoadException"/> naming both otherwise).
    /// </summary>
    private static string? TinyVaeOf(string folder)
    {
        string vae = Path.Combine(folder, "vae"), config = Path.Combine(vae, "config.json");
        if (!File.Exists(config) || ReadConfig(config, "vae config").Reader.OptionalString("_class_name") != "AutoencoderTiny") return null;
        string large = Path.Combine(folder, LargeVaeFolder);
        return Directory.Exists(large) ? vae : throw new ModelLoadException(config,
            $"{config} is an AutoencoderTiny (a TAESD-class decoder, as SDXS ships in vae/), and {folder} has no {LargeVaeFolder}/ with the KL VAE " +
            "(AutoencoderKL) that TurboGen builds the model's VAE decoder and encoder from. Add the KL VAE as vae_large/ (or vae/, with the tiny one " +
            "passed as --tiny-vae).");
    }

    private static Component OpenComponent(string folder, string name, List<IDisposable> owned)
    {
        string dir = Path.Combine(folder, name);
        if (!Directory.Exists(dir))
        {
            throw new ModelLoadException(dir, $"Missing the {name} folder {dir}: expected config.json and safetensors weights there.");
        }
        string config = ReadConfig(RequireFile(Path.Combine(dir, "config.json"), $"the {name} config"), $"{name} config").Text;
        var files = WeightFiles(dir);
        var weights = new SafetensorsCheckpoint([.. files]);
        owned.Add(weights);
        return new Component(name, config, files, weights);
    }

    private static IReadOnlyList<string> ShardsOf(string indexPath)
    {
        string dir = Path.GetDirectoryName(indexPath)!;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(indexPath));
            if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            {
                throw new ModelLoadException(indexPath, $"Sharded checkpoint index {indexPath} has no 'weight_map' object.");
            }
            var files = map.EnumerateObject().Select(p => p.Value.GetString() ?? "").Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
                .Select(f => Path.Combine(dir, f)).ToList();
            foreach (string f in files)
            {
                if (f.Length == 0 || !File.Exists(f))
                {
                    throw new ModelLoadException(f, $"Shard {f} listed in {indexPath} is missing.");
                }
            }
            return files;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new ModelLoadException(indexPath, $"Sharded checkpoint index {indexPath} is not valid: {e.Message}", e);
        }
    }

    private static string RequireTokenizer(string folder, string name)
    {
        string dir = Path.Combine(folder, name);
        foreach (string file in new[] { "vocab.json", "merges.txt" })
        {
            string path = Path.Combine(dir, file);
            if (!File.Exists(path))
            {
                throw new ModelLoadException(path, $"Missing {path}: expected a CLIP tokenizer folder {dir} (vocab.json, merges.txt, special_tokens_map.json, tokenizer_config.json).");
            }
        }
        return dir;
    }

    private static string RequireFile(string path, string what) =>
        File.Exists(path) ? path : throw new ModelLoadException(path, $"Missing {what}: expected {path}.");

    /// <summary>A config's text (kept as it is: it is hashed and copied into the built model) once it parses as a JSON object.</summary>
    private static (string Text, ConfigReader Reader) ReadConfig(string path, string kind)
    {
        string text = File.ReadAllText(path);
        return (text, ConfigReader.Parse(text, kind, path));
    }

    /// <summary>True when model_index.json names <paramref name="component"/> with a non-null [library, class] entry.</summary>
    private static bool ModelIndexLists(ConfigReader modelIndex, string component) =>
        modelIndex.Field(component) is { ValueKind: JsonValueKind.Array } entry
        && entry.GetArrayLength() > 0
        && entry.EnumerateArray().All(e => e.ValueKind != JsonValueKind.Null);
}
