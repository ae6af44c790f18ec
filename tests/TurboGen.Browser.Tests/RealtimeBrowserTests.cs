using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace TurboGen.Browser.Tests;

/// <summary>The web app end to end in headless Chromium against a real server on a tiny model.</summary>
public sealed class RealtimeBrowserTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task TypingAPrompt_ShowsAFrame_AndChangingItChangesTheFrame()
    {
        var page = await fixture.OpenAppAsync();
        var frame = page.Locator("#frame");
        await page.Locator("#prompt").PressSequentiallyAsync("a red fox", new() { Delay = 40 });
        await Expect(frame).ToBeVisibleAsync();
        await Expect(frame).ToHaveAttributeAsync("data-kind", "refined");
        long first = long.Parse(await frame.GetAttributeAsync("data-request-id") ?? "-1");
        string firstSrc = (await frame.GetAttributeAsync("src"))!;
        byte[] firstPixels = await frame.ScreenshotAsync();
        await Expect(page.Locator("#stat-latency")).ToContainTextAsync("ms");
        await Expect(page.Locator("#history li").First).ToBeVisibleAsync();
        await BrowserFixture.ScreenshotAsync(page, "realtime-typed.png");

        await page.Locator("#prompt").PressSequentiallyAsync(" in the snow", new() { Delay = 40 });
        await Expect(frame).Not.ToHaveAttributeAsync("src", firstSrc);
        await Expect(frame).ToHaveAttributeAsync("data-kind", "refined");
        long second = long.Parse(await frame.GetAttributeAsync("data-request-id") ?? "-1");
        Assert.True(second > first, $"request {second} after {first}");
        Assert.NotEqual(firstPixels, await frame.ScreenshotAsync());
        Assert.Equal("42", await frame.GetAttributeAsync("data-seed"));
    }

    [Fact]
    public async Task DrawingOnTheCanvas_GeneratesFromTheSketch()
    {
        var page = await fixture.OpenAppAsync();
        await page.Locator("#prompt").FillAsync("a house on a hill");
        await page.Locator("#img2img").CheckAsync();
        var canvas = page.Locator("#sketch");
        var frame = page.Locator("#frame");
        await Expect(frame).ToHaveAttributeAsync("data-image-to-image", "true");
        await Expect(frame).ToHaveAttributeAsync("data-kind", "refined");
        long blankId = long.Parse((await frame.GetAttributeAsync("data-request-id"))!);
        byte[] blankPixels = await frame.ScreenshotAsync();

        await canvas.ScrollIntoViewIfNeededAsync();
        var box = (await canvas.BoundingBoxAsync())!;
        await page.Mouse.MoveAsync(box.X + 20, box.Y + box.Height - 30);
        await page.Mouse.DownAsync();
        for (int i = 1; i <= 20; i++)
        {
            await page.Mouse.MoveAsync(box.X + 20 + i * (box.Width - 40) / 20, box.Y + box.Height - 30 - i * (box.Height / 2) / 20);
            await page.WaitForTimeoutAsync(20);
        }
        await page.Mouse.UpAsync();
        int inked = await page.EvaluateAsync<int>(
            "() => { const c = document.getElementById('sketch'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] < 128) n++; return n; }");
        Assert.True(inked > 500, $"{inked} pixels inked");

        // Frames follow the sketch while drawing (throttled sends), and the final one differs from the blank canvas's.
        await Expect(frame).ToHaveAttributeAsync("data-kind", "refined");
        long drawnId = long.Parse((await frame.GetAttributeAsync("data-request-id"))!);
        Assert.True(drawnId > blankId + 1, $"several sketch updates were sent ({blankId} → {drawnId})");
        Assert.NotEqual(blankPixels, await frame.ScreenshotAsync());
        await BrowserFixture.ScreenshotAsync(page, "realtime-sketch.png");
    }

    [Fact]
    public async Task ClickingAVariant_AdoptsItsSeed()
    {
        var page = await fixture.OpenAppAsync();
        await page.Locator("#prompt").FillAsync("a lighthouse at dusk");
        await Expect(page.Locator("#frame")).ToBeVisibleAsync();
        await page.Locator("#variants-btn").ClickAsync();
        var variants = page.Locator("#variants .variant img");
        await Expect(variants).ToHaveCountAsync(4);
        var third = page.Locator("#variants .variant").Nth(2);
        await Expect(third).Not.ToHaveClassAsync(new System.Text.RegularExpressions.Regex("loading"));
        string seed = (await third.GetAttributeAsync("data-seed"))!;
        await third.ClickAsync();
        await Expect(page.Locator("#seed")).ToHaveValueAsync(seed);
        await Expect(page.Locator("#frame")).ToHaveAttributeAsync("data-seed", seed);
        await BrowserFixture.ScreenshotAsync(page, "realtime-variants.png");
    }

    [Fact]
    public async Task ArrowKeysStepTheSeed_AndThePageFitsAPhone()
    {
        var page = await fixture.OpenAppAsync(width: 390, height: 844);
        await page.Locator("#prompt").FillAsync("a paper boat");
        await Expect(page.Locator("#frame")).ToBeVisibleAsync();
        await page.Locator("#prompt").PressAsync("Alt+ArrowRight");
        await Expect(page.Locator("#seed")).ToHaveValueAsync("43");
        await page.Locator("#seed-random").FocusAsync();
        await page.Keyboard.PressAsync("ArrowLeft");
        await Expect(page.Locator("#seed")).ToHaveValueAsync("42");
        await Expect(page.Locator("#frame")).ToHaveAttributeAsync("data-seed", "42");
        // No horizontal scrolling on a phone.
        Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"));
        await BrowserFixture.ScreenshotAsync(page, "realtime-phone.png");
    }
}
