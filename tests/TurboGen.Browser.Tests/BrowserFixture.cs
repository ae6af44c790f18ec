using Microsoft.Playwright;
using TurboGen.Server.Tests;
using TurboGen.Testing;

namespace TurboGen.Browser.Tests;

/// <summary>
/// One TurboGen server over a tiny model and one headless Chromium shared by the browser tests. The browser is, in order:
/// $TURBOGEN_CHROMIUM, the system's chromium (Debian/Ubuntu: installed by <c>./build.sh test</c>), else Playwright's own
/// Chromium (downloaded once by Playwright's installer). Screenshots go to $TURBOGEN_ARTIFACTS or TestResults/browser/.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public TestServer Server { get; private set; } = null!;
    public IPlaywright Playwright { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;

    public static string ArtifactsDir
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable("TURBOGEN_ARTIFACTS");
            string dir = !string.IsNullOrEmpty(env) ? env : Path.Combine(TestPaths.RepoRoot, "TestResults", "browser");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    public async Task InitializeAsync()
    {
        string? executable = ChromiumLocator.SystemChromium() ?? ChromiumLocator.InstallPlaywrightChromium();
        Server = await TestServer.StartAsync(configure: o => o with { RefineDelay = TimeSpan.FromMilliseconds(300) });
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = executable,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    /// <summary>A fresh page on the web app, connected and ready, at a small size so frames take milliseconds.</summary>
    public async Task<IPage> OpenAppAsync(int width = 1280, int height = 900, string size = "256x256")
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(15_000);
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        await page.GotoAsync(Server.BaseAddress.ToString());
        await Assertions.Expect(page.Locator("#model-status")).ToContainTextAsync("Ready");
        await page.SelectOptionAsync("#size", size);
        Assert.Empty(errors);
        return page;
    }

    public static Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ArtifactsDir, name), FullPage = true });

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        Playwright?.Dispose();
        if (Server is not null) await Server.DisposeAsync();
    }
}
