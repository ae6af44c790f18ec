using Microsoft.AspNetCore.Http;

namespace TurboGen.Server.Api;

/// <summary>Renders an <see cref="ApiProblem"/> in one API's error shape (OpenAI, A1111, native).</summary>
public interface IApiErrorFormat
{
    IResult Render(ApiProblem problem);
}
