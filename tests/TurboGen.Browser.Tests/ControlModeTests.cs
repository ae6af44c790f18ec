using Microsoft.Playwright;
using TurboGen.Imaging;
using static Microsoft.Playwright.Assertions;

namespace TurboGen.Browser.Tests;

/// <summary>
/// Issue 15 control modes on the control server (<see cref="BrowserFixture.ControlServerAsync"/>: a tiny ControlNet under two
/// names and the tiny ESRGAN ×4): sketch → ControlNet, photo outlines (canny), the repaint brush and upscaling, at desktop and
/// phone sizes, with screenshots; and axe over each. The frame header says which ControlNet and whether a mask was used:
/// the server fills it from the request it actually ran, and the engine's own stage timings confirm it.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class ControlModeTests(BrowserFixture fixture)
{
    private async Task<IPage> OpenAsync(int width, int height) => await fixture.OpenAppAsync(width, height, server: await fixture.ControlServerAsync());

    /// <summary>A stroke from (x0, y0) to (x1, y1), in fractions of the element's box.</summary>
    private static async Task StrokeAsync(IPage page, string selector, double x0, double y0, double x1, double y1)
    {
        var box = (await page.Locator(selector).BoundingBoxAsync())!;
        await page.Mouse.MoveAsync((float)(box.X + x0 * box.Width), (float)(box.Y + y0 * box.Height));
        await page.Mouse.DownAsync();
        for (int i = 1; i <= 12; i++)
        {
            await page.Mouse.MoveAsync((float)(box.X + (x0 + (x1 - x0) * i / 12) * box.Width), (float)(box.Y + (y0 + (y1 - y0) * i / 12) * box.Height));
            await page.WaitForTimeoutAsync(15);
        }
        await page.Mouse.UpAsync();
    }

    private static async Task ShowStageAsync(IPage page, int width)
    {
        if (width < 900) await Studio.ScrollToStageAsync(page);
    }

    [Theory]
    [InlineData(1280, 800)]
    [InlineData(390, 844)]
    public async Task Sketch_DrivesTheControlNet_WhenTheServerHasOne(int width, int height)
    {
        var page = await OpenAsync(width, height);
        await page.Locator("#prompt").FillAsync("a castle on a hill");
        await Studio.SetModeAsync(page, "sketch");
        // The drawing guides the ControlNet whose name says it is for drawings; the image-to-image choice stays offered.
        await Expect(page.Locator("#sketch-guide")).ToHaveValueAsync(BrowserFixture.ScribbleControlNet);
        await Expect(page.Locator("#sketch-follow")).ToBeVisibleAsync();
        await Expect(page.Locator("#sketch-strength")).ToBeHiddenAsync();
        long before = await page.EvaluateAsync<long>("() => window.turbogen.state.requestId");
        await ShowStageAsync(page, width);
        await Studio.DrawAsync(page);
        var frame = page.Locator("#frame");
        await page.WaitForFunctionAsync($"() => Number(document.getElementById('frame').dataset.requestId) > {before}");
        await Expect(frame).ToHaveAttributeAsync("data-controls", $"scribble:{BrowserFixture.ScribbleControlNet}");
        await Expect(frame).ToHaveAttributeAsync("data-image-to-image", "false");
        await Expect(page.Locator("#frame-info")).ToContainTextAsync("following the outlines");
        await ShowStageAsync(page, width);
        await Studio.AssertWhollyVisibleAsync(page, page.Locator("#sketch"), "the drawing surface");
        await Studio.AssertWholePictureAsync(page, 1.0);
        await BrowserFixture.ScreenshotAsync(page, $"sketch-controlnet-{width}x{height}.png", fullPage: false);

        // "The starting picture" switches the same drawing back to image-to-image.
        await page.Locator("#sketch-guide").SelectOptionAsync("");
        await Expect(frame).ToHaveAttributeAsync("data-image-to-image", "true");
        await Expect(frame).ToHaveAttributeAsync("data-controls", "");
        await AccessibilityTests.AssertNoSeriousViolationsAsync(page, "sketch mode with a ControlNet");
        await fixture.CloseAsync(page);
    }

    [Fact]
    public async Task WithoutAControlNet_SketchIsImageToImage_AndPhotoOutlinesIsUnavailable()
    {
        var page = await fixture.OpenAppAsync();
        await Expect(page.Locator("#modes input[value=outlines]")).ToBeDisabledAsync();
        await page.Locator("#prompt").FillAsync("a boat");
        await Studio.SetModeAsync(page, "sketch");
        await Expect(page.Locator("#sketch-guide-label")).ToBeHiddenAsync();
        await Studio.DrawAsync(page);
        await Expect(page.Locator("#frame")).ToHaveAttributeAsync("data-image-to-image", "true");
        await Expect(page.Locator("#frame")).ToHaveAttributeAsync("data-controls", "");
        await fixture.CloseAsync(page);
    }

    [Theory]
    [InlineData(1280, 800)]
    [InlineData(390, 844)]
    public async Task PhotoOutlines_UploadedPhoto_GuidesThePictureThroughCanny(int width, int height)
    {
        var page = await OpenAsync(width, height);
        await Expect(page.Locator("#modes input[value=outlines]")).ToBeEnabledAsync();
        await page.Locator("#prompt").FillAsync("a stained glass window");
        await Studio.SetModeAsync(page, "outlines");
        await Expect(page.Locator("#outlines-model")).ToHaveValueAsync(BrowserFixture.CannyControlNet);
        await Expect(page.Locator("#outlines-idle")).ToBeVisibleAsync();
        var pixels = new byte[96 * 64 * 3];
        for (int i = 0; i < 96 * 64; i++) pixels[3 * i] = pixels[3 * i + 1] = pixels[3 * i + 2] = (byte)((i % 96 / 12 + i / 96 / 12) % 2 == 0 ? 235 : 20);
        await page.Locator("#outlines-upload").SetInputFilesAsync(new FilePayload
        {
            Name = "checkerboard.png", MimeType = "image/png", Buffer = ImageCodec.EncodePng(new RgbImage(96, 64, pixels)),
        });
        var frame = page.Locator("#frame");
        await Expect(frame).ToHaveAttributeAsync("data-controls", $"canny:{BrowserFixture.CannyControlNet}");
        await Expect(page.Locator("#outlines-photo")).ToBeVisibleAsync();
        // The sliders are live: a new request, still guided.
        long shown = await Studio.ShownRequestIdAsync(page);
        await page.Locator("#outlines-detail").FillAsync("60");
        await page.WaitForFunctionAsync($"() => Number(document.getElementById('frame').dataset.requestId) > {shown}");
        await Expect(frame).ToHaveAttributeAsync("data-controls", $"canny:{BrowserFixture.CannyControlNet}");
        await ShowStageAsync(page, width);
        await Studio.AssertWholePictureAsync(page, 1.0);
        await BrowserFixture.ScreenshotAsync(page, $"outlines-{width}x{height}.png", fullPage: false);
        await AccessibilityTests.AssertNoSeriousViolationsAsync(page, "photo outlines mode");
        await fixture.CloseAsync(page);
    }

    /// <summary>Mean absolute difference (0–255) between the picture on screen and <c>window.before</c>, in a box of fractions.</summary>
    private const string DifferenceScript = """
        ([x0, y0, x1, y1]) => {
          const img = document.getElementById('frame');
          const c = document.createElement('canvas');
          c.width = img.naturalWidth; c.height = img.naturalHeight;
          const ctx = c.getContext('2d');
          ctx.drawImage(img, 0, 0);
          const now = ctx.getImageData(0, 0, c.width, c.height).data, before = window.before;
          let sum = 0, n = 0;
          for (let y = Math.round(y0 * c.height); y < Math.round(y1 * c.height); y++)
            for (let x = Math.round(x0 * c.width); x < Math.round(x1 * c.width); x++)
              for (let k = 0; k < 3; k++, n++) sum += Math.abs(now[4 * (y * c.width + x) + k] - before[4 * (y * c.width + x) + k]);
          return sum / n;
        }
        """;

    /// <summary>
    /// The same difference for <c>window.before</c> itself after the two JPEG encodings a kept pixel goes through (the browser's
    /// base at quality 0.95, the server's frame at 88): what "unchanged" measures on this noisy tiny-model picture.
    /// </summary>
    private const string JpegBaselineScript = """
        async ([x0, y0, x1, y1]) => {
          const img = document.getElementById('frame');
          const w = img.naturalWidth, h = img.naturalHeight;
          const c = document.createElement('canvas');
          c.width = w; c.height = h;
          const ctx = c.getContext('2d');
          ctx.putImageData(new ImageData(new Uint8ClampedArray(window.before), w, h), 0, 0);
          for (const q of [0.95, 0.88]) {
            const bitmap = await createImageBitmap(await (await fetch(c.toDataURL('image/jpeg', q))).blob());
            ctx.drawImage(bitmap, 0, 0);
          }
          const now = ctx.getImageData(0, 0, w, h).data, before = window.before;
          let sum = 0, n = 0;
          for (let y = Math.round(y0 * h); y < Math.round(y1 * h); y++)
            for (let x = Math.round(x0 * w); x < Math.round(x1 * w); x++)
              for (let k = 0; k < 3; k++, n++) sum += Math.abs(now[4 * (y * w + x) + k] - before[4 * (y * w + x) + k]);
          return sum / n;
        }
        """;

    [Theory]
    [InlineData(1280, 800)]
    [InlineData(390, 844)]
    public async Task RepaintBrush_RedrawsOnlyThePaintedPart_Live(int width, int height)
    {
        var page = await OpenAsync(width, height);
        await Studio.TypeAndWaitAsync(page, "a green meadow");
        await page.EvaluateAsync("""
            () => {
              const img = document.getElementById('frame'), c = document.createElement('canvas');
              c.width = img.naturalWidth; c.height = img.naturalHeight;
              const ctx = c.getContext('2d');
              ctx.drawImage(img, 0, 0);
              window.before = ctx.getImageData(0, 0, c.width, c.height).data;
            }
            """);
        await Studio.SetModeAsync(page, "inpaint");
        await Expect(page.Locator("#inpaint-canvas")).ToBeVisibleAsync();
        await page.Locator("#mask-size").FillAsync("60");
        await ShowStageAsync(page, width);
        // A thick vertical stroke down the left quarter: the mask.
        await StrokeAsync(page, "#inpaint-canvas", 0.25, 0.2, 0.25, 0.8);
        await Expect(page.Locator("#inpaint-canvas")).ToHaveAttributeAsync("data-painted", "true");
        var frame = page.Locator("#frame");
        await Expect(frame).ToHaveAttributeAsync("data-inpaint", "true");
        await Expect(frame).ToHaveAttributeAsync("data-kind", "refined");
        await Expect(page.Locator("#frame-info")).ToContainTextAsync("only the painted part redrawn");
        double outside = await page.EvaluateAsync<double>(DifferenceScript, new[] { 0.6, 0.0, 1.0, 1.0 });
        double inside = await page.EvaluateAsync<double>(DifferenceScript, new[] { 0.23, 0.35, 0.27, 0.65 });
        double jpeg = await page.EvaluateAsync<double>(JpegBaselineScript, new[] { 0.6, 0.0, 1.0, 1.0 });
        Console.WriteLine($"inpaint {width}: outside {outside:F2} inside {inside:F2} jpeg alone {jpeg:F2}");
        Assert.True(outside < 1.5 * jpeg + 2, $"outside the painted part the picture changed by {outside:F1} on average (two JPEG encodings alone: {jpeg:F1})");
        Assert.True(inside > outside + 10, $"the painted part changed by only {inside:F1} (outside: {outside:F1})");

        // Typing redraws the painted part again, live, from the same base picture.
        long shown = await Studio.ShownRequestIdAsync(page);
        await page.Locator("#prompt").FillAsync("a green meadow with a red barn");
        await page.WaitForFunctionAsync($"() => Number(document.getElementById('frame').dataset.requestId) > {shown} && document.getElementById('frame').dataset.inpaint === 'true'");
        await Expect(frame).ToHaveAttributeAsync("data-kind", "refined");
        Assert.True(await page.EvaluateAsync<double>(DifferenceScript, new[] { 0.6, 0.0, 1.0, 1.0 }) < 1.5 * jpeg + 2, "typing changed the picture outside the painted part");
        await ShowStageAsync(page, width);
        await Studio.AssertWhollyVisibleAsync(page, page.Locator("#inpaint-canvas"), "the repaint surface");
        await Studio.AssertWholePictureAsync(page, 1.0);
        await BrowserFixture.ScreenshotAsync(page, $"inpaint-{width}x{height}.png", fullPage: false);
        await AccessibilityTests.AssertNoSeriousViolationsAsync(page, "repaint mode");
        await fixture.CloseAsync(page);
    }

    [Theory]
    [InlineData(1280, 800)]
    [InlineData(390, 844)]
    public async Task UpscaleButtons_ShowProgress_AndAnImageTwiceOrFourTimesAsLarge_KeptInTheHistory(int width, int height)
    {
        var page = await OpenAsync(width, height);
        await Expect(page.Locator(".upscale-btn[data-scale='2']")).ToBeDisabledAsync();
        await Studio.TypeAndWaitAsync(page, "a mountain lake");
        // Records every state of the progress bar: shown, and each value of a determinate bar (the server's tile progress).
        await page.EvaluateAsync("""
            () => {
              window.sawProgress = 0;
              window.barValues = [];
              const bar = document.getElementById('upscale-progress');
              new MutationObserver((records) => {
                for (const r of records) {
                  if (r.attributeName === 'hidden' && !bar.hidden) window.sawProgress++;
                  if (r.attributeName === 'value' && bar.hasAttribute('value')) window.barValues.push(`${bar.value}/${bar.max}`);
                }
              }).observe(bar, { attributes: true, attributeFilter: ['hidden', 'value'] });
            }
            """);
        foreach (int scale in new[] { 2, 4 })
        {
            int before = await page.EvaluateAsync<int>("() => window.sawProgress");
            await page.EvaluateAsync("() => { window.barValues = []; }");
            await page.Locator($".upscale-btn[data-scale='{scale}']").ClickAsync();
            var result = page.Locator("#upscale-result");
            await Expect(result).ToHaveAttributeAsync("data-width", (256 * scale).ToString(System.Globalization.CultureInfo.InvariantCulture),
                new() { Timeout = 60_000 });
            await Expect(result).ToBeVisibleAsync();
            Assert.Equal(256 * scale, await page.EvaluateAsync<int>("() => document.getElementById('upscale-result').naturalWidth"));
            Assert.Equal(256 * scale, await page.EvaluateAsync<int>("() => document.getElementById('upscale-result').naturalHeight"));
            Assert.True(await page.EvaluateAsync<int>("() => window.sawProgress") > before, "no progress was shown");
            // The bar was determinate and moved one tile at a time up to the tile count (the 256-pixel picture in 192-pixel tiles: 2 × 2).
            var values = await page.EvaluateAsync<string[]>("() => window.barValues");
            Assert.Equal(Enumerable.Range(1, 4).Select(i => $"{i}/4"), values);
            await Expect(page.Locator("#upscale-status")).ToContainTextAsync($"{256 * scale} × {256 * scale}");
            await Expect(page.Locator("#upscale-download")).ToHaveAttributeAsync("download", $"turbogen-upscaled-{256 * scale}x{256 * scale}.png");
            await Expect(page.Locator("#upscale-progress")).ToBeHiddenAsync();

            // The result is kept in this browser's history, marked as an upscale with its size and its source's, and opens and downloads from there.
            await Expect(page.Locator("#upscale-status")).ToContainTextAsync("kept in your pictures");
            var entry = page.Locator("#history li").First;
            await Expect(entry).ToHaveAttributeAsync("data-upscale", $"{256 * scale}x{256 * scale}");
            await Expect(entry.Locator(".used summary")).ToHaveTextAsync($"Upscaled ×{scale} · {256 * scale}×{256 * scale}");
            await Expect(entry.Locator("img")).ToHaveAttributeAsync("alt", $"Kept picture, upscaled from 256×256 to {256 * scale}×{256 * scale}");
            var download = entry.Locator("a", new() { HasText = "Download" });
            Assert.EndsWith("?download=true", await download.GetAttributeAsync("href"));
            Assert.Equal(256 * scale, await download.EvaluateAsync<int>("async (a) => (await createImageBitmap(await (await fetch(a.href)).blob())).width"));
        }
        await Expect(page.Locator("#history li[data-upscale]")).ToHaveCountAsync(2);
        await page.Locator("#history li").First.Locator(".used summary").ClickAsync();
        await Expect(page.Locator("#history li").First.Locator(".used p")).ToContainTextAsync("Upscaled from 256×256 to 1024×1024");
        await Expect(page.Locator("#upscale-status")).ToContainTextAsync("RealESRGAN_x4plus_tiny");
        await BrowserFixture.ScreenshotAsync(page, $"upscale-{width}x{height}.png", fullPage: false);
        await AccessibilityTests.AssertNoSeriousViolationsAsync(page, "upscale card");
        await page.Locator("#upscale-close").ClickAsync();
        await Expect(page.Locator("#upscale-panel")).ToBeHiddenAsync();
        await fixture.CloseAsync(page);
    }
}
