using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace TurboGen.Browser.Tests;

/// <summary>What the browser tests do on the web app, once: type, wait for the picture, switch modes, measure boxes.</summary>
internal static partial class Studio
{
    /// <summary>Types a prompt and waits until its full-quality picture is on screen.</summary>
    public static async Task TypeAndWaitAsync(IPage page, string prompt)
    {
        await page.Locator("#prompt").FillAsync(prompt);
        await Expect(page.Locator("#frame")).ToHaveAttributeAsync("alt", new Regex(Regex.Escape(prompt)));
        await Expect(page.Locator("#frame")).ToHaveAttributeAsync("data-kind", "refined");
    }

    public static Task SetModeAsync(IPage page, string mode) => page.Locator($"#modes label:has(input[value=\"{mode}\"])").ClickAsync();

    public static async Task<long> ShownRequestIdAsync(IPage page) => long.Parse((await page.Locator("#frame").GetAttributeAsync("data-request-id"))!);

    /// <summary>The element's box, which must lie wholly inside the window (and inside its clipping pane).</summary>
    public static async Task<LocatorBoundingBoxResult> AssertWhollyVisibleAsync(IPage page, ILocator element, string what)
    {
        var box = await element.BoundingBoxAsync() ?? throw new InvalidOperationException($"{what} has no box");
        var view = page.ViewportSize!;
        Assert.True(box.Width > 60 && box.Height > 60, $"{what} is too small: {Describe(box)}");
        Assert.True(box.X >= -0.5 && box.Y >= -0.5 && box.X + box.Width <= view.Width + 0.5 && box.Y + box.Height <= view.Height + 0.5,
            $"{what} {Describe(box)} is not wholly inside the {view.Width}×{view.Height} window");
        return box;
    }

    /// <summary>The rendered picture: wholly in the window, not cut by its pane, with the picture's aspect ratio.</summary>
    public static async Task<LocatorBoundingBoxResult> AssertWholePictureAsync(IPage page, double aspect)
    {
        var frame = await AssertWhollyVisibleAsync(page, page.Locator("#frame"), "the picture");
        var pane = (await page.Locator("#frame-box").BoundingBoxAsync())!;
        Assert.True(frame.X >= pane.X - 0.5 && frame.Y >= pane.Y - 0.5 && frame.X + frame.Width <= pane.X + pane.Width + 0.5 && frame.Y + frame.Height <= pane.Y + pane.Height + 0.5,
            $"the picture {Describe(frame)} overflows its pane {Describe(pane)}");
        Assert.True(Math.Abs(frame.Width / frame.Height - aspect) < 0.02, $"the picture {Describe(frame)} is not {aspect:F3} wide per high");
        return frame;
    }

    /// <summary>Draws a diagonal stroke on the sketch surface; <paramref name="during"/> runs with the pen down.</summary>
    public static async Task DrawAsync(IPage page, Func<Task>? during = null)
    {
        var box = (await page.Locator("#sketch").BoundingBoxAsync())!;
        await page.Mouse.MoveAsync(box.X + 20, box.Y + box.Height - 30);
        await page.Mouse.DownAsync();
        for (int i = 1; i <= 16; i++)
        {
            await page.Mouse.MoveAsync(box.X + 20 + i * (box.Width - 40) / 16, box.Y + box.Height - 30 - i * (box.Height / 2) / 16);
            await page.WaitForTimeoutAsync(20);
            if (i == 8 && during is not null) await during();
        }
        await page.Mouse.UpAsync();
    }

    public static Task ScrollToStageAsync(IPage page) =>
        page.EvaluateAsync("() => document.getElementById('stage').scrollIntoView({ block: 'start' })");

    public static string Describe(LocatorBoundingBoxResult b) => FormattableString.Invariant($"[{b.X:F0},{b.Y:F0} {b.Width:F0}×{b.Height:F0}]");
}
