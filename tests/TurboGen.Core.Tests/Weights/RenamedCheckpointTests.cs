using System.Runtime.InteropServices;
using TurboGen.Testing;
using TurboGen.Weights;

namespace TurboGen.Core.Tests.Weights;

public sealed class RenamedCheckpointTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("turbogen-renamed");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static float[] Sequence(int n, float scale = 1f) => Enumerable.Range(0, n).Select(i => i * scale).ToArray();

    private SafetensorsCheckpoint Source(params SafetensorsWriter.Tensor[] tensors)
    {
        string path = Path.Combine(_dir, $"{Guid.NewGuid():N}.safetensors");
        SafetensorsWriter.Write(path, tensors);
        return new SafetensorsCheckpoint(path);
    }

    private static float[] Floats(WeightData data) => MemoryMarshal.Cast<byte, float>(data.ToArray()).ToArray();

    [Fact]
    public void Chunk_SplitsAFusedProjection_InAllThreeReadPaths()
    {
        // in_proj_weight [3·C, C] with C = 3: rows 0-2 = q, 3-5 = k, 6-8 = v.
        using var source = Source(SafetensorsWriter.Tensor.FromArray("attn.in_proj_weight", SafetensorsDType.F32, [9, 3], Sequence(27)));
        var view = new RenamedCheckpoint(source,
        [
            TensorMapping.ChunkOf("q_proj.weight", "attn.in_proj_weight", 0, 3),
            TensorMapping.ChunkOf("k_proj.weight", "attn.in_proj_weight", 1, 3),
            TensorMapping.ChunkOf("v_proj.weight", "attn.in_proj_weight", 2, 3),
        ]);

        Assert.Equal([3L, 3L], view.Shape("k_proj.weight"));
        float[] k = [9, 10, 11, 12, 13, 14, 15, 16, 17];
        Assert.Equal(k, view.ReadFloat32("k_proj.weight"));
        Assert.Equal(k, Floats(view.Float32("k_proj.weight")));
        Assert.Equal([9f, 12, 15, 10, 13, 16, 11, 14, 17], Floats(view.Float32Transposed("k_proj.weight")));
        Assert.Equal(Sequence(9).Select(v => v + 18).ToArray(), Floats(view.Float32("v_proj.weight")));
        Assert.Equal(["k_proj.weight", "v_proj.weight"], view.Used.Order());
        Assert.Equal(["q_proj.weight", "k_proj.weight", "v_proj.weight"], view.Names);
    }

    [Fact]
    public void Chunk_OfALargeF16Tensor_StreamsTheRightWindowAcrossConversionChunks()
    {
        // 3 × 40000 × 3 elements: the chunk boundaries (120000, 240000 elements) do not align with the 65536-element conversion chunks.
        var values = Sequence(360000).Select(v => (Half)(v % 1000 - 500)).ToArray();
        using var source = Source(SafetensorsWriter.Tensor.FromArray("w", SafetensorsDType.F16, [120000, 3], values));
        var view = new RenamedCheckpoint(source, [TensorMapping.ChunkOf("b", "w", 1, 3)]);
        float[] expected = values.Skip(120000).Take(120000).Select(h => (float)h).ToArray();
        Assert.Equal([40000L, 3L], view.Shape("b"));
        Assert.Equal(expected, Floats(view.Float32("b")));
        Assert.Equal(expected, view.ReadFloat32("b"));
    }

    [Fact]
    public void ConvToLinear_DropsTheUnitKernelDims_AndTransposeSwapsAxes()
    {
        using var source = Source(
            SafetensorsWriter.Tensor.FromArray("attn.q.weight", SafetensorsDType.F32, [2, 3, 1, 1], Sequence(6)),
            SafetensorsWriter.Tensor.FromArray("text_projection", SafetensorsDType.F32, [2, 3], Sequence(6)));
        var view = new RenamedCheckpoint(source,
        [
            new TensorMapping("to_q.weight", "attn.q.weight", TensorTransform.ConvToLinear),
            new TensorMapping("text_projection.weight", "text_projection", TensorTransform.Transpose),
        ], "test view");

        Assert.Equal([2L, 3L], view.Shape("to_q.weight"));
        Assert.Equal(Sequence(6), Floats(view.Float32("to_q.weight")));
        Assert.Equal([0f, 3, 1, 4, 2, 5], Floats(view.Float32Transposed("to_q.weight")));

        // open_clip's [width=2, proj=3] x·P  →  transformers' [proj, width] weight.
        Assert.Equal([3L, 2L], view.Shape("text_projection.weight"));
        float[] weight = [0, 3, 1, 4, 2, 5];
        Assert.Equal(weight, view.ReadFloat32("text_projection.weight"));
        Assert.Equal(weight, Floats(view.Float32("text_projection.weight")));
        Assert.Equal(Sequence(6), Floats(view.Float32Transposed("text_projection.weight")));
        Assert.Equal("test view", view.Source);
    }

    [Fact]
    public void UnsuitableShapes_AndUnknownNames_GiveModelLoadExceptions()
    {
        using var source = Source(
            SafetensorsWriter.Tensor.FromArray("w", SafetensorsDType.F32, [4, 2], Sequence(8)),
            SafetensorsWriter.Tensor.FromArray("conv", SafetensorsDType.F32, [2, 2, 3, 3], Sequence(36)));
        var view = new RenamedCheckpoint(source,
        [
            TensorMapping.ChunkOf("third", "w", 0, 3),
            new TensorMapping("linear", "conv", TensorTransform.ConvToLinear),
            new TensorMapping("missing", "nothing"),
        ], "view");

        Assert.Contains("'w' in view (read as 'third') has shape [4,2]: dimension 0 cannot be split into 3 equal parts",
            Assert.Throws<ModelLoadException>(() => view.Shape("third")).Message);
        Assert.Contains("expected a 1×1 convolution weight", Assert.Throws<ModelLoadException>(() => view.Float32("linear")).Message);
        Assert.Throws<ModelLoadException>(() => view.Shape("missing"));
        Assert.Contains("has no tensor 'other'", Assert.Throws<ModelLoadException>(() => view.Shape("other")).Message);
        Assert.False(view.Contains("w"));
        Assert.Throws<ArgumentException>(() => new RenamedCheckpoint(source, [new TensorMapping("a", "w"), new TensorMapping("a", "conv")]));
        Assert.Throws<ArgumentException>(() => new RenamedCheckpoint(source, [TensorMapping.ChunkOf("a", "w", 3, 3)]));
    }
}
