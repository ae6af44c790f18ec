using System.Text.Json;
using TurboGen.Scheduling;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Scheduling;

/// <summary>Access to tests/data/golden/scheduler: case.json (configs, schedules, img2img, traces, train tables) and trace.safetensors.</summary>
internal static class SchedulerGolden
{
    public static readonly string[] Models = ["sdxl_turbo", "sd_turbo"];
    public static readonly string[] SchedulerNames = [EulerAncestralDiscreteScheduler.ClassName, EulerDiscreteScheduler.ClassName];

    private static readonly Lazy<JsonDocument> Case = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.GoldenCase("scheduler"), "case.json"))));

    public static JsonElement Root => Case.Value.RootElement;

    public static string TracePath => Path.Combine(TestPaths.GoldenCase("scheduler"), "trace.safetensors");

    public static string ConfigJson(string model) => Root.GetProperty("configs").GetProperty(model).GetRawText();

    /// <summary>The model's golden config, optionally with its _class_name replaced (the traces run both samplers on both configs).</summary>
    public static SchedulerConfig Config(string model, string? className = null)
    {
        SchedulerConfig config = SchedulerConfig.FromJson(ConfigJson(model));
        return className is null ? config : config with { ClassName = className };
    }

    public static double[] Doubles(JsonElement array) => array.EnumerateArray().Select(e => e.GetDouble()).ToArray();

    /// <summary>|actual − expected| ≤ 1e-6·max(1, |expected|) for every element.</summary>
    public static void AssertClose(IReadOnlyList<double> expected, IReadOnlyList<float> actual, string what, double tolerance = 1e-6)
    {
        Assert.True(expected.Count == actual.Count, $"{what}: {actual.Count} values, expected {expected.Count}");
        for (int i = 0; i < expected.Count; i++)
        {
            AssertClose(expected[i], actual[i], $"{what}[{i}]", tolerance);
        }
    }

    public static void AssertClose(double expected, double actual, string what, double tolerance = 1e-6)
    {
        double allowed = tolerance * Math.Max(1.0, Math.Abs(expected));
        Assert.True(Math.Abs(actual - expected) <= allowed, $"{what}: got {actual:R}, expected {expected:R} (tolerance {allowed:G3})");
    }

    /// <summary>Max |a − b| over two tensors must not exceed <paramref name="tolerance"/>.</summary>
    public static void AssertTensor(float[] expected, ReadOnlySpan<float> actual, string what, double tolerance = 1e-5)
    {
        Assert.True(actual.Length == expected.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        double diff = GoldenTensors.MaxAbsDiff(actual, expected);
        Assert.True(diff <= tolerance, $"{what}: max |diff| {diff:G3} > {tolerance:G3}");
    }

    /// <summary>
    /// The schedule and first latents of a consistency-scheduler trace (LCM, TCD), checked against the trace's timesteps and
    /// <c>latents_0</c>: seeded noise × <see cref="Schedule.InitNoiseSigma"/>, or with a strength below 1 the init latents noised
    /// at the first timestep of the strength's schedule.
    /// </summary>
    public static (Schedule Schedule, float[] Latents) Start(IScheduler scheduler, JsonElement trace, GoldenTensors tensors, string name, int steps, float strength)
    {
        Schedule s = strength < 1f ? scheduler.SetTimestepsForStrength(steps, strength) : scheduler.SetTimesteps(steps);
        Assert.Equal(CaseFile.Floats(trace.GetProperty("timesteps")), s.Timesteps);
        float[] latents;
        if (strength < 1f)
        {
            float[] init = tensors.Float($"{name}.init_latents");
            latents = new float[init.Length];
            scheduler.AddNoise(s, init, tensors.Float($"{name}.noise"), latents);
        }
        else
        {
            latents = tensors.Float($"{name}.initial_noise");
            for (int j = 0; j < latents.Length; j++) latents[j] *= s.InitNoiseSigma;
        }
        AssertTensor(tensors.Float($"{name}.latents_0"), latents, "latents_0", 1e-6);
        return (s, latents);
    }

    /// <summary>Steps and strength from an img2img case name of the LCM/TCD cases (<c>steps4_strength0.5</c>).</summary>
    public static (int Steps, float Strength) ImageToImageCase(string name) => (
        int.Parse(name["steps".Length..name.IndexOf('_')], System.Globalization.CultureInfo.InvariantCulture),
        float.Parse(name[(name.IndexOf("strength", StringComparison.Ordinal) + "strength".Length)..], System.Globalization.CultureInfo.InvariantCulture));
}
