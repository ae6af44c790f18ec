using System.Text.RegularExpressions;
using static Microsoft.Playwright.Assertions;

namespace TurboGen.Browser.Tests;

/// <summary>Issue 15 camera mode, with Chromium's fake camera (a moving test pattern, see <see cref="BrowserFixture"/>).</summary>
[Collection(BrowserCollection.Name)]
public sealed class CameraTests(BrowserFixture fixture)
{
    [Theory]
    [InlineData(1280, 800)]
    [InlineData(390, 844)]
    public async Task CameraFrames_BecomeTheStartingPicture_InRealTime(int width, int height)
    {
        var page = await fixture.OpenAppAsync(width, height);
        await page.Locator("#prompt").FillAsync("an oil painting");
        await Studio.SetModeAsync(page, "camera");
        await page.Locator("#camera-toggle").ClickAsync();
        await Expect(page.Locator("#camera-toggle")).ToHaveAttributeAsync("aria-pressed", "true");
        await page.WaitForFunctionAsync("() => document.getElementById('camera-video').videoWidth > 0");

        // Pictures follow the camera: image-to-image frames for ever newer requests, and the readout counts them.
        var frame = page.Locator("#frame");
        await Expect(frame).ToHaveAttributeAsync("data-image-to-image", "true");
        long first = await Studio.ShownRequestIdAsync(page);
        await page.WaitForFunctionAsync($"() => Number(document.getElementById('frame').dataset.requestId) >= {first + 3}");
        await Expect(page.Locator("#camera-fps")).ToHaveTextAsync(new Regex(@"pictures [1-9]\d*\.\d/s|pictures 0\.[1-9]/s"));
        if (width < 900) await Studio.ScrollToStageAsync(page);
        await Studio.AssertWhollyVisibleAsync(page, page.Locator("#camera-video"), "the camera preview");
        await Studio.AssertWholePictureAsync(page, 1.0);
        await BrowserFixture.ScreenshotAsync(page, $"camera-{width}x{height}.png", fullPage: false);

        // Stopping the camera stops the stream; leaving the mode releases it too.
        await page.Locator("#camera-toggle").ClickAsync();
        await Expect(page.Locator("#camera-fps")).ToHaveTextAsync("Camera off");
        Assert.True(await page.EvaluateAsync<bool>("() => document.getElementById('camera-video').srcObject === null"));
        await fixture.CloseAsync(page);
    }

    [Fact]
    public async Task CameraFrames_CanGuideAControlNet_AsOutlines()
    {
        var page = await fixture.OpenAppAsync(server: await fixture.ControlServerAsync());
        await page.Locator("#prompt").FillAsync("a pencil drawing");
        await Studio.SetModeAsync(page, "camera");
        // The starting picture stays the default; the server's ControlNets are offered as outlines (canny).
        await Expect(page.Locator("#camera-guide")).ToHaveValueAsync("");
        await page.Locator("#camera-guide").SelectOptionAsync(BrowserFixture.CannyControlNet);
        await page.Locator("#camera-toggle").ClickAsync();
        var frame = page.Locator("#frame");
        await Expect(frame).ToHaveAttributeAsync("data-controls", $"canny:{BrowserFixture.CannyControlNet}");
        await Expect(frame).ToHaveAttributeAsync("data-image-to-image", "false");
        long first = await Studio.ShownRequestIdAsync(page);
        await page.WaitForFunctionAsync($"() => Number(document.getElementById('frame').dataset.requestId) >= {first + 2}");
        await Expect(frame).ToHaveAttributeAsync("data-controls", $"canny:{BrowserFixture.CannyControlNet}");
        await BrowserFixture.ScreenshotAsync(page, "camera-controlnet-1280x900.png", fullPage: false);
        await page.Locator("#camera-toggle").ClickAsync();
        await fixture.CloseAsync(page);
    }

    [Fact]
    public async Task TheSimilarityFilter_SkipsNearIdenticalFrames()
    {
        var page = await fixture.OpenAppAsync();
        var result = await page.EvaluateAsync<double[]>("""
            async () => {
              const { frameDifference, SimilarityFilter } = await import('/modes/camera.js');
              const a = new Uint8Array(768).fill(100), b = a.slice(), c = a.slice();
              b[0] = 110;                    // one pixel a little brighter: near-identical
              c.fill(160, 0, 384);           // half the picture changed
              const f = new SimilarityFilter(0.02);
              const first = f.changed(a) ? 1 : 0; f.sent(a);
              return [frameDifference(a, a), frameDifference(a, b), frameDifference(a, c), first, f.changed(b) ? 1 : 0, f.changed(c) ? 1 : 0];
            }
            """);
        Assert.Equal(0, result[0]);
        Assert.Equal(10.0 / (768 * 255), result[1], 1e-9);
        Assert.Equal(60.0 * 384 / (768 * 255), result[2], 1e-9);
        Assert.Equal([1.0, 0.0, 1.0], result[3..]);

        // With the threshold at its highest, most frames of the (slowly changing) fake camera are skipped as still.
        await page.Locator("#prompt").FillAsync("a still life");
        await Studio.SetModeAsync(page, "camera");
        await page.Locator("#camera-threshold").FillAsync("0.1");
        await page.Locator("#camera-toggle").ClickAsync();
        await page.WaitForFunctionAsync("() => Number(document.getElementById('camera-fps').dataset.skipped ?? 0) > 3");
        await fixture.CloseAsync(page);
    }
}
