using System.Text.Json;
using TurboGen.Scheduling;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Scheduling;

/// <summary>One golden scheduler case folder (tests/data/golden/&lt;name&gt;): case.json and trace.safetensors.</summary>
internal sealed class CaseFile
{
    private static readonly Dictionary<string, CaseFile> Cache = [];

    private CaseFile(string name)
    {
        string dir = TestPaths.GoldenCase(name);
        Root = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "case.json"))).RootElement;
        TracePath = Path.Combine(dir, "trace.safetensors");
    }

    public JsonElement Root { get; }
    public string TracePath { get; }

    public static CaseFile Get(string name)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue(name, out var file)) Cache[name] = file = new CaseFile(name);
            return file;
        }
    }

    /// <summary>The case's diffusers config (the "config" object: every key the reference scheduler had).</summary>
    public SchedulerConfig Config(string className, string? predictionType = null)
    {
        SchedulerConfig config = SchedulerConfig.FromJson(Root.GetProperty("config").GetRawText(), className, sourcePath: null);
        return predictionType is null ? config : config with { PredictionType = predictionType };
    }

    public TheoryData<string> TraceNames()
    {
        var data = new TheoryData<string>();
        foreach (JsonProperty trace in Root.GetProperty("traces").EnumerateObject()) data.Add(trace.Name);
        return data;
    }

    public static float[] Floats(JsonElement array) => array.EnumerateArray().Select(e => e.GetSingle()).ToArray();
}
