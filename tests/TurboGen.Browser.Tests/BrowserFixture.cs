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
        // The machine is shared and often loaded: give assertions as long as actions (Playwright's default is 5 s).
        Assertions.SetDefaultExpectTimeout(15_000);
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = executable,
            Headless = true,
            // The fake camera (a moving test pattern) and no permission prompt: camera mode is tested like any other.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"],
        });
    }

    /// <summary>The viewports the layout is checked at: three desktops and a phone.</summary>
    public static TheoryData<int, int> Viewports => new() { { 1280, 800 }, { 1440, 900 }, { 1920, 1080 }, { 390, 844 } };

    /// <summary>
    /// A fresh page (its own browser context: its own storage, cookies and so its own client id) on the web app of
    /// <paramref name="server"/> (default: the shared one), connected and ready, at a small size so frames take milliseconds.
    /// Script errors on the page fail the test when it closes the page (<see cref="CloseAsync"/>).
    /// </summary>
    public async Task<IPage> OpenAppAsync(int width = 1280, int height = 900, string size = "256x256", TestServer? server = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = width, Height = height }, Permissions = ["camera"],
        });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(15_000);
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        _pageErrors[page] = errors;
        await page.GotoAsync((server ?? Server).BaseAddress.ToString());
        await Assertions.Expect(page.Locator("#model-status")).ToContainTextAsync("Ready");
        await page.SelectOptionAsync("#size", size);
        Assert.Empty(errors);
        return page;
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<IPage, List<string>> _pageErrors = new();

    /// <summary>Closes the page's context, failing on any script error the page raised.</summary>
    public async Task CloseAsync(IPage page)
    {
        await page.Context.CloseAsync();
        if (_pageErrors.TryRemove(page, out var errors)) Assert.Empty(errors);
    }

    public static Task ScreenshotAsync(IPage page, string name, bool fullPage = true) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ArtifactsDir, name), FullPage = fullPage });

    /// <summary>The names the control server gives its (one) tiny SDXL ControlNet: one for drawings, one for photo outlines.</summary>
    public const string ScribbleControlNet = "tiny-scribble", CannyControlNet = "tiny-canny";

    private TestServer? _controlServer;
    private readonly SemaphoreSlim _controlServerLock = new(1, 1);

    /// <summary>
    /// A second server, started on first use, for the control modes: the tiny SDXL-Turbo whose UNet takes ControlNet residuals,
    /// the tiny SDXL ControlNet served under <see cref="ScribbleControlNet"/> and <see cref="CannyControlNet"/>, and the tiny
    /// ESRGAN ×4 as its upscaler.
    /// </summary>
    public async Task<TestServer> ControlServerAsync()
    {
        await _controlServerLock.WaitAsync();
        try
        {
            return _controlServer ??= await TestServer.StartAsync(configure: o => o with
            {
                ModelPath = TinyModels.GetControlled(TinyFamily.SdxlTurbo),
                RefineDelay = TimeSpan.FromMilliseconds(300),
                ControlNets = [new(ScribbleControlNet, TinyControlNets.Get(TinyFamily.SdxlTurbo)), new(CannyControlNet, TinyControlNets.Get(TinyFamily.SdxlTurbo))],
                UpscalerPaths = [TinyEsrgan.GetOnnx(4)],
            });
        }
        finally
        {
            _controlServerLock.Release();
        }
    }

    public async Task DisposeAsync()
    {
        if (_controlServer is not null) await _controlServer.DisposeAsync();
        if (Browser is not null) await Browser.DisposeAsync();
        Playwright?.Dispose();
        if (Server is not null) await Server.DisposeAsync();
    }
}
