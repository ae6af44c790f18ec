using System.Text.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace TurboGen.Browser.Tests;

/// <summary>Issue 15.5: each browser's kept pictures are its own; keep is explicit; delete, favourite, clear.</summary>
[Collection(BrowserCollection.Name)]
public sealed class HistoryBrowserTests(BrowserFixture fixture)
{
    [Fact]
    public async Task KeptPicturesArePrivate_ToEachBrowser()
    {
        var alice = await fixture.OpenAppAsync();
        var bob = await fixture.OpenAppAsync();
        await alice.SelectOptionAsync("#style", "neon-punk");
        await Studio.TypeAndWaitAsync(alice, "alice's tram");
        // A pause refines the picture but keeps nothing: keeping is explicit.
        await Expect(alice.Locator("#history li")).ToHaveCountAsync(0);
        await alice.Locator("#prompt").PressAsync("Enter");
        await Expect(alice.Locator("#history li")).ToHaveCountAsync(1);
        await Expect(alice.Locator("#frame-info")).ToContainTextAsync("Kept");
        // The prompt actually used, style expanded.
        await alice.Locator("#history li .used summary").ClickAsync();
        await Expect(alice.Locator("#history li .used p")).ToContainTextAsync("neon punk style alice's tram, cyberpunk");

        await Studio.TypeAndWaitAsync(bob, "bob's boat");
        await bob.Locator("#keep-btn").ClickAsync();
        await Expect(bob.Locator("#history li")).ToHaveCountAsync(1);
        await bob.ReloadAsync();
        await Expect(bob.Locator("#history li")).ToHaveCountAsync(1);
        await Expect(bob.Locator("#history li img")).ToHaveAttributeAsync("alt", "Kept picture: bob's boat");
        await alice.ReloadAsync();
        await Expect(alice.Locator("#history li")).ToHaveCountAsync(1);
        await Expect(alice.Locator("#history li img")).ToHaveAttributeAsync("alt", new System.Text.RegularExpressions.Regex("alice's tram"));

        // The server agrees: Bob's browser cannot list or open Alice's picture.
        string alicesFile = (await alice.Locator("#history li").GetAttributeAsync("data-file"))!;
        var bobsList = await bob.Context.APIRequest.GetAsync(fixture.Server.BaseAddress + "api/history");
        var files = JsonDocument.Parse(await bobsList.TextAsync()).RootElement.EnumerateArray().Select(e => e.GetProperty("file").GetString()).ToList();
        Assert.DoesNotContain(alicesFile, files);
        Assert.Equal(404, (await bob.Context.APIRequest.GetAsync(fixture.Server.BaseAddress + "api/history/" + alicesFile)).Status);
        Assert.Equal(200, (await alice.Context.APIRequest.GetAsync(fixture.Server.BaseAddress + "api/history/" + alicesFile)).Status);
        await BrowserFixture.ScreenshotAsync(alice, "history-alice.png");
        await BrowserFixture.ScreenshotAsync(bob, "history-bob.png");
        await fixture.CloseAsync(alice);
        await fixture.CloseAsync(bob);
    }

    [Fact]
    public async Task AKeptPicture_ShowsItsNegativePromptAndGuidance()
    {
        var page = await fixture.OpenAppAsync();
        await page.Locator("#negative-section summary").ClickAsync();
        await page.Locator("#negative").FillAsync("blurry");
        await Studio.TypeAndWaitAsync(page, "a guided fox");
        await page.Locator("#prompt").PressAsync("Enter");
        var item = page.Locator("#history li");
        await Expect(item).ToHaveCountAsync(1);
        await item.Locator(".used summary").ClickAsync();
        await Expect(item.Locator(".used p")).ToContainTextAsync("Leave out: blurry");
        await Expect(item.Locator(".used p")).ToContainTextAsync("guidance 2");
        await fixture.CloseAsync(page);
    }

    [Theory]
    [InlineData(1280, 800)]
    [InlineData(390, 844)]
    public async Task KeepDeleteFavouriteAndClear(int width, int height)
    {
        var page = await fixture.OpenAppAsync(width, height);
        var items = page.Locator("#history li");
        await Studio.TypeAndWaitAsync(page, "first picture");
        await page.Locator("#keep-btn").ClickAsync();
        await Expect(items).ToHaveCountAsync(1);
        await Studio.TypeAndWaitAsync(page, "second picture");
        await page.Keyboard.PressAsync("Control+s");
        await Expect(items).ToHaveCountAsync(2);
        await Studio.TypeAndWaitAsync(page, "third picture");
        await page.Locator("#prompt").PressAsync("Enter");
        await Expect(items).ToHaveCountAsync(3);

        // Newest first. Favourite the oldest; delete the middle one.
        var oldest = items.Nth(2);
        var star = oldest.GetByRole(AriaRole.Button, new() { Name = "Favourite" });
        await star.ClickAsync();
        await Expect(star).ToHaveAttributeAsync("aria-pressed", "true");
        await items.Nth(1).GetByRole(AriaRole.Button, new() { NameRegex = new("^Delete") }).ClickAsync();
        await Expect(items).ToHaveCountAsync(2);
        await page.ReloadAsync();
        await Expect(items).ToHaveCountAsync(2);
        await Expect(items.Nth(1).GetByRole(AriaRole.Button, new() { Name = "Favourite" })).ToHaveAttributeAsync("aria-pressed", "true");
        await BrowserFixture.ScreenshotAsync(page, $"history-{width}x{height}.png");

        // Clear asks first and keeps favourites.
        await page.Locator("#history-clear").ClickAsync();
        await Expect(page.Locator("#confirm-dialog")).ToBeVisibleAsync();
        await Expect(page.Locator("#confirm-text")).ToContainTextAsync("except your 1 favourite");
        await page.Locator("#confirm-dialog button[value=ok]").ClickAsync();
        await Expect(items).ToHaveCountAsync(1);
        await Expect(items.First).ToHaveClassAsync("favourite");
        await fixture.CloseAsync(page);
    }
}
