using System.Net;
using System.Text.Json;
using SkiaSharp;
using TurboGen.Imaging;
using static TurboGen.Server.Tests.ApiTestHelpers;

namespace TurboGen.Server.Tests;

/// <summary>Inpainting through the three HTTP APIs on the tiny model (a 4-channel UNet: latent blending).</summary>
public sealed class InpaintApiTests(ApiServerFixture fixture) : IClassFixture<ApiServerFixture>
{
    private const int Side = 64;
    private HttpClient Http => fixture.Server.Http;

    /// <summary>A grey-level mask PNG: white (repaint) where <paramref name="repaint"/> holds.</summary>
    private static byte[] GreyMask(int side, Func<int, int, bool> repaint)
    {
        var pixels = new byte[side * side * 3];
        for (int p = 0; p < side * side; p++)
        {
            if (repaint(p % side, p / side)) pixels[3 * p] = pixels[3 * p + 1] = pixels[3 * p + 2] = 255;
        }
        return ImageCodec.EncodePng(new RgbImage(side, side, pixels));
    }

    /// <summary>An RGBA PNG, opaque black except fully transparent where <paramref name="edit"/> holds (OpenAI's mask).</summary>
    private static byte[] AlphaMask(int side, Func<int, int, bool> edit)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++)
                bitmap.SetPixel(x, y, edit(x, y) ? SKColors.Transparent : SKColors.Black);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static double MeanAbsDiff(RgbImage a, RgbImage b, int fromX, int toX)
    {
        double sum = 0;
        int n = 0;
        for (int y = 0; y < a.Height; y++)
            for (int x = fromX; x < toX; x++)
                for (int c = 0; c < 3; c++, n++) sum += Math.Abs(a.Pixels[3 * (y * a.Width + x) + c] - b.Pixels[3 * (y * b.Width + x) + c]);
        return sum / n;
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> EditAsync(byte[] image, byte[]? mask, string seed = "9")
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent("a red door"), "prompt" },
            { new ByteArrayContent(image), "image", "a.png" },
            { new StringContent("b64_json"), "response_format" },
            { new StringContent(seed), "seed" },
            { new StringContent("64x64"), "size" },
        };
        if (mask is not null) form.Add(new ByteArrayContent(mask), "mask", "m.png");
        var response = await Http.PostAsync("/v1/images/edits", form);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement);
    }

    [Fact]
    public async Task OpenAiEdit_RepaintsOnlyTheTransparentArea()
    {
        var init = ImageCodec.Decode(Png(Side, Side));
        var (leftStatus, left) = await EditAsync(Png(Side, Side), AlphaMask(Side, (x, _) => x < Side / 2));
        var (rightStatus, right) = await EditAsync(Png(Side, Side), AlphaMask(Side, (x, _) => x >= Side / 2));
        Assert.Equal(HttpStatusCode.OK, leftStatus);
        Assert.Equal(HttpStatusCode.OK, rightStatus);
        var a = ImageCodec.Decode(Convert.FromBase64String(left.GetProperty("data")[0].GetProperty("b64_json").GetString()!));
        var b = ImageCodec.Decode(Convert.FromBase64String(right.GetProperty("data")[0].GetProperty("b64_json").GetString()!));
        Assert.Equal((Side, Side), (a.Width, a.Height));
        // Each result stays closer to the init image on the side its mask keeps than the other result does there.
        Assert.True(MeanAbsDiff(a, init, 48, 64) < MeanAbsDiff(b, init, 48, 64), "the left-mask edit should keep the right side");
        Assert.True(MeanAbsDiff(b, init, 0, 16) < MeanAbsDiff(a, init, 0, 16), "the right-mask edit should keep the left side");
    }

    [Fact]
    public async Task OpenAiEdit_BadMasks_Are400NamingMask()
    {
        var (status, body) = await EditAsync(Png(Side, Side), AlphaMask(32, (x, _) => x < 16));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("mask", body.GetProperty("error").GetProperty("param").GetString());
        Assert.Contains("32x32", body.GetProperty("error").GetProperty("message").GetString());

        (status, body) = await EditAsync(Png(Side, Side), [1, 2, 3]);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("mask", body.GetProperty("error").GetProperty("param").GetString());

        using var asText = new MultipartFormDataContent
        {
            { new StringContent("x"), "prompt" },
            { new ByteArrayContent(Png(Side, Side)), "image", "a.png" },
            { new StringContent("not a file"), "mask" },
        };
        var response = await Http.PostAsync("/v1/images/edits", asText);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("\"mask\"", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A1111Img2Img_WithMaskBlur_KeepsThePixelsBeyondTheBlurExactly()
    {
        string init = Convert.ToBase64String(Png(Side, Side));
        string mask = Convert.ToBase64String(GreyMask(Side, (x, _) => x < 24));
        var (status, body, _) = await PostJsonAsync(Http, "/sdapi/v1/img2img", $$"""
            {"prompt": "a red door", "width": 64, "height": 64, "seed": 3, "denoising_strength": 0.9, "init_images": ["{{init}}"],
             "mask": "{{mask}}", "mask_blur": 2, "inpainting_fill": 1, "inpaint_full_res": false, "latent_mask": "{{mask}}"}
            """);
        Assert.Equal(200, status);
        var image = ImageCodec.Decode(Convert.FromBase64String(body.GetProperty("images")[0].GetString()!));
        var original = ImageCodec.Decode(Png(Side, Side));
        Assert.Equal(0.0, MeanAbsDiff(image, original, 40, 64));
        Assert.True(MeanAbsDiff(image, original, 0, 16) > 1, "the masked side should be repainted");
        var info = JsonDocument.Parse(body.GetProperty("info").GetString()!).RootElement;
        var ignored = info.GetProperty("turbogen_ignored");
        Assert.False(ignored.TryGetProperty("mask", out _));
        Assert.True(ignored.TryGetProperty("latent_mask", out _));

        // Full resolution with padding, inverted, A1111's default fill (0): the result has the init image's size.
        var (fullStatus, full, _) = await PostJsonAsync(Http, "/sdapi/v1/img2img", $$"""
            {"prompt": "a red door", "width": 64, "height": 64, "seed": 3, "init_images": ["{{init}}"], "mask": "{{mask}}",
             "mask_blur": 0, "inpaint_full_res": true, "inpaint_full_res_padding": 4, "inpainting_mask_invert": 1}
            """);
        Assert.Equal(200, fullStatus);
        var pasted = ImageCodec.Decode(Convert.FromBase64String(full.GetProperty("images")[0].GetString()!));
        Assert.Equal((Side, Side), (pasted.Width, pasted.Height));
        Assert.Equal(0.0, MeanAbsDiff(pasted, original, 0, 24));   // inverted: the white part is kept
    }

    [Theory]
    [InlineData("\"mask_size\": 32", "mask")]
    [InlineData("\"inpainting_fill\": 7", "inpainting_fill")]
    [InlineData("\"mask_blur\": 100", "mask_blur")]
    [InlineData("\"inpainting_mask_invert\": 2", "inpainting_mask_invert")]
    public async Task A1111Img2Img_BadInpaintingFields_Are422(string field, string expected)
    {
        int maskSide = field.Contains("mask_size", StringComparison.Ordinal) ? 32 : Side;
        string extra = field.Contains("mask_size", StringComparison.Ordinal) ? "" : ", " + field;
        string json = $$"""
            {"prompt": "x", "width": 64, "height": 64, "init_images": ["{{Convert.ToBase64String(Png(Side, Side))}}"],
             "mask": "{{Convert.ToBase64String(GreyMask(maskSide, (x, _) => x < 8))}}"{{extra}}}
            """;
        var (status, body, _) = await PostJsonAsync(Http, "/sdapi/v1/img2img", json);
        Assert.Equal(422, status);
        Assert.Equal(expected, body.GetProperty("detail")[0].GetProperty("loc")[1].GetString());
    }

    [Fact]
    public async Task Native_Mask_IsInpaintMode_AndBadMasksAre400()
    {
        string init = Convert.ToBase64String(Png(Side, Side));
        string mask = Convert.ToBase64String(GreyMask(Side, (x, _) => x < 24));
        var (status, body, _) = await PostJsonAsync(Http, "/api/generate", $$"""
            {"prompt": "a red door", "width": 64, "height": 64, "seed": 3, "strength": 0.9, "init_image": "{{init}}", "mask": "{{mask}}",
             "mask_blur": 2, "inpainting_fill": "latent_noise"}
            """);
        Assert.Equal(200, status);
        Assert.Equal("inpaint", body.GetProperty("mode").GetString());
        Assert.Contains(body.GetProperty("timings").GetProperty("stages").EnumerateArray(), s => s.GetProperty("stage").GetString() == "inpaint.prepare");
        var image = ImageCodec.Decode(Convert.FromBase64String(body.GetProperty("images")[0].GetProperty("data").GetString()!));
        Assert.Equal(0.0, MeanAbsDiff(image, ImageCodec.Decode(Png(Side, Side)), 40, 64));

        foreach (var (json, field) in new[]
                 {
                     ($$"""{"prompt": "x", "width": 64, "height": 64, "init_image": "{{init}}", "mask": "{{Convert.ToBase64String(GreyMask(32, (x, _) => x < 8))}}"}""", "mask"),
                     ($$"""{"prompt": "x", "width": 64, "height": 64, "mask": "{{mask}}"}""", "mask"),
                     ($$"""{"prompt": "x", "width": 64, "height": 64, "init_image": "{{init}}", "mask": "{{mask}}", "inpainting_fill": "paint"}""", "inpainting_fill"),
                 })
        {
            var (badStatus, error, _) = await PostJsonAsync(Http, "/api/generate", json);
            Assert.Equal(400, badStatus);
            Assert.Contains(field, error.GetRawText());
        }
    }
}
