using Microsoft.ML.OnnxRuntime;
using TurboGen.Graphs.Architectures.Clip;
using TurboGen.Graphs;
using TurboGen.Tensors;
using TurboGen.Testing;
using TurboGen.Weights;

namespace TurboGen.Core.Tests.Graphs;

public sealed class ClipTextModelTests : IDisposable
{
    private string? _tempDir;

    /// <summary>A scratch folder for this test, deleted afterwards (xunit makes one instance per test).</summary>
    private string TempDir => _tempDir ??= TestPaths.NewTempDir("turbogen-clip");

    public void Dispose()
    {
        if (_tempDir is not null) Directory.Delete(_tempDir, recursive: true);
    }

    private const double Tolerance = 1e-4;
    private const string ClipCase = "clip_text_tiny";
    private const string ProjectionCase = "clip_text_with_projection_tiny";

    private static string CaseFile(string caseName, string file) => Path.Combine(TestPaths.GoldenCase(caseName), file);
    private static ClipTextConfig CaseConfig(string caseName) => ClipTextConfig.FromFile(CaseFile(caseName, "config.json"));

    private static (long[] Ids, long[] Shape) GoldenIds(string caseName)
    {
        using var inputs = new GoldenTensors(CaseFile(caseName, "inputs.safetensors"));
        return (inputs.Int64("input_ids"), inputs.Shape("input_ids"));
    }

    /// <summary>Runs a model (bytes or file path) on CPU and returns every output by name, in the graph's output order.</summary>
    private static List<(string Name, float[] Values, long[] Shape)> Run(InferenceSession session, long[] ids, long[] shape, bool int32 = false)
    {
        using var input = int32
            ? OrtValue.CreateTensorValueFromMemory(ids.Select(i => (int)i).ToArray(), shape)
            : OrtValue.CreateTensorValueFromMemory(ids, shape);
        var names = session.OutputNames.ToArray();
        // Held in a variable: an inline RunOptions can be finalized by the GC while ONNX Runtime still uses it.
        using var ortRunOptions = new RunOptions();
        using var outputs = session.Run(ortRunOptions, ["input_ids"], [input], names);
        return names.Select((n, i) => (n, outputs[i].GetTensorDataAsSpan<float>().ToArray(), outputs[i].GetTensorTypeAndShape().Shape)).ToList();
    }

    private static List<(string Name, float[] Values, long[] Shape)> Run(GraphBuilder graph, long[] ids, long[] shape, bool int32 = false)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 2 };
        using var session = new InferenceSession(graph.ToBytes(), options);
        return Run(session, ids, shape, int32);
    }

    /// <summary>A graph with the checkpoint it reads its weights from (weights are read lazily when the model is written).</summary>
    private sealed class CaseGraph(string caseName, ClipTextBuildOptions options) : IDisposable
    {
        private readonly SafetensorsCheckpoint _weights = new(CaseFile(caseName, "model.safetensors"));
        public GraphBuilder Graph => field ??= ClipTextModel.Build(CaseConfig(caseName), _weights, options);
        public void Dispose() => _weights.Dispose();
    }

    private static List<(string Name, float[] Values, long[] Shape)> BuildAndRun(string caseName, ClipTextBuildOptions options, long[] ids, long[] shape, bool int32 = false)
    {
        using var c = new CaseGraph(caseName, options);
        return Run(c.Graph, ids, shape, int32);
    }

    private static void AssertMatchesGolden(string caseName, IEnumerable<(string Name, float[] Values, long[] Shape)> outputs)
    {
        using var golden = new GoldenTensors(CaseFile(caseName, "outputs.safetensors"));
        foreach (var (name, values, shape) in outputs)
        {
            Assert.True(golden.Contains(name), $"golden {caseName} has no output '{name}'");
            Assert.Equal(golden.Shape(name), shape);
            double err = GoldenTensors.RelativeError(values, golden.Float(name));
            Assert.True(err <= Tolerance, $"{caseName} {name}: relative error {err:E3} > {Tolerance:E0}");
        }
    }

    // ---- golden parity ------------------------------------------------------------------------

    [Fact]
    public void ClipTextModel_MatchesGolden_AllOutputs()
    {
        var (ids, shape) = GoldenIds(ClipCase);
        var outputs = BuildAndRun(ClipCase, new ClipTextBuildOptions { OutputHiddenStates = true }, ids, shape);

        Assert.Equal(["last_hidden_state", "pooler_output", "hidden_states.0", "hidden_states.1", "hidden_states.2", "hidden_states.3"],
            outputs.Select(o => o.Name));
        AssertMatchesGolden(ClipCase, outputs);
    }

    [Fact]
    public void ClipTextModelWithProjection_MatchesGolden_AllOutputs()
    {
        // WithProjection comes from config.json's "architectures".
        var (ids, shape) = GoldenIds(ProjectionCase);
        var outputs = BuildAndRun(ProjectionCase, new ClipTextBuildOptions { OutputHiddenStates = true }, ids, shape);

        Assert.Equal(["text_embeds", "last_hidden_state", "hidden_states.0", "hidden_states.1", "hidden_states.2", "hidden_states.3", "hidden_states.4"],
            outputs.Select(o => o.Name));
        AssertMatchesGolden(ProjectionCase, outputs);
    }

    [Fact]
    public void ProjectionCheckpoint_BuiltWithoutProjection_GivesGoldenPoolerOutput()
    {
        var (ids, shape) = GoldenIds(ProjectionCase);
        var outputs = BuildAndRun(ProjectionCase, new ClipTextBuildOptions { WithProjection = false, AllowUnusedKeys = true }, ids, shape);

        Assert.Equal(["last_hidden_state", "pooler_output"], outputs.Select(o => o.Name));
        AssertMatchesGolden(ProjectionCase, outputs);
    }

    [Fact]
    public void WithoutHiddenStates_OnlyTheOptimumBaseOutputs()
    {
        using var c = new CaseGraph(ProjectionCase, new ClipTextBuildOptions());
        var graph = c.Graph;
        Assert.Equal(["text_embeds", "last_hidden_state"], graph.Outputs.Select(o => o.Name));
        Assert.Equal(["input_ids"], graph.Inputs.Select(i => i.Name));
        var dims = graph.Inputs[0].Type.TensorType.Shape.Dim;
        Assert.Equal("batch", dims[0].DimParam);
        Assert.Equal(77, dims[1].DimValue);
        Assert.Equal((int)ElementType.Int64, graph.Inputs[0].Type.TensorType.ElemType);
    }

    [Fact]
    public void Int32InputIds_GiveIdenticalResults()
    {
        var (ids, shape) = GoldenIds(ClipCase);
        var int64 = BuildAndRun(ClipCase, new ClipTextBuildOptions { OutputHiddenStates = true }, ids, shape);
        using var c32 = new CaseGraph(ClipCase, new ClipTextBuildOptions { OutputHiddenStates = true, InputIdsType = ElementType.Int32 });
        Assert.Equal((int)ElementType.Int32, c32.Graph.Inputs[0].Type.TensorType.ElemType);
        var int32 = Run(c32.Graph, ids, shape, int32: true);

        Assert.Equal(int64.Select(o => o.Name), int32.Select(o => o.Name));
        for (int i = 0; i < int64.Count; i++)
        {
            Assert.Equal(int64[i].Values, int32[i].Values);
        }
    }

    [Fact]
    public void SavedWithExternalData_LoadsFromPathAndMatchesGolden()
    {
        string modelPath = Path.Combine(TempDir, "model.onnx");
        using (var c = new CaseGraph(ProjectionCase, new ClipTextBuildOptions { OutputHiddenStates = true }))
        {
            c.Graph.Save(modelPath, "model.onnx_data");
        }
        Assert.True(new FileInfo(Path.Combine(TempDir, "model.onnx_data")).Length > new FileInfo(modelPath).Length);

        using var options = new SessionOptions { IntraOpNumThreads = 2 };
        using var session = new InferenceSession(modelPath, options);
        var (ids, shape) = GoldenIds(ProjectionCase);
        AssertMatchesGolden(ProjectionCase, Run(session, ids, shape));
    }

    // ---- pooling rules ------------------------------------------------------------------------

    [Theory]
    [InlineData(2L, 4)]       // legacy config: argmax(input_ids) = first 49407 at position 4
    [InlineData(320L, 1)]     // eos_token_id 320: first position holding 320
    public void PoolerOutput_IsLastHiddenStateAtTheEosPosition(long eosTokenId, int expectedPosition)
    {
        var config = CaseConfig(ClipCase) with { EosTokenId = eosTokenId };
        using var weights = new SafetensorsCheckpoint(CaseFile(ClipCase, "model.safetensors"));
        var graph = ClipTextModel.Build(config, weights);
        var ids = new long[2 * 77];
        long[] row = [49406, 320, 1125, 320, 49407, 49407, 49407];
        for (int b = 0; b < 2; b++)
        {
            row.CopyTo(ids, b * 77);
            for (int t = row.Length; t < 77; t++) ids[b * 77 + t] = b == 0 ? 49407 : 0;
        }
        var outputs = Run(graph, ids, [2, 77]);
        var last = outputs.Single(o => o.Name == "last_hidden_state").Values;
        var pooled = outputs.Single(o => o.Name == "pooler_output").Values;
        int h = config.HiddenSize;
        for (int b = 0; b < 2; b++)
        {
            var expected = last.AsSpan((b * 77 + expectedPosition) * h, h).ToArray();
            Assert.Equal(expected, pooled.AsSpan(b * h, h).ToArray());
        }
    }

    // ---- checkpoint key checks ----------------------------------------------------------------

    /// <summary>Copies the golden checkpoint with renamed/dropped keys (rename returns null to drop) plus extra tensors.</summary>
    private static string CopyCheckpoint(string caseName, string dir, Func<string, string?> rename, params (string Name, long[] Shape)[] extra)
    {
        string src = CaseFile(caseName, "model.safetensors");
        string dst = Path.Combine(dir, "model.safetensors");
        using var file = SafetensorsFile.Open(src);
        var tensors = new List<SafetensorsWriter.Tensor>();
        foreach (var info in file.Tensors.Values)
        {
            if (rename(info.Name) is string name)
            {
                tensors.Add(new SafetensorsWriter.Tensor(name, info.DType, info.Shape, s => s.Write(file.RawBytes(info.Name))));
            }
        }
        foreach (var (name, shape) in extra)
        {
            tensors.Add(new SafetensorsWriter.Tensor(name, SafetensorsDType.F32, shape, s => s.Write(new byte[TensorShape.ElementCount(shape) * 4])));
        }
        SafetensorsWriter.Write(dst, tensors);
        return dst;
    }

    [Fact]
    public void MissingKeys_FailListingEveryMissingKey()
    {
        string dir = TempDir;
        const string a = "text_model.encoder.layers.1.mlp.fc2.bias";
        const string b = "text_model.final_layer_norm.weight";
        string path = CopyCheckpoint(ClipCase, dir, n => n is a or b ? null : n);
        using var weights = new SafetensorsCheckpoint(path);
        var ex = Assert.Throws<ModelLoadException>(() => ClipTextModel.Build(CaseConfig(ClipCase), weights));
        Assert.Contains("Missing 2 tensor(s)", ex.Message);
        Assert.Contains(a, ex.Message);
        Assert.Contains(b, ex.Message);
    }

    [Fact]
    public void ProjectionRequested_ButCheckpointHasNone_FailsNamingIt()
    {
        using var weights = new SafetensorsCheckpoint(CaseFile(ClipCase, "model.safetensors"));
        var ex = Assert.Throws<ModelLoadException>(() => ClipTextModel.Build(CaseConfig(ClipCase), weights, new ClipTextBuildOptions { WithProjection = true }));
        Assert.Contains("text_projection.weight", ex.Message);
    }

    [Fact]
    public void UnusedKeys_AreReported_ExceptKnownBuffers()
    {
        string dir = TempDir;
        const string stray = "text_model.encoder.layers.7.mlp.fc1.weight";
        string path = CopyCheckpoint(ClipCase, dir, n => n, (stray, [4, 4]), ("text_model.embeddings.position_ids", [1, 77]));
        using (var weights = new SafetensorsCheckpoint(path))
        {
            var ex = Assert.Throws<ModelLoadException>(() => ClipTextModel.Build(CaseConfig(ClipCase), weights));
            Assert.Contains("1 tensor(s) that the CLIP text model does not use", ex.Message);
            Assert.Contains(stray, ex.Message);
            Assert.DoesNotContain("position_ids", ex.Message);
        }
        using (var weights = new SafetensorsCheckpoint(path))
        {
            var graph = ClipTextModel.Build(CaseConfig(ClipCase), weights, new ClipTextBuildOptions { AllowUnusedKeys = true });
            Assert.Equal(2, graph.Outputs.Count);
        }
    }

    [Fact]
    public void ProjectionWeight_LeftUnread_IsReported()
    {
        using var weights = new SafetensorsCheckpoint(CaseFile(ProjectionCase, "model.safetensors"));
        var ex = Assert.Throws<ModelLoadException>(() => ClipTextModel.Build(CaseConfig(ProjectionCase), weights, new ClipTextBuildOptions { WithProjection = false }));
        Assert.Contains("text_projection.weight", ex.Message);
    }

    [Fact]
    public void ShapeMismatch_WithConfig_FailsNamingTheTensor()
    {
        using var weights = new SafetensorsCheckpoint(CaseFile(ClipCase, "model.safetensors"));
        var config = CaseConfig(ClipCase) with { IntermediateSize = 64 };
        var ex = Assert.Throws<ModelLoadException>(() => ClipTextModel.Build(config, weights));
        Assert.Contains("text_model.encoder.layers.0.mlp.fc1.weight is [128,32], expected [64,32]", ex.Message);
    }

    [Fact]
    public void KeyPrefix_ReadsASubModelOfALargerCheckpoint()
    {
        string dir = TempDir;
        const string prefix = "conditioner.embedders.1.model.";
        string path = CopyCheckpoint(ProjectionCase, dir, n => prefix + n, ("model.diffusion_model.out.2.weight", [4, 4]));
        using var weights = new SafetensorsCheckpoint(path);
        var graph = ClipTextModel.Build(CaseConfig(ProjectionCase), weights, new ClipTextBuildOptions { KeyPrefix = prefix, OutputHiddenStates = true });
        var (ids, shape) = GoldenIds(ProjectionCase);
        AssertMatchesGolden(ProjectionCase, Run(graph, ids, shape));
    }

    // ---- configs ------------------------------------------------------------------------------

    [Fact]
    public void Config_ParsesGoldenAndRejectsBadValues()
    {
        var c = CaseConfig(ProjectionCase);
        Assert.Equal(new ClipTextConfig(40, 4, 5, 160, "gelu", 1e-5, 32, 2, 49408, 77, "CLIPTextModelWithProjection"), c);
        Assert.True(c.HasProjection);
        Assert.True(c.UsesLegacyArgmaxPooling);
        Assert.False(CaseConfig(ClipCase).HasProjection);

        var ex = Assert.Throws<ModelLoadException>(() => ClipTextConfig.FromJson("""{"hidden_size": 30, "num_attention_heads": 4, "hidden_act": "relu"}"""));
        Assert.Contains("not divisible", ex.Message);
        Assert.Contains("relu", ex.Message);
        Assert.Throws<ModelLoadException>(() => ClipTextConfig.FromJson("{not json"));
        Assert.Throws<ModelLoadException>(() => ClipTextConfig.FromJson("""{"hidden_size": "big"}"""));
    }
}
