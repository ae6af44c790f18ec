using System.Text.Json;
using System.Text.Json.Serialization;

namespace TurboGen.Server.Api.OpenAi;

/// <summary>
/// <c>POST /v1/images/generations</c> body (OpenAI field names; unknown fields are ignored). <see cref="Seed"/> and
/// <see cref="NegativePrompt"/> are TurboGen extensions.
/// </summary>
public sealed class OpenAiImageRequest
{
    [JsonPropertyName("prompt")] public string? Prompt { get; set; }
    [JsonPropertyName("model")] public string? Model { get; set; }
    [JsonPropertyName("n")] public int? N { get; set; }
    [JsonPropertyName("size")] public string? Size { get; set; }
    [JsonPropertyName("response_format")] public string? ResponseFormat { get; set; }
    [JsonPropertyName("output_format")] public string? OutputFormat { get; set; }
    [JsonPropertyName("output_compression")] public int? OutputCompression { get; set; }
    [JsonPropertyName("quality")] public string? Quality { get; set; }
    [JsonPropertyName("style")] public string? Style { get; set; }
    [JsonPropertyName("user")] public string? User { get; set; }
    [JsonPropertyName("background")] public string? Background { get; set; }
    [JsonPropertyName("moderation")] public string? Moderation { get; set; }
    [JsonPropertyName("seed")] public long? Seed { get; set; }
    [JsonPropertyName("negative_prompt")] public string? NegativePrompt { get; set; }
}

/// <summary>OpenAI's image response: <c>created</c> (Unix seconds), <c>data</c>, and the newer echo fields.</summary>
public sealed record OpenAiImagesResponse(
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("data")] IReadOnlyList<OpenAiImageData> Data,
    [property: JsonPropertyName("background")] string Background,
    [property: JsonPropertyName("output_format")] string OutputFormat,
    [property: JsonPropertyName("quality")] string Quality,
    [property: JsonPropertyName("size")] string Size);

/// <summary>One image: base64 or a URL, and the prompt actually used when a style rewrote it.</summary>
public sealed record OpenAiImageData(
    [property: JsonPropertyName("b64_json"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? B64Json,
    [property: JsonPropertyName("url"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Url,
    [property: JsonPropertyName("revised_prompt"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? RevisedPrompt);

/// <summary><c>GET /v1/models</c>: an OpenAI list of model objects.</summary>
public sealed record OpenAiModelList(
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("data")] IReadOnlyList<OpenAiModel> Data);

public sealed record OpenAiModel(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("owned_by")] string OwnedBy);

/// <summary>OpenAI's error envelope <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
public sealed record OpenAiErrorEnvelope([property: JsonPropertyName("error")] OpenAiError Error);

public sealed record OpenAiError(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string? Code);

/// <summary>Serializer settings of the OpenAI API (field names are explicit; unknown fields are ignored).</summary>
public static class OpenAiJson
{
    public static readonly JsonSerializerOptions Options = FiniteNumbers.With(new(JsonSerializerDefaults.Web)
    {
        PropertyNameCaseInsensitive = false,
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
    });
}
