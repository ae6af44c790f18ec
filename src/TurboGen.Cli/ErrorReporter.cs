using TurboGen.Hub;

namespace TurboGen.Cli;

/// <summary>
/// Turns an exception into one line on stderr and an exit code (<see cref="ExitCodes"/>). Expected errors (the engine's
/// <see cref="TurboGenException"/> family, cancellation) never show a stack trace unless <c>--verbose</c> is given.
/// </summary>
internal static class ErrorReporter
{
    public static int Report(Exception error, bool verbose, TextWriter stderr, bool cancelled)
    {
        var (code, message) = Describe(error, cancelled);
        stderr.WriteLine($"turbogen: {message}");
        if (verbose && code != ExitCodes.Cancelled)
        {
            stderr.WriteLine(error.ToString());
        }
        else if (code == ExitCodes.Failure)
        {
            stderr.WriteLine("turbogen: run again with --verbose for details.");
        }
        return code;
    }

    /// <summary>The exit code and the user-facing message for an error.</summary>
    public static (int Code, string Message) Describe(Exception error, bool cancelled) => error switch
    {
        OperationCanceledException when cancelled => (ExitCodes.Cancelled, "cancelled."),
        InvalidRequestException e => (ExitCodes.InvalidInput, $"error: {OptionFor(e.Parameter)}: {e.Message}"),
        ImageDecodeException e => (ExitCodes.InvalidInput, $"error: --image: {e.Message}"),
        ModelLoadException e => (ExitCodes.ModelLoad, $"error: {e.Message}"),
        HubException e => (ExitCodes.Hub, $"error: {e.Message}"),
        NumericalException e => (ExitCodes.Numerical, $"error: {e.Message}"),
        ExecutionProviderUnavailableException e => (ExitCodes.ProviderUnavailable, $"error: {e.Message}"),
        TurboGenException e => (ExitCodes.Failure, $"error: {e.Message}"),
        IOException or UnauthorizedAccessException => (ExitCodes.Failure, $"error: {error.Message}"),
        _ => (ExitCodes.Failure, $"unexpected error: {error.GetType().Name}: {error.Message}"),
    };

    /// <summary>The command-line option that sets an engine request field ("width" → "--size").</summary>
    public static string OptionFor(string parameter) => parameter switch
    {
        "width" or "height" => "--size",
        "steps" => "--steps",
        "batch_size" => "--count",
        "guidance_scale" => "--guidance",
        "strength" => "--strength",
        "seed" => "--seed",
        "tiny_vae" => "--tiny-vae",
        "provider" => "--provider",
        "model" or "revision" => "--model",
        "prompt" => "PROMPT",
        "negative_prompt" => "--negative",
        "output" => "OUTPUT",
        "api_key" => "--api-key",
        "tile" => "--tile",
        "mask" => "--mask",
        "mask_blur" => "--mask-blur",
        "inpaint_full_res_padding" => "--padding",
        "inpainting_fill" => "--fill",
        "merge_weight" => "--weight",
        "merge_base" => "--base",
        "merge_output" => "--output",
        _ => parameter,
    };
}
