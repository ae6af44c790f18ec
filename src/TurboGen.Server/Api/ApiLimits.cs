using TurboGen.Pipelines;
using TurboGen.Text;

namespace TurboGen.Server.Api;

/// <summary>Request limits shared by the HTTP APIs (each violation is answered 400, or 422 on the A1111 API, naming the field).</summary>
public static class ApiLimits
{
    /// <summary>Largest request body (JSON or multipart); larger requests get 413.</summary>
    public const long MaxBodyBytes = 32L * 1024 * 1024;

    /// <summary>Most images one request may produce (OpenAI <c>n</c> is further limited to 10, as OpenAI does).</summary>
    public const int MaxImagesPerRequest = GenerationRequest.MaxBatch;

    /// <summary>Output sides: multiples of 8 from 64 to 2048 (so at most 2048² pixels).</summary>
    public const int MinSide = GenerationRequest.MinSide, MaxSide = GenerationRequest.MaxSide;

    /// <summary>Characters accepted in a prompt or negative prompt.</summary>
    public const int MaxPromptChars = ClipTokenizer.MaxPromptLength;

    /// <summary>Uploaded/base64 input images: checked from the header before any pixel is decoded.</summary>
    public const long MaxInputPixels = 4096L * 4096;
    public const int MaxInputSide = 8192;

    /// <summary>Checks an output side (multiple of 8 within limits); <paramref name="field"/> is the request field reported.</summary>
    public static void CheckSide(string field, string what, int value)
    {
        if (value < MinSide || value > MaxSide || value % 8 != 0)
        {
            throw new InvalidRequestException(field, $"{what} must be a multiple of 8 between {MinSide} and {MaxSide} (got {value}).");
        }
    }

    /// <summary>Checks a prompt's length.</summary>
    public static void CheckPrompt(string field, string? prompt)
    {
        if (prompt is not null && prompt.Length > MaxPromptChars)
        {
            throw new InvalidRequestException(field, $"{field} is {prompt.Length} characters long; at most {MaxPromptChars} are accepted.");
        }
    }
}
