using Microsoft.AspNetCore.Http;

namespace TurboGen.Server.Api.A1111;

/// <summary>
/// A1111's error shape <c>{"error", "detail", "body", "errors"}</c>. Invalid requests are 422 as FastAPI validation
/// errors are, with <c>detail</c> as FastAPI's list (<c>[{"loc": ["body", field], "msg", "type"}]</c>); 401 carries
/// <c>WWW-Authenticate: Basic</c> as <c>--api-auth</c> does; other failures keep their status with a string detail.
/// </summary>
public sealed class A1111ErrorFormat : IApiErrorFormat
{
    public static readonly A1111ErrorFormat Instance = new();

    public IResult Render(ApiProblem problem)
    {
        if (problem.Status is 400)
        {
            var loc = problem.Parameter is null ? new[] { "body" } : new[] { "body", problem.Parameter };
            var validation = new A1111Error("RequestValidationError", new[] { new A1111ValidationDetail(loc, problem.Message, "value_error") }, null, problem.Message);
            return Results.Json(validation, A1111Json.Options, statusCode: 422);
        }
        string name = problem.Status >= 500 && problem.Kind == "server_error" ? "RuntimeError" : "HTTPException";
        var body = new A1111Error(name, problem.Message, "", $"{problem.Status}: {problem.Message}");
        return new ErrorResult(Results.Json(body, A1111Json.Options, statusCode: problem.Status), problem.RetryAfter,
            problem.Status == 401 ? "Basic" : null);
    }
}
