namespace TurboGen.Runtime;

/// <summary>How a model runs: ONNX Runtime execution provider by name, threads, device, memory; and a scheduler override.</summary>
public sealed record RuntimeOptions
{
    /// <summary>"cpu" (default), "cuda", "tensorrt", "directml" or "coreml".</summary>
    public string Provider { get; init; } = "cpu";

    /// <summary>Intra-op threads; 0 = the number of physical cores.</summary>
    public int Threads { get; init; }

    /// <summary>The GPU index for "cuda", "tensorrt" and "directml" (default 0); ignored on the CPU.</summary>
    public int DeviceId { get; init; }

    /// <summary>
    /// Folder for ONNX Runtime's optimized models (CPU only; see <see cref="OptimizedSessionCache"/>): the first load writes
    /// the optimized graph and its weights there, later loads skip optimization (pre-packing, if on, still runs at load: <see cref="PrepackWeights"/>). Null (default): no cache.
    /// </summary>
    public string? SessionCacheDir { get; init; }

    /// <summary>
    /// Let ONNX Runtime pre-pack constant MatMul/Gemm weights into its GEMM layout when a session is created (default true).
    /// Pre-packing copies every packed weight into private memory once, so loading reads the weights and writes them again
    /// (SDXL-Turbo: ≈ 14 s instead of ≈ 3.5 s from the optimized-session cache) and each run is faster (SDXL-Turbo UNet
    /// ≈ 15 % at 512², text encoders more; SD-Turbo: no measurable difference). Without it ONNX Runtime runs on the
    /// memory-mapped weight file as it is (pages shared with the OS file cache) and packs GEMM panels per call. Long-lived
    /// pipelines (a server) want it on; one image per process (<c>turbogen generate</c>) wants it off. Graphs with 8-bit
    /// <c>MatMulNBits</c> (<c>--kernels int8</c>) need it: without pre-packing they ran 22 % (UNet) to 3× (text encoder)
    /// slower. Figures: docs/PERFORMANCE.md.
    /// </summary>
    public bool PrepackWeights { get; init; } = true;

    /// <summary>
    /// Return each component's activation memory to the OS after every run (ONNX Runtime arena shrinkage; default true), so
    /// peak memory is the weights plus the largest single component's activations instead of the sum over all components
    /// (SD-Turbo with the full VAE: 1.41× → 1.22× of the weights). Costs the page faults of re-allocating activations on the
    /// next run (≈ 1–3 % of a generation); the tiny VAE decoder keeps its small arena (there the re-faulting was +16 % of its time).
    /// </summary>
    public bool ReleaseMemoryAfterRun { get; init; } = true;

    /// <summary>
    /// Replaces the model's own scheduler (scheduler/scheduler_config.json) by the one named, for models whose shipped
    /// config is wrong for them, e.g. a base model with an LCM-, TCD-, Hyper-SD- or Lightning-LoRA merged in: "lcm",
    /// "tcd", "euler", "euler-a", "euler-sample" or a diffusers class name (see <see cref="TurboGen.Scheduling.Schedulers.ReadConfig"/>).
    /// Null (default): the model's own.
    /// </summary>
    public string? Scheduler { get; init; }

    /// <summary>
    /// Values set on top of <see cref="Scheduler"/> (a preset's: DMD2's original_inference_steps 4, Hyper-SD 1-step's TCD gamma 1);
    /// need <see cref="Scheduler"/>. Null (default): the override's class defaults.
    /// </summary>
    public TurboGen.Scheduling.SchedulerParameters? SchedulerParameters { get; init; }

    /// <summary>The provider names <see cref="Provider"/> accepts (case-insensitive): cpu, cuda, tensorrt, directml, coreml.</summary>
    public static readonly IReadOnlyList<string> KnownProviders = ["cpu", "cuda", "tensorrt", "directml", "coreml"];
}
