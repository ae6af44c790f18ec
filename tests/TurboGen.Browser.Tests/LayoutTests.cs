using static Microsoft.Playwright.Assertions;

namespace TurboGen.Browser.Tests;

/// <summary>Issue 15.1–15.2: the picture is always whole; drawing happens beside (or, on phones, under) the picture.</summary>
[Collection(BrowserCollection.Name)]
public sealed class LayoutTests(BrowserFixture fixture)
{
    [Theory]
    [MemberData(nameof(BrowserFixture.Viewports), MemberType = typeof(BrowserFixture))]
    public async Task ThePictureIsShownWhole_SquareAndPortrait(int width, int height)
    {
        var page = await fixture.OpenAppAsync(width, height);
        // The empty state offers examples in plain words.
        await Expect(page.Locator("#frame-empty .example")).ToHaveCountAsync(4);
        await Studio.TypeAndWaitAsync(page, "a red fox in the snow");
        await Studio.AssertWholePictureAsync(page, 1.0);
        await Expect(page.Locator("#frame-info")).ToContainTextAsync("Full quality");
        await BrowserFixture.ScreenshotAsync(page, $"prompt-{width}x{height}.png", fullPage: false);

        await page.SelectOptionAsync("#size", "512x768");
        await Expect(page.Locator("#frame")).ToHaveAttributeAsync("data-kind", "refined");
        await Expect(page.Locator("#frame-info")).ToContainTextAsync("512 × 768");
        await Studio.AssertWholePictureAsync(page, 512.0 / 768);
        await BrowserFixture.ScreenshotAsync(page, $"prompt-portrait-{width}x{height}.png", fullPage: false);
        await fixture.CloseAsync(page);
    }

    [Theory]
    [MemberData(nameof(BrowserFixture.Viewports), MemberType = typeof(BrowserFixture))]
    public async Task SketchMode_TheDrawingSurfaceAndThePictureAreBothInView_WhileDrawing(int width, int height)
    {
        var page = await fixture.OpenAppAsync(width, height);
        await page.Locator("#prompt").FillAsync("a house on a hill");
        await Studio.SetModeAsync(page, "sketch");
        await Expect(page.Locator("#frame")).ToHaveAttributeAsync("data-image-to-image", "true");
        await Expect(page.Locator("#frame")).ToHaveAttributeAsync("data-kind", "refined");
        long blankId = await Studio.ShownRequestIdAsync(page);
        byte[] blank = await page.Locator("#frame").ScreenshotAsync();
        if (width < 900) await Studio.ScrollToStageAsync(page);

        await Studio.DrawAsync(page, during: async () =>
        {
            var canvas = await Studio.AssertWhollyVisibleAsync(page, page.Locator("#sketch"), "the drawing surface");
            var picture = await Studio.AssertWholePictureAsync(page, 1.0);
            Assert.True(Math.Abs(canvas.Width - picture.Width) < 1.5 && Math.Abs(canvas.Height - picture.Height) < 1.5,
                $"equal sizes: canvas {Studio.Describe(canvas)}, picture {Studio.Describe(picture)}");
            if (width >= 900)
                Assert.True(Math.Abs(canvas.Y - picture.Y) < 1.5 && canvas.X + canvas.Width <= picture.X, "side by side, drawing on the left");
            else
                Assert.True(picture.Y + picture.Height <= canvas.Y, "stacked, the picture first");
            await BrowserFixture.ScreenshotAsync(page, $"sketch-drawing-{width}x{height}.png", fullPage: false);
        });
        int inked = await page.EvaluateAsync<int>(
            "() => { const c = document.getElementById('sketch'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] < 128) n++; return n; }");
        Assert.True(inked > 300, $"{inked} pixels inked");

        // Frames follow the sketch while drawing (throttled sends), and the final one differs from the blank canvas's.
        await Expect(page.Locator("#frame")).ToHaveAttributeAsync("data-kind", "refined");
        long drawnId = await Studio.ShownRequestIdAsync(page);
        Assert.True(drawnId > blankId + 1, $"several sketch updates were sent ({blankId} → {drawnId})");
        Assert.NotEqual(blank, await page.Locator("#frame").ScreenshotAsync());
        await fixture.CloseAsync(page);
    }

    [Fact]
    public async Task AnExamplePrompt_StartsAPicture_AndDeveloperStatsAreBehindAToggle()
    {
        var page = await fixture.OpenAppAsync();
        await Expect(page.Locator("#stats")).ToBeHiddenAsync();
        await page.Locator("#frame-empty .example").First.ClickAsync();
        await Expect(page.Locator("#frame")).ToHaveAttributeAsync("data-kind", "refined");
        Assert.Equal(await page.Locator("#frame-empty .example").First.TextContentAsync(), await page.Locator("#prompt").InputValueAsync());
        await page.Locator("#stats-toggle").ClickAsync();
        await Expect(page.Locator("#stats-toggle")).ToHaveAttributeAsync("aria-pressed", "true");
        await Expect(page.Locator("#stats")).ToBeVisibleAsync();
        await page.Locator("#prompt").PressSequentiallyAsync(", at night", new() { Delay = 30 });
        await Expect(page.Locator("#stat-latency")).ToContainTextAsync("ms");
        await Studio.AssertWholePictureAsync(page, 1.0);
        await fixture.CloseAsync(page);
    }
}
