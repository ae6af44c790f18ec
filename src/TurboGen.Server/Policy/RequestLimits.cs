using TurboGen.Pipelines;

namespace TurboGen.Server.Policy;

/// <summary>
/// The one table of request limits. Every front end (OpenAI, A1111, native, real-time WebSocket) checks against it,
/// and the engine's own rules come from <see cref="GenerationRequest"/> (<see cref="GenerationRequest.Validate"/>
/// reads the same constants), so a limit cannot differ between front ends. Violations name the field: 400 on the
/// OpenAI and native APIs, 422 on the A1111 API, an <c>error</c> message on the WebSocket.
/// </summary>
public static class RequestLimits
{
    /// <summary>Largest HTTP request body (JSON or multipart); larger requests get 413.</summary>
    public const long MaxBodyBytes = 32L * 1024 * 1024;

    /// <summary>Largest WebSocket message (a 2048² PNG sketch in base64 fits).</summary>
    public const int MaxMessageBytes = 24 * 1024 * 1024;

    /// <summary>Most images one request may produce (OpenAI <c>n</c> is further limited to 10, as OpenAI does).</summary>
    public const int MaxImagesPerRequest = GenerationRequest.MaxBatch;

    /// <summary>Output sides: multiples of 8 from 64 to 2048.</summary>
    public const int MinSide = GenerationRequest.MinSide, MaxSide = GenerationRequest.MaxSide, SideMultiple = GenerationRequest.SideMultiple;

    /// <summary>Denoising steps of the HTTP APIs; real-time frames take at most <see cref="MaxLiveSteps"/>.</summary>
    public const int MaxSteps = GenerationRequest.MaxSteps, MaxLiveSteps = 4;

    /// <summary>Classifier-free guidance scale (only &gt; 1 enables it, and with it the negative prompt).</summary>
    public const float MaxGuidance = GenerationRequest.MaxGuidanceScale;

    /// <summary>Seeds in one real-time "variants" request.</summary>
    public const int MaxVariants = 8;

    /// <summary>Characters accepted in a prompt or negative prompt (control characters other than \t \n \r are refused).</summary>
    public const int MaxPromptChars = GenerationRequest.MaxPromptChars;

    /// <summary>Input images (base64, data URL or multipart): checked from the header before any pixel is decoded.</summary>
    public const long MaxInputPixels = 4096L * 4096;
    public const int MaxInputSide = 8192;

    /// <summary>Checks an output side; <paramref name="field"/> is the request field reported, <paramref name="what"/> the value's name.</summary>
    public static void CheckSide(string field, int value, string? what = null) => GenerationRequest.CheckSide(field, value, what);

    /// <summary>Checks a prompt or negative prompt (length, control characters).</summary>
    public static void CheckPrompt(string field, string? prompt) => GenerationRequest.CheckPrompt(field, prompt);
}
