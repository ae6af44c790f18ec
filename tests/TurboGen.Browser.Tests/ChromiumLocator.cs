namespace TurboGen.Browser.Tests;

/// <summary>Finds the Chromium the browser tests drive, or installs Playwright's own; fails with one actionable line.</summary>
internal static class ChromiumLocator
{
    private static readonly string[] SystemNames = ["chromium", "chromium-browser"];

    /// <summary>$TURBOGEN_CHROMIUM, else a chromium on PATH; null when there is none.</summary>
    public static string? SystemChromium()
    {
        string? configured = Environment.GetEnvironmentVariable("TURBOGEN_CHROMIUM");
        if (!string.IsNullOrEmpty(configured))
        {
            return File.Exists(configured)
                ? configured
                : throw new InvalidOperationException($"TURBOGEN_CHROMIUM={configured} does not exist: point it at a Chromium/Chrome executable.");
        }
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (string name in SystemNames)
            {
                string candidate = Path.Combine(dir, name);
                if (File.Exists(candidate)) return candidate;
            }
        }
        return null;
    }

    /// <summary>
    /// Runs Playwright's browser installer (it downloads Chromium into Playwright's cache once) and returns null, which makes
    /// Playwright launch its own browser. Throws one line when that is not possible (no network, unsupported OS).
    /// </summary>
    public static string? InstallPlaywrightChromium()
    {
        int exit;
        try
        {
            exit = Microsoft.Playwright.Program.Main(["install", "chromium"]);
        }
        catch (Exception e)
        {
            throw new InvalidOperationException(Hint($"Playwright's Chromium install failed: {e.Message}"), e);
        }
        return exit == 0 ? null : throw new InvalidOperationException(Hint($"Playwright's Chromium install exited with {exit}"));
    }

    private static string Hint(string what) =>
        $"No Chromium for the browser tests: {what}. Install one (Debian/Ubuntu: apt-get install chromium; elsewhere: let Playwright download it, which needs network) or set TURBOGEN_CHROMIUM=/path/to/chrome.";
}
