namespace TurboGen.Server.Api;

/// <summary>
/// An HTTP-level failure with a fixed status (401, 404, 413, 503, ...) that each API renders in its own error shape.
/// <see cref="Code"/> is the machine-readable code (OpenAI's <c>code</c>), <see cref="Parameter"/> the offending field if any.
/// </summary>
public sealed class ApiException(int status, string code, string message, string? parameter = null, TimeSpan? retryAfter = null)
    : TurboGenException(message)
{
    public int Status { get; } = status;
    public string Code { get; } = code;
    public string? Parameter { get; } = parameter;
    public TimeSpan? RetryAfter { get; } = retryAfter;
}
