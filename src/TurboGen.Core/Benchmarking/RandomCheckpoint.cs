using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using TurboGen.Checkpoints;
using TurboGen.Configs;
using TurboGen.Graphs.Architectures.Clip;
using TurboGen.Graphs.Architectures.Taesd;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Graphs.Architectures.Vae;
using TurboGen.Graphs.Architectures;
using TurboGen.Scheduling;
using TurboGen.Text;
using TurboGen.Weights;

namespace TurboGen.Benchmarking;

/// <summary>
/// Writes seeded random-weight checkpoints with the exact tensor names and shapes of a model, so that full-size networks can be
/// built, benchmarked and tested without downloading the real weights: an original single file (like
/// <c>sd_xl_turbo_1.0_fp16.safetensors</c> / <c>sd_turbo.safetensors</c>) or a diffusers folder (like the Hugging Face repos).
/// <para>
/// How it works: every tensor's values come from SplitMix64 streams seeded by (seed, tensor name, 64 Ki-element chunk index),
/// so a file is the same for the same seed whatever the order or subset of tensors and the number of threads generating
/// chunks. Values are drawn so activations stay finite through the whole network: weights of rank ≥ 2 ~ N(0, 1/fan_in) (fan_in = the product of all but the output dimension; for OpenCLIP's
/// <c>text_projection</c> [width, proj] the width), token/position embeddings ~ N(0, 0.02²), biases ~ N(0, 0.02²), other 1-D
/// tensors (norm scales) = 1, <c>logit_scale</c> = ln 100, <c>position_ids</c> = 0, 1, 2, … (int64). Normal values come from
/// Box–Muller on 24-bit uniforms. Chunks are generated in parallel batches and streamed in order into
/// <see cref="SafetensorsWriter"/>, so multi-GB checkpoints are never held in memory. F16 by default (like the published
/// fp16 files), or F32.
/// </para>
/// </summary>
public static class RandomCheckpoint
{
    private const int Chunk = 1 << 16;
    private const float BiasStd = 0.02f;
    private const float EmbeddingStd = 0.02f;

    /// <summary>
    /// Writes the single-file checkpoint (original Stability naming, <see cref="SingleFileLayout.SourceTensors"/>) of the published
    /// model of <paramref name="family"/>: SDXL-Turbo or SD-Turbo.
    /// </summary>
    public static void WriteSingleFile(string path, ModelFamily family, int seed, SafetensorsDType dtype = SafetensorsDType.F16) =>
        WriteSingleFile(path, KnownConfigs.For(family), seed, dtype);

    /// <summary>Writes the single-file checkpoint of <paramref name="configs"/> (every key a real file of that model has).</summary>
    public static void WriteSingleFile(string path, ModelConfigSet configs, int seed, SafetensorsDType dtype = SafetensorsDType.F16) =>
        WriteInitialized(path, SingleFileLayout.For(configs).SourceTensors(), seed, dtype);

    /// <summary>
    /// Writes a diffusers folder for <paramref name="configs"/>: <c>model_index.json</c>, <c>scheduler/</c>, <c>unet/</c>,
    /// <c>vae/</c>, <c>text_encoder/</c> (and <c>text_encoder_2/</c> for SDXL) with config.json and weights
    /// (<c>diffusion_pytorch_model.fp16.safetensors</c> / <c>model.fp16.safetensors</c> for F16, without ".fp16" for F32), and
    /// <c>tokenizer/</c> (and <c>tokenizer_2/</c>) written from the CLIP BPE vocabulary at <paramref name="clipBpeVocabGzPath"/>.
    /// </summary>
    /// <param name="dir">The folder to write (created).</param>
    /// <param name="configs">The model's component configs.</param>
    /// <param name="clipBpeVocabGzPath">The CLIP BPE vocabulary (bpe_simple_vocab_16e6.txt.gz) the tokenizer files are written from.</param>
    /// <param name="seed">Seed of the random weights (the same seed writes the same bytes).</param>
    /// <param name="dtype">F16 or F32 weights.</param>
    /// <param name="tokenizerPad">The tokenizer's pad token; null: &lt;|endoftext|&gt; for SDXL's CLIP-L, "!" for SD 2.x's OpenCLIP (SD 1.x's CLIP-L pads with &lt;|endoftext|&gt;).</param>
    public static void WriteDiffusersFolder(string dir, ModelConfigSet configs, string clipBpeVocabGzPath, int seed, SafetensorsDType dtype = SafetensorsDType.F16, string? tokenizerPad = null)
    {
        ArgumentNullException.ThrowIfNull(dir);
        ArgumentNullException.ThrowIfNull(clipBpeVocabGzPath);
        configs.Validate();
        CheckFloatType(dtype);
        string variant = dtype == SafetensorsDType.F16 ? ".fp16" : "";
        bool xl = configs.Family == ModelFamily.Sdxl;
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "model_index.json"), configs.ModelIndexJson);
        WriteConfig(dir, "scheduler", "scheduler_config.json", configs.SchedulerConfigJson);

        // The SDXL CLIP-L tokenizer pads with <|endoftext|>; the OpenCLIP ones (SDXL tokenizer_2, SD 2.x tokenizer) with "!".
        ClipVocabularyFiles.WriteHfFolder(clipBpeVocabGzPath, Path.Combine(dir, "tokenizer"), tokenizerPad ?? (xl ? "<|endoftext|>" : "!"));
        if (xl)
        {
            ClipVocabularyFiles.WriteHfFolder(clipBpeVocabGzPath, Path.Combine(dir, "tokenizer_2"), "!");
        }

        var unet = UnetConfig.FromJson(configs.UnetConfigJson, "unet config");
        WriteConfig(dir, "unet", "config.json", configs.UnetConfigJson);
        WriteInitialized(Path.Combine(dir, "unet", $"diffusion_pytorch_model{variant}.safetensors"), UnetCheckpointLayout.Tensors(unet), seed, dtype);

        var vae = AutoencoderKlConfig.FromJson(configs.VaeConfigJson, "vae config");
        WriteConfig(dir, "vae", "config.json", configs.VaeConfigJson);
        var vaeTensors = AutoencoderKl.ExpectedTensors(vae, AutoencoderPart.Encoder).Concat(AutoencoderKl.ExpectedTensors(vae, AutoencoderPart.Decoder))
            .Select(kv => (kv.Key, kv.Value));
        WriteInitialized(Path.Combine(dir, "vae", $"diffusion_pytorch_model{variant}.safetensors"), vaeTensors, seed, dtype);

        WriteTextEncoder(dir, "text_encoder", configs.TextEncoderConfigJson, variant, seed, dtype);
        if (configs.TextEncoder2ConfigJson is { } text2)
        {
            WriteTextEncoder(dir, "text_encoder_2", text2, variant, seed, dtype);
        }
    }

    /// <summary>
    /// The config.json of the published TAESD / TAESDXL (madebyollin/taesd, madebyollin/taesdxl): both have this architecture,
    /// they differ only in their weights.
    /// </summary>
    public const string TaesdConfigJson = """
        {
          "_class_name": "AutoencoderTiny",
          "_diffusers_version": "0.20.0.dev0",
          "act_fn": "relu",
          "decoder_block_out_channels": [64, 64, 64, 64],
          "encoder_block_out_channels": [64, 64, 64, 64],
          "force_upcast": false,
          "in_channels": 3,
          "latent_channels": 4,
          "latent_magnitude": 3,
          "latent_shift": 0.5,
          "num_decoder_blocks": [3, 3, 3, 1],
          "num_encoder_blocks": [1, 3, 3, 3],
          "out_channels": 3,
          "scaling_factor": 1.0,
          "upsampling_scaling_factor": 2
        }
        """;

    /// <summary>
    /// Writes a diffusers <c>AutoencoderTiny</c> folder with the TAESD architecture (<see cref="TaesdConfigJson"/>):
    /// <c>config.json</c> + <c>diffusion_pytorch_model.safetensors</c> (encoder and decoder, F16 or F32), as madebyollin/taesd.
    /// </summary>
    public static void WriteTinyVaeFolder(string dir, int seed, SafetensorsDType dtype = SafetensorsDType.F16)
    {
        ArgumentNullException.ThrowIfNull(dir);
        CheckFloatType(dtype);
        var config = AutoencoderTinyConfig.FromJson(TaesdConfigJson, "TAESD config");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), TaesdConfigJson);
        var tensors = AutoencoderTiny.ExpectedTensors(config, AutoencoderPart.Encoder)
            .Concat(AutoencoderTiny.ExpectedTensors(config, AutoencoderPart.Decoder))
            .Select(kv => (kv.Key, kv.Value));
        WriteInitialized(Path.Combine(dir, "diffusion_pytorch_model.safetensors"), tensors, seed, dtype);
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> (in the given order) with model-like values: the initialisation rule of the class remarks,
    /// chosen per tensor from its name and shape. <c>position_ids</c> tensors are written as int64 whatever <paramref name="dtype"/>.
    /// </summary>
    public static void WriteInitialized(string path, IEnumerable<(string Name, long[] Shape)> tensors, int seed, SafetensorsDType dtype = SafetensorsDType.F16)
    {
        CheckFloatType(dtype);
        var entries = tensors.Select(t => IsPositionIds(t.Name)
            ? new SafetensorsWriter.Tensor(t.Name, SafetensorsDType.I64, t.Shape, s => WritePositions(s, t.Shape))
            : new SafetensorsWriter.Tensor(t.Name, dtype, t.Shape, s => WriteValues(s, t.Name, t.Shape, seed, dtype, Rule(t.Name, t.Shape))));
        SafetensorsWriter.Write(path, entries, new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>
    /// A full-size random ESRGAN (RRDBNet) checkpoint with the Real-ESRGAN key names and shapes of <paramref name="config"/>
    /// (e.g. <see cref="Graphs.Architectures.Esrgan.RrdbNetConfig.RealEsrganX4Plus"/>: 16.7 M parameters), float32 as the published .pth.
    /// </summary>
    public static void WriteEsrgan(string path, Graphs.Architectures.Esrgan.RrdbNetConfig config, int seed) =>
        WriteInitialized(path, Graphs.Architectures.Esrgan.RrdbNet.ExpectedTensors(config).OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => (t.Key, t.Value)),
            seed, SafetensorsDType.F32);

    /// <summary>Writes <paramref name="tensors"/> with every value ~ N(0, <paramref name="std"/>²).</summary>
    public static void Write(string path, IEnumerable<(string Name, long[] Shape)> tensors, int seed, float std, SafetensorsDType dtype = SafetensorsDType.F16)
    {
        CheckFloatType(dtype);
        var entries = tensors.Select(t => new SafetensorsWriter.Tensor(t.Name, dtype, t.Shape,
            s => WriteValues(s, t.Name, t.Shape, seed, dtype, new ValueRule(0f, std))));
        SafetensorsWriter.Write(path, entries, new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>Mean and standard deviation of a tensor's values (std 0: every value equals the mean).</summary>
    private readonly record struct ValueRule(float Mean, float Std);

    /// <summary>The initialisation of the class remarks for one tensor.</summary>
    private static ValueRule Rule(string name, long[] shape)
    {
        if (name.EndsWith("logit_scale", StringComparison.Ordinal)) return new(MathF.Log(100f), 0f);
        if (name.EndsWith("bias", StringComparison.Ordinal)) return new(0f, BiasStd);   // ".bias" and OpenCLIP's "in_proj_bias"
        if (shape.Length <= 1) return new(1f, 0f);                                       // norm scales
        if (name.Contains("token_embedding", StringComparison.Ordinal) || name.Contains("position_embedding", StringComparison.Ordinal)
            || name.EndsWith("positional_embedding", StringComparison.Ordinal))
        {
            return new(0f, EmbeddingStd);
        }
        long fanIn = name.EndsWith(".text_projection", StringComparison.Ordinal) || name == "text_projection"
            ? shape[0]                                                                     // OpenCLIP applies it as x·P
            : shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        return new(0f, 1f / MathF.Sqrt(fanIn));
    }

    private static bool IsPositionIds(string name) => name.EndsWith("position_ids", StringComparison.Ordinal);

    private static void WriteTextEncoder(string dir, string component, string configJson, string variant, int seed, SafetensorsDType dtype)
    {
        var config = ClipTextConfig.FromJson(configJson, $"{component} config");
        WriteConfig(dir, component, "config.json", configJson);
        WriteInitialized(Path.Combine(dir, component, $"model{variant}.safetensors"), ClipTextModel.ExpectedTensors(config, config.HasProjection), seed, dtype);
    }

    private static void WriteConfig(string dir, string component, string fileName, string json)
    {
        Directory.CreateDirectory(Path.Combine(dir, component));
        File.WriteAllText(Path.Combine(dir, component, fileName), json);
    }

    private static void CheckFloatType(SafetensorsDType dtype)
    {
        if (dtype is not (SafetensorsDType.F16 or SafetensorsDType.F32))
        {
            throw new ArgumentException($"Random checkpoints are written as F16 or F32, not {dtype}.", nameof(dtype));
        }
    }

    private static void WritePositions(Stream s, long[] shape)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b), perRow = shape.Length == 0 ? 1 : shape[^1];
        var values = new long[count];
        for (long i = 0; i < count; i++) values[i] = i % perRow;
        s.Write(MemoryMarshal.AsBytes(values.AsSpan()));
    }

    /// <summary>
    /// Streams the tensor's values (N(mean, std²), or the constant mean) as F16 or F32. The values are produced in chunks of
    /// <see cref="Chunk"/> elements, chunk i from the stream seeded by (seed, name, i), so a batch of chunks is generated in
    /// parallel and written in order: the bytes do not depend on the number of threads.
    /// </summary>
    private static void WriteValues(Stream s, string name, long[] shape, int seed, SafetensorsDType dtype, ValueRule rule)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count == 0) return;
        int elementSize = dtype == SafetensorsDType.F16 ? 2 : 4;
        ulong tensorSeed = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL) ^ SplitMix64.HashName(name);
        long chunks = (count + Chunk - 1) / Chunk;
        int batch = (int)Math.Min(chunks, 4L * Environment.ProcessorCount);
        var bytes = new byte[batch][];
        for (long first = 0; first < chunks; first += batch)
        {
            int n = (int)Math.Min(batch, chunks - first);
            Parallel.For(0, n, () => (Values: new float[Chunk], Scratch: new NormalScratch(Chunk)), (j, _, local) =>
            {
                long chunk = first + j;
                int length = (int)Math.Min(Chunk, count - chunk * Chunk);
                var values = local.Values.AsSpan(0, length);
                if (rule.Std == 0f)
                {
                    values.Fill(rule.Mean);
                }
                else
                {
                    FillNormal(new SplitMix64(tensorSeed + (ulong)chunk * 0xD1B54A32D192ED03UL), values, rule.Std, local.Scratch);
                    if (rule.Mean != 0f) TensorPrimitives.Add(values, rule.Mean, values);
                }
                var target = bytes[j] ??= new byte[Chunk * elementSize];
                if (dtype == SafetensorsDType.F16)
                {
                    TensorPrimitives.ConvertToHalf(values, MemoryMarshal.Cast<byte, Half>(target.AsSpan(0, length * 2)));
                }
                else
                {
                    MemoryMarshal.AsBytes(values).CopyTo(target);
                }
                return local;
            }, _ => { });
            for (int j = 0; j < n; j++)
            {
                long chunk = first + j;
                s.Write(bytes[j].AsSpan(0, (int)Math.Min(Chunk, count - chunk * Chunk) * elementSize));
            }
        }
    }

    private sealed class NormalScratch(int length)
    {
        public readonly float[] Radius = new float[(length + 1) / 2];
        public readonly float[] Angle = new float[(length + 1) / 2];
        public readonly float[] Trig = new float[(length + 1) / 2];
    }

    /// <summary>
    /// Box–Muller over whole spans: two 24-bit uniforms per 64-bit draw, u1 ∈ (0, 1] and θ = 2π·u2; r = std·√(−2 ln u1);
    /// r·cos θ fills the first half of <paramref name="dst"/> and r·sin θ the second.
    /// </summary>
    private static void FillNormal(SplitMix64 random, Span<float> dst, float std, NormalScratch scratch)
    {
        int half = (dst.Length + 1) / 2;
        var r = scratch.Radius.AsSpan(0, half);
        var theta = scratch.Angle.AsSpan(0, half);
        var trig = scratch.Trig.AsSpan(0, half);
        for (int i = 0; i < half; i++)
        {
            ulong bits = random.Next();
            r[i] = ((bits >> 40) + 1) * (1f / (1 << 24));
            theta[i] = ((bits >> 8) & 0xFFFFFF) * (2f * MathF.PI / (1 << 24));
        }
        TensorPrimitives.Log(r, r);
        TensorPrimitives.Multiply(r, -2f, r);
        TensorPrimitives.Sqrt(r, r);
        TensorPrimitives.Multiply(r, std, r);
        TensorPrimitives.Cos(theta, trig);
        TensorPrimitives.Multiply(r, trig, dst[..half]);
        int rest = dst.Length - half;
        TensorPrimitives.Sin(theta[..rest], trig[..rest]);
        TensorPrimitives.Multiply(r[..rest], trig[..rest], dst[half..]);
    }
}
