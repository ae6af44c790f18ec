using System.ClientModel;
using OpenAI;
using OpenAI.Images;
using TurboGen.Imaging;

namespace TurboGen.Server.Tests;

/// <summary>The official OpenAI .NET SDK, unchanged, against a local TurboGen server.</summary>
public sealed class OpenAiSdkTests(ApiServerFixture fixture) : IClassFixture<ApiServerFixture>
{
    private ImageClient Client(string model = "dall-e-3") =>
        new(model, new ApiKeyCredential("any-key"), new OpenAIClientOptions { Endpoint = new Uri(fixture.Server.BaseAddress, "/v1") });

    [Fact]
    public async Task GenerateImage_Base64_ReturnsAPngOfTheRequestedSize_WithMetadata()
    {
        var result = await Client("gpt-image-1").GenerateImageAsync("a red cube", new ImageGenerationOptions
        {
            Size = new GeneratedImageSize(64, 64),
            ResponseFormat = GeneratedImageFormat.Bytes,
        });
        byte[] png = result.Value.ImageBytes.ToArray();
        Assert.Equal((64, 64, "png"), ImageCodec.Probe(png));
        var chunks = PngText.ReadTextChunks(png);
        Assert.StartsWith("a red cube\n", chunks[PngText.ParametersKey]);
        Assert.Contains("Size: 64x64", chunks[PngText.ParametersKey]);
        Assert.Null(result.Value.ImageUri);
    }

    [Fact]
    public async Task GenerateImages_Url_ServesEachImageFromTheServer()
    {
        var result = await Client().GenerateImagesAsync("two blue spheres", 2, new ImageGenerationOptions
        {
            Size = new GeneratedImageSize(64, 64),
            ResponseFormat = GeneratedImageFormat.Uri,
        });
        Assert.Equal(2, result.Value.Count);
        var hashes = new HashSet<string>();
        foreach (var image in result.Value)
        {
            Assert.NotNull(image.ImageUri);
            Assert.StartsWith(fixture.Server.BaseAddress + "v1/files/images/", image.ImageUri.ToString());
            byte[] bytes = await fixture.Server.Http.GetByteArrayAsync(image.ImageUri);
            Assert.Equal((64, 64, "png"), ImageCodec.Probe(bytes));
            hashes.Add(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes)));
        }
        Assert.Equal(2, hashes.Count);
    }

    [Fact]
    public async Task GenerateImageEdit_RunsImageToImage_OnTheUploadedImage()
    {
        using var image = new MemoryStream(ApiTestHelpers.Png(96, 64));
        var result = await Client("dall-e-2").GenerateImageEditAsync(image, "input.png", "make it blue", new ImageEditOptions
        {
            Size = new GeneratedImageSize(64, 64),
            ResponseFormat = GeneratedImageFormat.Bytes,
        });
        byte[] png = result.Value.ImageBytes.ToArray();
        Assert.Equal((64, 64, "png"), ImageCodec.Probe(png));
        Assert.Contains("Denoising strength: 0.5", PngText.ReadTextChunks(png)[PngText.ParametersKey]);
    }

    [Fact]
    public async Task InvalidSize_SurfacesAsClientResultException_WithStatusAndMessage()
    {
        var e = await Assert.ThrowsAsync<ClientResultException>(() => Client().GenerateImageAsync("x", new ImageGenerationOptions
        {
            Size = new GeneratedImageSize(100, 64),
            ResponseFormat = GeneratedImageFormat.Bytes,
        }));
        Assert.Equal(400, e.Status);
        Assert.Contains("multiple of 8", e.Message);
    }

    [Fact]
    public async Task UnknownModel_Is404_ModelNotFound()
    {
        var e = await Assert.ThrowsAsync<ClientResultException>(() => Client("some-other-model").GenerateImageAsync("x", new ImageGenerationOptions
        {
            Size = new GeneratedImageSize(64, 64),
        }));
        Assert.Equal(404, e.Status);
        Assert.Contains("model_not_found", e.GetRawResponse()!.Content.ToString());
    }
}
