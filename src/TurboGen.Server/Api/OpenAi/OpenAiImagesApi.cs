using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Server.Policy;
using TurboGen.Server.Generation;

namespace TurboGen.Server.Api.OpenAi;

/// <summary>
/// OpenAI-compatible image API: <c>POST /v1/images/generations</c> (text-to-image), <c>POST /v1/images/edits</c>
/// (multipart, image-to-image; with a <c>mask</c>, inpainting), <c>GET /v1/models</c>, and <c>GET /v1/files/images/{id}</c> serving
/// <c>response_format=url</c> images from <see cref="ImageStore"/> for an hour. Parameter mapping:
/// <see cref="OpenAiImageParameters"/>. Errors are OpenAI error objects (<see cref="OpenAiErrorFormat"/>).
/// </summary>
public static class OpenAiImagesApi
{
    public const string FilesPath = "/v1/files/images";
    private const float DefaultEditStrength = 0.5f;

    public static void Map(IEndpointRouteBuilder app)
    {
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var v1 = app.MapGroup("/v1").AddEndpointFilter(new ApiGuard(OpenAiErrorFormat.Instance)).WithMetadata(OpenAiErrorFormat.Instance).WithTags("OpenAI");
        v1.MapPost("/images/generations", Generate)
            .WithSummary("Create images from a prompt (OpenAI images API).")
            .Accepts<OpenAiImageRequest>("application/json")
            .Produces<OpenAiImagesResponse>()
            .Produces<OpenAiErrorEnvelope>(400).Produces<OpenAiErrorEnvelope>(401).Produces<OpenAiErrorEnvelope>(404)
            .Produces<OpenAiErrorEnvelope>(429).Produces<OpenAiErrorEnvelope>(503);
        v1.MapPost("/images/edits", Edit)
            .WithSummary("Image-to-image from an uploaded image and a prompt (OpenAI images API, multipart/form-data).")
            .Accepts<OpenAiImageEditForm>("multipart/form-data")
            .Produces<OpenAiImagesResponse>()
            .Produces<OpenAiErrorEnvelope>(400).Produces<OpenAiErrorEnvelope>(401).Produces<OpenAiErrorEnvelope>(429);
        v1.MapGet("/models", (ModelHost host) =>
            {
                var model = ApiRequests.RequireService(host).Model;
                return Results.Json(new OpenAiModelList("list", model.Names.Select(name => new OpenAiModel(name, "model", created, "turbogen")).ToList()), OpenAiJson.Options);
            })
            .WithSummary("The loaded model under each name it answers to, its id first (OpenAI list shape).")
            .Produces<OpenAiModelList>();
        v1.MapGet("/models/{**id}", (string id, ModelHost host) =>
            {
                var model = ApiRequests.RequireService(host).Model;
                OpenAiImageParameters.ResolveModel(id, model);
                return Results.Json(new OpenAiModel(id, "model", created, "turbogen"), OpenAiJson.Options);
            })
            .WithSummary("Describe a model id (the loaded model or an accepted OpenAI alias).")
            .Produces<OpenAiModel>().Produces<OpenAiErrorEnvelope>(404);

        // Served without the API key: the 128-bit random id is the credential (like OpenAI's signed image URLs).
        app.MapGet(FilesPath + "/{id}", (string id, ImageStore store) => store.Get(id) is { } image
                ? Results.Bytes(image.Data, image.ContentType)
                : OpenAiErrorFormat.Instance.Render(new ApiProblem(404, "not_found", "image_not_found", "id",
                    $"No image '{id}': it never existed or expired (images are kept {store.Lifetime.TotalMinutes:F0} minutes).")))
            .WithTags("OpenAI")
            .WithMetadata(OpenAccess.Instance)
            .WithSummary("Download an image returned by response_format=url (expires after an hour).")
            .Produces(200, contentType: "image/png").Produces<OpenAiErrorEnvelope>(404);
    }

    private static async Task<IResult> Generate(HttpContext http, ModelHost host, ImageStore store, StylePresets styles, OutputWriter writer, CancellationToken ct)
    {
        var service = ApiRequests.RequireService(host);
        var request = await ApiRequests.ReadJsonAsync<OpenAiImageRequest>(http.Request, OpenAiJson.Options, ct).ConfigureAwait(false);
        int native = service.Model.DefaultSize;
        return await RunAsync(http, service, store, styles, writer, request, null, OpenAiImageParameters.ParseSize(request.Size, (native, native)), ct).ConfigureAwait(false);
    }

    private static async Task<IResult> Edit(HttpContext http, ModelHost host, ImageStore store, StylePresets styles, OutputWriter writer, CancellationToken ct)
    {
        var service = ApiRequests.RequireService(host);
        if (!http.Request.HasFormContentType)
        {
            throw new InvalidRequestException("image", "images/edits takes multipart/form-data with an 'image' file and a 'prompt'.");
        }
        var form = await ReadFormAsync(http.Request, ct).ConfigureAwait(false);
        var files = form.Files.GetFiles("image").Concat(form.Files.GetFiles("image[]")).ToList();
        if (files.Count == 0)
        {
            throw new InvalidRequestException("image", "image is required: send the image to edit as a multipart file field 'image'.");
        }
        if (files.Count > 1)
        {
            throw new InvalidRequestException("image", $"{files.Count} images were sent; TurboGen edits one image per request.");
        }
        var maskFile = form.Files.GetFile("mask");
        if (maskFile is null && form.ContainsKey("mask"))
        {
            throw new InvalidRequestException("mask", "mask must be a multipart file: a PNG the size of 'image' whose fully transparent pixels mark the area to edit.");
        }
        var request = new OpenAiImageRequest
        {
            Prompt = Text(form, "prompt"),
            Model = Text(form, "model"),
            N = (int?)Integer(form, "n"),
            Size = Text(form, "size"),
            ResponseFormat = Text(form, "response_format"),
            OutputFormat = Text(form, "output_format"),
            OutputCompression = (int?)Integer(form, "output_compression"),
            Quality = Text(form, "quality"),
            Style = Text(form, "style"),
            User = Text(form, "user"),
            Background = Text(form, "background"),
            Seed = Integer(form, "seed"),
            NegativePrompt = Text(form, "negative_prompt"),
        };
        float strength = Number(form, "strength") ?? (maskFile is null ? DefaultEditStrength : 1f);
        if (!float.IsFinite(strength) || strength <= 0 || strength > 1)
        {
            throw new InvalidRequestException("strength", $"strength must be in (0, 1] (got {strength.ToString(CultureInfo.InvariantCulture)}).");
        }
        ApiRequests.RequireImageToImage(service, "image");
        byte[] bytes;
        using (var buffer = new MemoryStream())
        {
            await files[0].CopyToAsync(buffer, ct).ConfigureAwait(false);
            bytes = buffer.ToArray();
        }
        var image = InputImages.FromBytes("image", bytes);
        var mask = maskFile is null ? null : await ReadMaskAsync(maskFile, image, ct).ConfigureAwait(false);
        var size = OpenAiImageParameters.ParseSize(request.Size, OpenAiImageParameters.AutoSizeFor(image.Width, image.Height, service.Model.DefaultSize));
        return await RunAsync(http, service, store, styles, writer, request, (image, strength, mask), size, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// OpenAI's mask: an image the size of <paramref name="image"/> whose fully transparent pixels (alpha 0) mark the area to edit;
    /// a size mismatch or a mask without transparent pixels is a 400 naming "mask".
    /// </summary>
    private static async Task<InpaintMask> ReadMaskAsync(IFormFile file, RgbImage image, CancellationToken ct)
    {
        byte[] bytes;
        using (var buffer = new MemoryStream())
        {
            await file.CopyToAsync(buffer, ct).ConfigureAwait(false);
            bytes = buffer.ToArray();
        }
        var (alpha, width, height) = InputImages.AlphaFromBytes("mask", bytes);
        if (width != image.Width || height != image.Height)
        {
            throw new InvalidRequestException("mask", $"mask is {width}x{height} but image is {image.Width}x{image.Height}; they must be the same size.");
        }
        if (!alpha.Contains((byte)0))
        {
            throw new InvalidRequestException("mask", "mask has no fully transparent pixels: its transparent area (alpha 0) marks what to edit.");
        }
        return InpaintMask.FromTransparency(alpha, width, height);
    }

    private static async Task<IResult> RunAsync(HttpContext http, IGenerationService service, ImageStore store, StylePresets styles,
        OutputWriter writer, OpenAiImageRequest request, (RgbImage Image, float Strength, InpaintMask? Mask)? init, (int Width, int Height) size, CancellationToken ct)
    {
        bool dallE = OpenAiImageParameters.ResolveModel(request.Model, service.Model);
        if (string.IsNullOrWhiteSpace(request.Prompt))
        {
            throw new InvalidRequestException("prompt", "prompt is required.");
        }
        RequestLimits.CheckPrompt("prompt", request.Prompt);
        RequestLimits.CheckPrompt("negative_prompt", request.NegativePrompt);
        int n = OpenAiImageParameters.ParseN(request.N);
        int steps = OpenAiImageParameters.StepsFor(request.Quality);
        var style = OpenAiImageParameters.ParseStyle(request.Style, styles);
        bool url = OpenAiImageParameters.WantsUrl(request.ResponseFormat, dallE);
        var format = ImageOutput.Parse("output_format", request.OutputFormat);
        int quality = OpenAiImageParameters.CompressionQuality(request.OutputCompression);
        if (request.Background?.Trim().ToLowerInvariant() is { } background && background is not ("" or "auto" or "opaque"))
        {
            throw new InvalidRequestException("background", $"background '{request.Background}' is not supported: TurboGen images are opaque (use auto or opaque).");
        }
        var (prompt, negative) = style?.Apply(request.Prompt, request.NegativePrompt ?? "") ?? (request.Prompt, request.NegativePrompt ?? "");
        var generation = new GenerationRequest
        {
            Prompt = prompt,
            NegativePrompt = negative,
            Width = size.Width,
            Height = size.Height,
            Steps = steps,
            Seed = request.Seed,
            BatchSize = n,
            InitImage = init?.Image,
            Strength = init?.Strength ?? 0.5f,
            Mask = init?.Mask,
        };
        var result = await service.GenerateAsync(ApiRequests.SessionKey(http, "openai", request.User), generation, ct).ConfigureAwait(false);

        string baseUrl = $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}";
        var data = new List<OpenAiImageData>(result.Images.Count);
        for (int i = 0; i < result.Images.Count; i++)
        {
            byte[] bytes = writer.Write(result, i, service.Model.Id, format, quality, save: false).Bytes;
            string? revised = style is null ? null : prompt;
            data.Add(url
                ? new OpenAiImageData(null, $"{baseUrl}{FilesPath}/{store.Add(bytes, ImageOutput.ContentType(format), ImageOutput.Name(format))}", revised)
                : new OpenAiImageData(Convert.ToBase64String(bytes), null, revised));
        }
        var response = new OpenAiImagesResponse(DateTimeOffset.UtcNow.ToUnixTimeSeconds(), data, "opaque", ImageOutput.Name(format),
            OpenAiImageParameters.QualityName(request.Quality), $"{result.Width}x{result.Height}");
        return Results.Json(response, OpenAiJson.Options);
    }

    /// <summary>
    /// Reads the multipart form; a body that is not a readable form (wrong Content-Type, no closing boundary, a broken
    /// section) is 415/400 naming the body. A client that went away mid-upload is not an error of the request.
    /// </summary>
    private static async Task<IFormCollection> ReadFormAsync(HttpRequest request, CancellationToken ct)
    {
        if (!request.HasFormContentType)
        {
            throw new ApiException(415, "unsupported_media_type", $"Send the edit as multipart/form-data (got {request.ContentType ?? "no Content-Type"}).");
        }
        try
        {
            return await request.ReadFormAsync(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or InvalidDataException && e is not BadHttpRequestException && !ct.IsCancellationRequested)
        {
            throw new InvalidRequestException("body", $"The multipart form could not be read: {e.Message}");
        }
    }

    private static string? Text(IFormCollection form, string name) =>
        form.TryGetValue(name, out var values) && values.Count > 0 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;

    private static long? Integer(IFormCollection form, string name) => Text(form, name) is { } text
        ? long.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long value)
            ? value
            : throw new InvalidRequestException(name, $"{name} must be an integer (got '{text}').")
        : null;

    private static float? Number(IFormCollection form, string name) => Text(form, name) is { } text
        ? float.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out float value)
            ? value
            : throw new InvalidRequestException(name, $"{name} must be a number (got '{text}').")
        : null;
}

/// <summary>The multipart fields of <c>POST /v1/images/edits</c> (documentation type for the OpenAPI document).</summary>
public sealed class OpenAiImageEditForm
{
    [System.Text.Json.Serialization.JsonPropertyName("image")]
    public IFormFile? Image { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("prompt")]
    public string? Prompt { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("model")]
    public string? Model { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("n")]
    public int? N { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("size")]
    public string? Size { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("response_format")]
    public string? ResponseFormat { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("output_format")]
    public string? OutputFormat { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("output_compression")]
    public int? OutputCompression { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("quality")]
    public string? Quality { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("strength")]
    public float? Strength { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("seed")]
    public long? Seed { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("user")]
    public string? User { get; set; }
}
