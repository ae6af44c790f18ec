namespace TurboGen.Core.Tests;

/// <summary>
/// A fact that takes minutes (full-size models on CPU): skipped unless the environment variable
/// TURBOGEN_SLOW_TESTS=1 is set. Mark it also with <c>[Trait("Category", "Slow")]</c> so it can be filtered.
/// </summary>
public sealed class SlowFactAttribute : FactAttribute
{
    public SlowFactAttribute()
    {
        if (!SlowTests.Enabled) Skip = SlowTests.SkipReason;
    }
}

/// <summary>The theory form of <see cref="SlowFactAttribute"/>.</summary>
public sealed class SlowTheoryAttribute : TheoryAttribute
{
    public SlowTheoryAttribute()
    {
        if (!SlowTests.Enabled) Skip = SlowTests.SkipReason;
    }
}

internal static class SlowTests
{
    public const string Variable = "TURBOGEN_SLOW_TESTS";
    public const string SkipReason = "Slow full-size test: set TURBOGEN_SLOW_TESTS=1 to run it.";
    public static bool Enabled => Environment.GetEnvironmentVariable(Variable) == "1";
}
