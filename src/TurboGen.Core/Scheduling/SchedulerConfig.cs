using TurboGen.Configs;

namespace TurboGen.Scheduling;

/// <summary>
/// The fields of a diffusers <c>scheduler/scheduler_config.json</c> that TurboGen's schedulers use. Missing keys take
/// the diffusers defaults of the named class: linear betas 0.0001..0.02 and "linspace" spacing for the Euler classes,
/// scaled_linear betas 0.00085..0.012 and "leading" spacing for LCMScheduler and TCDScheduler; unknown keys are ignored.
/// Parsing only checks types and ranges; whether a combination is supported is decided by <see cref="Schedulers.Create"/>.
/// </summary>
public sealed record SchedulerConfig
{
    /// <summary>Where the config was read from (named in errors about it), or null for a config made in code.</summary>
    public string? Source { get; init; }

    /// <summary><c>_class_name</c>, e.g. "EulerAncestralDiscreteScheduler" (SDXL-Turbo) or "EulerDiscreteScheduler" (SD-Turbo).</summary>
    public string ClassName { get; init; } = "";

    /// <summary><c>num_train_timesteps</c>: the length of the training noise schedule (default 1000).</summary>
    public int NumTrainTimesteps { get; init; } = 1000;

    /// <summary><c>beta_start</c>: β at timestep 0 (default 0.0001; 0.00085 for LCM/TCD).</summary>
    public double BetaStart { get; init; } = 0.0001;

    /// <summary><c>beta_end</c>: β at the last training timestep (default 0.02; 0.012 for LCM/TCD).</summary>
    public double BetaEnd { get; init; } = 0.02;
    /// <summary>"scaled_linear" or "linear" (others are rejected by <see cref="Schedulers.Create"/>).</summary>
    public string BetaSchedule { get; init; } = "linear";
    /// <summary>Explicit betas; when present they replace <see cref="BetaSchedule"/>.</summary>
    public IReadOnlyList<double>? TrainedBetas { get; init; }
    /// <summary>"epsilon" or "v_prediction".</summary>
    public string PredictionType { get; init; } = "epsilon";
    /// <summary>"trailing" (the turbo models), "leading" or "linspace".</summary>
    public string TimestepSpacing { get; init; } = "linspace";
    /// <summary>Added to the timesteps by "leading" spacing only.</summary>
    public int StepsOffset { get; init; }
    /// <summary>EulerDiscrete: how sigmas are interpolated between training timesteps; only "linear" is supported.</summary>
    public string InterpolationType { get; init; } = "linear";
    /// <summary>EulerDiscrete: Karras sigmas are not supported (must be false).</summary>
    public bool UseKarrasSigmas { get; init; }
    /// <summary>EulerDiscrete: only "discrete" timesteps are supported.</summary>
    public string TimestepType { get; init; } = "discrete";
    /// <summary>Zero-terminal-SNR rescaling is not supported (must be false).</summary>
    public bool RescaleBetasZeroSnr { get; init; }
    /// <summary>EulerDiscrete: the sigma after the last step; only "zero" is supported.</summary>
    public string FinalSigmasType { get; init; } = "zero";
    /// <summary>LCM/TCD: the length of the distillation schedule the few-step timesteps are picked from (diffusers default 50).</summary>
    public int OriginalInferenceSteps { get; init; } = 50;
    /// <summary>
    /// TCD: the stochasticity gamma (diffusers' step argument <c>eta</c>; not a file key): <see cref="TcdScheduler.DefaultGamma"/>
    /// unless <see cref="SchedulerParameters"/> set it.
    /// </summary>
    public double Gamma { get; init; } = TcdScheduler.DefaultGamma;
    /// <summary>LCM: the factor on the integer timestep in the boundary conditions c_skip and c_out (diffusers default 10).</summary>
    public double TimestepScaling { get; init; } = 10.0;
    /// <summary>LCM/TCD: clipping of the predicted x0 is not supported (must be false).</summary>
    public bool ClipSample { get; init; }
    /// <summary>LCM/TCD: dynamic thresholding is not supported (must be false).</summary>
    public bool Thresholding { get; init; }

    /// <summary>True for the classes whose diffusers defaults are the Stable Diffusion betas (LCMScheduler, TCDScheduler).</summary>
    internal static bool HasStableDiffusionDefaults(string className) =>
        className is LcmScheduler.ClassName or TcdScheduler.ClassName;

    /// <summary>Reads and parses a scheduler_config.json file.</summary>
    /// <exception cref="ModelLoadException">The file is missing, unreadable or not a valid scheduler config; names the path.</exception>
    public static SchedulerConfig FromFile(string path) => Read(ConfigReader.Load(path, Kind), null);

    /// <summary>
    /// Reads scheduler_config.json as if its <c>_class_name</c> were <paramref name="className"/> (diffusers'
    /// <c>NewScheduler.from_config(old.config)</c>): the file's values are kept, missing keys take the new class's defaults.
    /// </summary>
    /// <exception cref="ModelLoadException">The file is missing, unreadable or not a valid scheduler config; names the path.</exception>
    public static SchedulerConfig FromFile(string path, string className) => Read(ConfigReader.Load(path, Kind), className);

    /// <summary>Parses scheduler_config.json text.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="sourcePath">Named in errors; defaults to "scheduler_config.json".</param>
    /// <exception cref="ModelLoadException">Malformed JSON, a field of the wrong type or out of range.</exception>
    public static SchedulerConfig FromJson(string json, string? sourcePath = null) =>
        Read(ConfigReader.Parse(json, Kind, sourcePath ?? "scheduler_config.json"), null);

    /// <summary>Parses scheduler_config.json text as if its <c>_class_name</c> were <paramref name="className"/> (see <see cref="FromFile(string, string)"/>).</summary>
    public static SchedulerConfig FromJson(string json, string className, string? sourcePath) =>
        Read(ConfigReader.Parse(json, Kind, sourcePath ?? "scheduler_config.json"), className);

    private const string Kind = "Scheduler config";

    private static SchedulerConfig Read(ConfigReader reader, string? classNameOverride)
    {
        string className = classNameOverride ?? reader.String("_class_name", "");
        var defaults = HasStableDiffusionDefaults(className)
            ? new SchedulerConfig { BetaStart = 0.00085, BetaEnd = 0.012, BetaSchedule = "scaled_linear", TimestepSpacing = "leading" }
            : new SchedulerConfig();
        var config = new SchedulerConfig
        {
            Source = reader.Source,
            ClassName = className,
            NumTrainTimesteps = reader.Int("num_train_timesteps", defaults.NumTrainTimesteps, min: 1, max: 100_000),
            BetaStart = reader.Double("beta_start", defaults.BetaStart),
            BetaEnd = reader.Double("beta_end", defaults.BetaEnd),
            BetaSchedule = reader.String("beta_schedule", defaults.BetaSchedule),
            TrainedBetas = reader.DoubleList("trained_betas"),
            PredictionType = reader.String("prediction_type", defaults.PredictionType),
            TimestepSpacing = reader.String("timestep_spacing", defaults.TimestepSpacing),
            StepsOffset = reader.Int("steps_offset", defaults.StepsOffset, min: 0, max: 100_000),
            InterpolationType = reader.String("interpolation_type", defaults.InterpolationType),
            UseKarrasSigmas = reader.Bool("use_karras_sigmas", defaults.UseKarrasSigmas),
            TimestepType = reader.String("timestep_type", defaults.TimestepType),
            RescaleBetasZeroSnr = reader.Bool("rescale_betas_zero_snr", defaults.RescaleBetasZeroSnr),
            FinalSigmasType = reader.String("final_sigmas_type", defaults.FinalSigmasType),
            OriginalInferenceSteps = reader.Int("original_inference_steps", defaults.OriginalInferenceSteps, min: 1, max: 100_000),
            TimestepScaling = reader.Double("timestep_scaling", defaults.TimestepScaling),
            ClipSample = reader.Bool("clip_sample", defaults.ClipSample),
            Thresholding = reader.Bool("thresholding", defaults.Thresholding),
        };
        if (!(config.BetaStart > 0 && config.BetaStart < 1) || !(config.BetaEnd > 0 && config.BetaEnd < 1))
        {
            throw reader.Error($"beta_start ({config.BetaStart}) and beta_end ({config.BetaEnd}) must lie in (0, 1)");
        }
        if (config.TrainedBetas is null && config.BetaSchedule is not ("scaled_linear" or "linear"))
        {
            throw reader.Error($"beta_schedule \"{config.BetaSchedule}\" is not supported; supported: scaled_linear, linear (or trained_betas)");
        }
        if (config.TrainedBetas is { } betas && betas.Any(b => !(b > 0 && b < 1)))
        {
            throw reader.Error("every trained_betas value must lie in (0, 1)");
        }
        return config;
    }
}
