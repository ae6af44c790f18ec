namespace TurboGen;

/// <summary>
/// Fault-injection points for the crash tests (issue 14: "the process killed during a model build"). With the environment variable
/// <c>TURBOGEN_TEST_PAUSE</c> set to a point's name (e.g. <c>build:unet</c>: before the UNet of a model build is written, after the
/// text encoders were), the process reports <c>paused at NAME</c> through the build's progress (the CLI's stderr) and waits there until it is killed, so a test can kill it at a
/// known point. Unset (always, outside tests) a point costs one environment lookup.
/// </summary>
public static class TestHooks
{
    /// <summary>The environment variable naming the pause point: <c>TURBOGEN_TEST_PAUSE</c>.</summary>
    public const string PauseVariable = "TURBOGEN_TEST_PAUSE";

    /// <summary>Waits forever when <see cref="PauseVariable"/> names <paramref name="point"/>; else returns at once.</summary>
    public static void PauseAt(string point, IProgress<string>? progress = null)
    {
        if (!string.Equals(Environment.GetEnvironmentVariable(PauseVariable), point, StringComparison.Ordinal))
        {
            return;
        }
        progress?.Report($"paused at {point} ({PauseVariable})");
        Thread.Sleep(Timeout.Infinite);
    }
}
