namespace TurboGen.Cli;

/// <summary>The process exit codes of <c>turbogen</c> (documented in docs/CLI.md; scripts rely on them).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>Anything unexpected (a bug, an I/O failure writing the output).</summary>
    public const int Failure = 1;

    /// <summary>Bad command line or request value (<see cref="InvalidRequestException"/>, unreadable --image).</summary>
    public const int InvalidInput = 2;

    /// <summary>The model folder/file is missing or unusable (<see cref="ModelLoadException"/>).</summary>
    public const int ModelLoad = 3;

    /// <summary>Hugging Face Hub or cache failure (<see cref="Hub.HubException"/>): not found, gated, offline, network, disk full.</summary>
    public const int Hub = 4;

    /// <summary>The model produced NaN/Inf (<see cref="NumericalException"/>).</summary>
    public const int Numerical = 5;

    /// <summary>The requested execution provider is not in this ONNX Runtime build.</summary>
    public const int ProviderUnavailable = 6;

    /// <summary>Cancelled with Ctrl-C / SIGTERM (128 + SIGINT, as shells report it).</summary>
    public const int Cancelled = 130;
}
