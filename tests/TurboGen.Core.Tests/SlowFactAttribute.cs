namespace TurboGen.Core.Tests;

/// <summary>
/// A [Fact] that only runs when the environment variable TURBOGEN_RUN_SLOW=1 is set (full-size models on CPU take
/// tens of seconds). Pair it with [Trait("Category", "Slow")] so it can also be selected with --filter Category=Slow.
/// </summary>
public sealed class SlowFactAttribute : FactAttribute
{
    public const string EnvironmentVariable = "TURBOGEN_RUN_SLOW";

    public SlowFactAttribute()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) != "1")
        {
            Skip = $"Slow test: set {EnvironmentVariable}=1 to run it.";
        }
    }
}
