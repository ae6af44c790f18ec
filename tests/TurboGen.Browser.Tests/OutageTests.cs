using Microsoft.Playwright;
using TurboGen.Server.Tests;
using static Microsoft.Playwright.Assertions;

namespace TurboGen.Browser.Tests;

/// <summary>Issue 15.4: the server goes away and comes back while the page is open.</summary>
[Collection(BrowserCollection.Name)]
public sealed class OutageTests(BrowserFixture fixture)
{
    [Fact]
    public async Task AServerOutage_IsShownOnThePicture_AndInputAndVariantsRecoverAfterRestart()
    {
        TestServer? server = await TestServer.StartAsync(configure: o => o with { RefineDelay = TimeSpan.FromMilliseconds(300) });
        int port = server.BaseAddress.Port;
        string outputs = server.Options.OutputDir;
        var page = await fixture.OpenAppAsync(server: server);
        try
        {
            await Studio.TypeAndWaitAsync(page, "a lighthouse");
            await server.DisposeAsync();
            server = null;

            // The picture says so; stats are not left looking live.
            await Expect(page.Locator("body")).ToHaveAttributeAsync("data-connection", "offline");
            await Expect(page.Locator("#overlay")).ToBeVisibleAsync();
            await Expect(page.Locator("#overlay")).ToContainTextAsync("Disconnected");
            await Expect(page.Locator("#model-status")).ToContainTextAsync(new System.Text.RegularExpressions.Regex("Disconnected|unreachable"));
            await Expect(page.Locator("#frame-info")).ToContainTextAsync("Not connected");

            // Typing and asking for variants during the outage: queued, not lost.
            await page.Locator("#prompt").PressSequentiallyAsync(" at night", new() { Delay = 20 });
            await page.Locator("#variants-btn").ClickAsync();
            await Expect(page.Locator("#variants .variant.loading")).ToHaveCountAsync(4);
            await BrowserFixture.ScreenshotAsync(page, "outage-disconnected.png", fullPage: false);

            server = await TestServer.StartAsync(configure: o => o with { Port = port, OutputDir = outputs, RefineDelay = TimeSpan.FromMilliseconds(300) });
            await Expect(page.Locator("body")).ToHaveAttributeAsync("data-connection", "online", new() { Timeout = 20_000 });
            await Expect(page.Locator("#overlay")).ToBeHiddenAsync();
            await Expect(page.Locator("#frame")).ToHaveAttributeAsync("alt", new System.Text.RegularExpressions.Regex("a lighthouse at night"));
            await Expect(page.Locator("#variants .variant img")).ToHaveCountAsync(4);
            await Expect(page.Locator("#variants .variant.loading")).ToHaveCountAsync(0);
            await Expect(page.Locator("#model-status")).ToContainTextAsync("Ready");
            await BrowserFixture.ScreenshotAsync(page, "outage-recovered.png", fullPage: false);
        }
        finally
        {
            await fixture.CloseAsync(page);
            if (server is not null) await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task UpscaleWhileDisconnected_SaysSo_AndLeavesTheButtonsUsable()
    {
        TestServer? server = await TestServer.StartAsync();
        var page = await fixture.OpenAppAsync(server: server);
        try
        {
            await Studio.TypeAndWaitAsync(page, "a harbour");
            await server.DisposeAsync();
            server = null;
            await Expect(page.Locator("body")).ToHaveAttributeAsync("data-connection", "offline");

            await page.Locator(".upscale-btn[data-scale='2']").ClickAsync();
            await Expect(page.Locator("#upscale-error")).ToBeVisibleAsync();
            await Expect(page.Locator("#upscale-error")).ToContainTextAsync("Not connected");
            await Expect(page.Locator("#upscale-status")).ToContainTextAsync("failed");
            // Nothing is left hanging: no bar, the card not busy, the buttons usable again.
            await Expect(page.Locator("#upscale-progress")).ToBeHiddenAsync();
            await Expect(page.Locator("#upscale-panel")).Not.ToHaveAttributeAsync("aria-busy", "true");
            await Expect(page.Locator(".upscale-btn[data-scale='4']")).ToBeEnabledAsync();
        }
        finally
        {
            await fixture.CloseAsync(page);
            if (server is not null) await server.DisposeAsync();
        }
    }
}
