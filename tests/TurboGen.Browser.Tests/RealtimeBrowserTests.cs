using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace TurboGen.Browser.Tests;

/// <summary>The web app end to end in headless Chromium against a real server on a tiny model.</summary>
[Collection(BrowserCollection.Name)]
public sealed class RealtimeBrowserTests(BrowserFixture fixture)
{
    [Fact]
    public async Task TypingAPrompt_ShowsAFrame_AndChangingItChangesTheFrame()
    {
        var page = await fixture.OpenAppAsync();
        var frame = page.Locator("#frame");
        await page.Locator("#prompt").PressSequentiallyAsync("a red fox", new() { Delay = 40 });
        await Expect(frame).ToBeVisibleAsync();
        await Expect(frame).ToHaveAttributeAsync("data-kind", "refined");
        long first = await Studio.ShownRequestIdAsync(page);
        string firstSrc = (await frame.GetAttributeAsync("src"))!;
        byte[] firstPixels = await frame.ScreenshotAsync();
        await BrowserFixture.ScreenshotAsync(page, "realtime-typed.png");

        await page.Locator("#prompt").PressSequentiallyAsync(" in the snow", new() { Delay = 40 });
        await Expect(frame).Not.ToHaveAttributeAsync("src", firstSrc);
        await Expect(frame).ToHaveAttributeAsync("data-kind", "refined");
        Assert.True(await Studio.ShownRequestIdAsync(page) > first);
        Assert.NotEqual(firstPixels, await frame.ScreenshotAsync());
        Assert.Equal("42", await frame.GetAttributeAsync("data-seed"));
        // The prompt actually used is shown (with the style applied).
        await page.SelectOptionAsync("#style", "neon-punk");
        await Expect(page.Locator("#prompt-used-text")).ToContainTextAsync("neon punk style a red fox in the snow");
        await fixture.CloseAsync(page);
    }

    [Fact]
    public async Task ANegativePrompt_TurnsGuidanceOn_ShowsItsCost_AndIsUsed()
    {
        var page = await fixture.OpenAppAsync();
        await Studio.TypeAndWaitAsync(page, "a harbour");
        await Expect(page.Locator("#guidance-cost")).ToBeHiddenAsync();
        await page.Locator("#negative-section summary").ClickAsync();
        await page.Locator("#negative").FillAsync("boats");
        await Expect(page.Locator("#guidance-cost")).ToBeVisibleAsync();
        await Expect(page.Locator("#guidance-cost")).ToContainTextAsync("2× slower");
        await Expect(page.Locator("#frame-info")).ToContainTextAsync("guidance 2");
        await Expect(page.Locator("#prompt-used-text")).ToContainTextAsync("Leave out: boats");
        await fixture.CloseAsync(page);
    }

    [Fact]
    public async Task AnError_IsShownNextToTheControlThatCausedIt()
    {
        var page = await fixture.OpenAppAsync();
        await Studio.TypeAndWaitAsync(page, "a bell");
        await page.Locator("#prompt").FillAsync("a bell\u0007");
        await Expect(page.Locator("#prompt-error")).ToBeVisibleAsync();
        await Expect(page.Locator("#prompt-error")).ToContainTextAsync("control character");
        await Expect(page.Locator("#prompt")).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(page.Locator("#picture-error")).ToBeHiddenAsync();
        await page.Locator("#prompt").FillAsync("a bell tower");
        await Expect(page.Locator("#prompt-error")).ToBeHiddenAsync();
        await Expect(page.Locator("#prompt")).Not.ToHaveAttributeAsync("aria-invalid", "true");
        await fixture.CloseAsync(page);
    }

    [Fact]
    public async Task ClickingAVariant_AdoptsItsSeed()
    {
        var page = await fixture.OpenAppAsync();
        await Studio.TypeAndWaitAsync(page, "a lighthouse at dusk");
        await page.Locator("#variants-btn").ClickAsync();
        await Expect(page.Locator("#variants .variant img")).ToHaveCountAsync(4);
        var third = page.Locator("#variants .variant").Nth(2);
        await Expect(third).Not.ToHaveClassAsync(new System.Text.RegularExpressions.Regex("loading"));
        string seed = (await third.GetAttributeAsync("data-seed"))!;
        await third.ClickAsync();
        await Expect(third).ToHaveAttributeAsync("aria-pressed", "true");
        await Expect(page.Locator("#seed")).ToHaveValueAsync(seed);
        await Expect(page.Locator("#frame")).ToHaveAttributeAsync("data-seed", seed);
        await BrowserFixture.ScreenshotAsync(page, "realtime-variants.png");
        await fixture.CloseAsync(page);
    }

    [Fact]
    public async Task ArrowKeysStepTheSeed_AndThePageFitsAPhone()
    {
        var page = await fixture.OpenAppAsync(width: 390, height: 844);
        await Studio.TypeAndWaitAsync(page, "a paper boat");
        await page.Locator("#prompt").PressAsync("Alt+ArrowRight");
        await Expect(page.Locator("#seed")).ToHaveValueAsync("43");
        await page.Locator("#seed-random").FocusAsync();
        await page.Keyboard.PressAsync("ArrowLeft");
        await Expect(page.Locator("#seed")).ToHaveValueAsync("42");
        await Expect(page.Locator("#frame")).ToHaveAttributeAsync("data-seed", "42");
        // No horizontal scrolling on a phone.
        Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"));
        await BrowserFixture.ScreenshotAsync(page, "realtime-phone.png");
        await fixture.CloseAsync(page);
    }
}
