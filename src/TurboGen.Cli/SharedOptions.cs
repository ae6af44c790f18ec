using System.CommandLine;
using TurboGen.Graphs;
using TurboGen.Runtime;
using TurboGen.Storage;

namespace TurboGen.Cli;

/// <summary>
/// The options shared by <c>generate</c>, <c>serve</c> and <c>bench</c> (model, execution provider, threads, build precision, LoRA, scheduler).
/// Each command gets its own instances.
/// </summary>
internal sealed class SharedOptions
{
    public Option<string?> Model { get; } = new("--model", "-m")
    {
        Description = $"Hugging Face id (org/name[@revision]), local ONNX model folder, checkpoint, or a known model ({string.Join(", ", TurboGen.Hub.KnownModels.All.Select(m => m.Name))}: its repository and recommended settings; see models --known). Default: {ModelLocator.DefaultModel}.",
        HelpName = "MODEL",
    };

    public Option<string> Provider { get; } = new("--provider")
    {
        Description = "ONNX Runtime execution provider (default: this build's, see turbogen doctor).",
        DefaultValueFactory = _ => Flavour.DefaultProvider,
    };

    public Option<int> Threads { get; } = new("--threads")
    {
        Description = "Intra-op threads (0 = physical cores).",
        DefaultValueFactory = _ => 0,
    };

    public Option<string> Precision { get; } = new("--precision")
    {
        Description = "Precision of models built from safetensors checkpoints: auto (fp16 for GPU providers, fp32 for cpu), fp32 or fp16. ONNX models are used as they are.",
        DefaultValueFactory = _ => "auto",
    };

    public Option<string> Kernels { get; } = new("--kernels")
    {
        Description = "Operator forms of graphs built from safetensors: standard (plain ONNX, reference numerics), fused (fused attention), int8 (fused + 8-bit UNet/text-encoder matmuls, most sensitive layers fp32, ~1e-2 error), int8-all (every matmul 8-bit: fastest, ~2.5 % error).",
        DefaultValueFactory = _ => "standard",
    };

    public Option<bool> NoSessionCache { get; } = new("--no-session-cache")
    {
        Description = "Do not cache ONNX Runtime's optimized models (by default the first CPU load writes them under the TurboGen cache, so later loads skip optimization).",
    };

    public Option<string> Prepack { get; } = new("--prepack")
    {
        Description = "Pre-pack MatMul weights when loading: on = slower load, faster images (SDXL-Turbo on CPU: load ≈ 14 s vs 3.5 s, images up to ≈ 20 % faster); off = run on the memory-mapped weights; auto = off for generate, on for serve, bench and the int8 kernels.",
        DefaultValueFactory = _ => "auto",
    };

    public Option<string[]> Lora { get; } = new("--lora")
    {
        Description = "LoRA file merged into the weights at build time, PATH[:SCALE] (repeatable; scale default 1; needs a safetensors model).",
        HelpName = "PATH[:SCALE]",
        Arity = ArgumentArity.ZeroOrMore,
    };

    public Option<bool> LoraStrict { get; } = new("--lora-strict")
    {
        Description = "Fail, naming the key, when a --lora key matches no model weight (unknown naming, missing module, wrong shape) instead of warning and applying the rest.",
    };

    public Option<string?> Scheduler { get; } = new("--scheduler")
    {
        Description = $"Replace the model's own scheduler, for LoRA-made few-step models whose base config is wrong for them: {string.Join(", ", TurboGen.Scheduling.Schedulers.OverrideNames)} (lcm: LCM-LoRA; tcd: TCD/Hyper-SD; euler-sample: SDXL-Lightning 1-step; euler/euler-a: trailing spacing). Default: the model's scheduler_config.json.",
        HelpName = "NAME",
    };

    public SharedOptions()
    {
        Scheduler.Validators.Add(result =>
        {
            string? name = result.GetValueOrDefault<string?>();
            if (name is null) return;
            try
            {
                TurboGen.Scheduling.Schedulers.CanonicalOverrideName(name);
            }
            catch (InvalidRequestException ex)
            {
                result.AddError($"--scheduler: {ex.Message}");
            }
        });
        Provider.AcceptOnlyFromAmong([.. RuntimeOptions.KnownProviders]);
        Precision.AcceptOnlyFromAmong("auto", "fp32", "fp16");
        Kernels.AcceptOnlyFromAmong([.. TurboGen.Graphs.GraphKernels.Names]);
        Prepack.AcceptOnlyFromAmong("auto", "on", "off");
        Threads.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 0) result.AddError("--threads must be 0 or more.");
        });
    }

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Model, Provider, Threads, Precision, Lora, LoraStrict, Scheduler, Kernels, NoSessionCache, Prepack }) command.Options.Add(option);
    }

    /// <summary>The --kernels value.</summary>
    public TurboGen.Graphs.GraphKernels GraphKernels(ParseResult parse) => TurboGen.Graphs.GraphKernels.Parse(parse.GetValue(Kernels) ?? "standard");

    /// <summary>The --lora values as (path, scale); "style.safetensors:0.8" → scale 0.8, a path without a numeric suffix → 1.</summary>
    public IReadOnlyList<(string Path, float Scale)> Loras(ParseResult parse) =>
        (parse.GetValue(Lora) ?? []).Select(ParseLora).ToList();

    internal static (string Path, float Scale) ParseLora(string text)
    {
        int colon = text.LastIndexOf(':');
        if (colon > 0 && float.TryParse(text.AsSpan(colon + 1), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out float scale))
        {
            if (!float.IsFinite(scale)) throw new InvalidRequestException("--lora", $"LoRA scale must be a finite number (got '{text[(colon + 1)..]}').");
            return (text[..colon], scale);
        }
        return (text, 1f);
    }

    /// <summary>The precision to build safetensors checkpoints in, from --precision and --provider.</summary>
    public BuildPrecision BuildPrecision(ParseResult parse) =>
        ChoosePrecision(parse.GetValue(Precision) ?? "auto", parse.GetValue(Provider) ?? "cpu");

    /// <summary>"auto": float16 for the GPU providers (cuda, tensorrt, directml, coreml), float32 for cpu; "fp32"/"fp16" as given.</summary>
    internal static BuildPrecision ChoosePrecision(string precision, string provider) =>
        precision.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase)
            ? BuildPrecisions.ForProvider(provider)
            : BuildPrecisions.Parse(precision, "--precision");

    /// <summary>The runtime options; <paramref name="prepackByDefault"/> is what --prepack auto means for the command.</summary>
    public RuntimeOptions Runtime(ParseResult parse, bool prepackByDefault) => new()
    {
        Provider = parse.GetValue(Provider) ?? "cpu",
        Threads = parse.GetValue(Threads),
        SessionCacheDir = parse.GetValue(NoSessionCache) ? null : TurboGenCache.SessionsDir(),
        PrepackWeights = ChoosePrepack(parse.GetValue(Prepack) ?? "auto", prepackByDefault, GraphKernels(parse)),
        Scheduler = parse.GetValue(Scheduler) ?? Preset(parse)?.Scheduler,
        // A preset's scheduler parameters belong to its own scheduler: a --scheduler given drops them.
        SchedulerParameters = parse.GetValue(Scheduler) is null ? Preset(parse)?.SchedulerParameters : null,
    };

    /// <summary>True when <paramref name="option"/> was given on the command line (not just its default).</summary>
    public static bool Given(ParseResult parse, Option option) => parse.GetResult(option) is { Implicit: false };

    /// <summary>The preset -m names (<see cref="ModelLocator.PresetFor"/>), whose settings fill the options not given.</summary>
    public TurboGen.Hub.KnownModel? Preset(ParseResult parse) => ModelLocator.PresetFor(parse.GetValue(Model));

    /// <summary>
    /// --prepack: "on"/"off" as given; "auto" is the command's default, except that 8-bit kernels always pre-pack
    /// (MatMulNBits without pre-packed weights ran 22 % (UNet) to 3× (text encoder) slower).
    /// </summary>
    internal static bool ChoosePrepack(string value, bool commandDefault, TurboGen.Graphs.GraphKernels kernels) => value.Trim().ToLowerInvariant() switch
    {
        "on" => true,
        "off" => false,
        _ => commandDefault || kernels.Int8MatMul,
    };
}
