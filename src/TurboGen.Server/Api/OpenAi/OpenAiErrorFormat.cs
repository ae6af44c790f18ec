using Microsoft.AspNetCore.Http;

namespace TurboGen.Server.Api.OpenAi;

/// <summary>
/// Renders problems as OpenAI errors with OpenAI's status codes: 400/404/413/415 <c>invalid_request_error</c>,
/// 401 <c>invalid_request_error</c> + code <c>invalid_api_key</c> (as OpenAI answers a bad key), 429
/// <c>rate_limit_error</c> + <c>Retry-After</c>, 500 and 503 <c>server_error</c>. Also used by the native API.
/// </summary>
public sealed class OpenAiErrorFormat : IApiErrorFormat
{
    public static readonly OpenAiErrorFormat Instance = new();

    public IResult Render(ApiProblem problem)
    {
        string type = problem.Kind switch
        {
            "busy" => "rate_limit_error",
            "server_error" or "loading" => "server_error",
            _ => "invalid_request_error",
        };
        var body = new OpenAiErrorEnvelope(new OpenAiError(problem.Message, type, problem.Parameter, problem.Code));
        return new ErrorResult(Results.Json(body, OpenAiJson.Options, statusCode: problem.Status), problem.RetryAfter);
    }
}
