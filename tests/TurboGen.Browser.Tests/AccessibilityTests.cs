using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace TurboGen.Browser.Tests;

/// <summary>
/// Issue 15 accessibility: axe-core (Deque.AxeCore.Playwright) over WCAG 2.0–2.2 A/AA rules (contrast, names, roles,
/// 24 px targets) in every mode at desktop and phone sizes — no serious or critical violation; a logical tab order;
/// selected states announced.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class AccessibilityTests(BrowserFixture fixture)
{
    private static readonly AxeRunOptions Wcag = new()
    {
        RunOnly = new RunOnlyOptions { Type = "tag", Values = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] },
    };

    internal static async Task AssertNoSeriousViolationsAsync(IPage page, string where)
    {
        var result = await page.RunAxe(Wcag);
        var serious = result.Violations.Where(v => v.Impact is "serious" or "critical").ToList();
        Assert.True(serious.Count == 0, where + ": " + string.Join("\n", serious.Select(v =>
            $"{v.Id} ({v.Impact}): {v.Help} — {string.Join(" | ", v.Nodes.Take(3).Select(n => n.Html))}")));
    }

    [Theory]
    [MemberData(nameof(BrowserFixture.Viewports), MemberType = typeof(BrowserFixture))]
    public async Task EveryMode_HasNoSeriousAxeViolations(int width, int height)
    {
        var page = await fixture.OpenAppAsync(width, height);
        await AssertNoSeriousViolationsAsync(page, "empty");
        await Studio.TypeAndWaitAsync(page, "a quiet lake");
        await page.Locator("#keep-btn").ClickAsync();
        await Expect(page.Locator("#history li")).ToHaveCountAsync(1);
        await page.Locator("#variants-btn").ClickAsync();
        await Expect(page.Locator("#variants .variant img")).ToHaveCountAsync(4);
        await page.Locator("#stats-toggle").ClickAsync();
        await page.Locator("#negative-section summary").ClickAsync();
        await AssertNoSeriousViolationsAsync(page, "prompt mode");

        await Studio.SetModeAsync(page, "sketch");
        await Expect(page.Locator("#sketch")).ToBeVisibleAsync();
        await AssertNoSeriousViolationsAsync(page, "sketch mode");

        await Studio.SetModeAsync(page, "camera");
        await page.Locator("#camera-toggle").ClickAsync();
        await page.WaitForFunctionAsync("() => document.getElementById('camera-video').videoWidth > 0");
        await AssertNoSeriousViolationsAsync(page, "camera mode");
        await fixture.CloseAsync(page);
    }

    [Fact]
    public async Task TabOrder_FollowsThePage_AndSelectedStatesAreExposed()
    {
        var page = await fixture.OpenAppAsync();
        await Studio.TypeAndWaitAsync(page, "a tab order");
        await Studio.SetModeAsync(page, "sketch");
        await page.Locator("#prompt").FocusAsync();
        var order = new List<string>();
        for (int i = 0; i < 40; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            order.Add(await page.EvaluateAsync<string>("() => document.activeElement.id || document.activeElement.className || document.activeElement.tagName"));
        }
        // Prompt → Keep → the mode's tools → its drawing surface → the picture's actions → the settings.
        int Index(string id) => order.IndexOf(id) is var i and >= 0 ? i : throw new Xunit.Sdk.XunitException($"{id} not reached by Tab: {string.Join(", ", order)}");
        Assert.Equal("keep-btn", order[0]);
        Assert.True(Index("brush-color") < Index("sketch") && Index("sketch") < Index("variants-btn") && Index("variants-btn") < Index("style")
            && Index("style") < Index("size") && Index("size") < Index("seed"), string.Join(", ", order));

        // Selected states: the mode radio, colour swatches and the eraser say whether they are on.
        Assert.True(await page.Locator("#modes input[value=sketch]").IsCheckedAsync());
        await page.Locator(".swatch[aria-label=Red]").ClickAsync();
        await Expect(page.Locator(".swatch[aria-label=Red]")).ToHaveAttributeAsync("aria-pressed", "true");
        await Expect(page.Locator(".swatch[aria-label=Blue]")).ToHaveAttributeAsync("aria-pressed", "false");
        await page.Locator("#tool-eraser").ClickAsync();
        await Expect(page.Locator("#tool-eraser")).ToHaveAttributeAsync("aria-pressed", "true");
        await Expect(page.Locator(".swatch[aria-label=Red]")).ToHaveAttributeAsync("aria-pressed", "true");
        await fixture.CloseAsync(page);
    }
}
