using System.Runtime.InteropServices;
using TurboGen.Graphs;
using TurboGen.Testing;
using TurboGen.Weights;

namespace TurboGen.Core.Tests.Weights;

/// <summary>Float16 weights from checkpoints, float16 constants and casts in <see cref="GraphBuilder"/>, and <see cref="BuildPrecisions"/>.</summary>
public sealed class Float16WeightsTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("turbogen-fp16");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string GoldenVae => Path.Combine(TestPaths.GoldenCase("vae_tiny"), "diffusion_pytorch_model.safetensors");

    private static Half[] Halves(WeightData data) => MemoryMarshal.Cast<byte, Half>(data.ToArray()).ToArray();

    [Fact]
    public void F16Checkpoint_IsCopiedWithoutConversion_AndTransposedAsIs()
    {
        string f16 = Path.Combine(_dir, "vae.fp16.safetensors");
        GoldenDiffusersFolder.WriteF16Copy(GoldenVae, f16);
        using var file = SafetensorsFile.Open(f16);
        using var checkpoint = new SafetensorsCheckpoint(f16);
        const string linear = "decoder.mid_block.attentions.0.to_q.weight";
        const string conv = "decoder.conv_in.weight";

        Assert.Equal(file.RawBytes(conv).ToArray(), checkpoint.Float16(conv).ToArray());

        long[] shape = file.Info(linear).Shape;
        var source = MemoryMarshal.Cast<byte, Half>(file.RawBytes(linear)).ToArray();
        var transposed = Halves(checkpoint.Float16Transposed(linear));
        Assert.Equal(source.Length, transposed.Length);
        for (long r = 0; r < shape[0]; r++)
        {
            for (long c = 0; c < shape[1]; c++)
            {
                Assert.Equal(source[r * shape[1] + c], transposed[c * shape[0] + r]);
            }
        }
    }

    [Fact]
    public void F32Checkpoint_IsRoundedToNearestFloat16()
    {
        using var checkpoint = new SafetensorsCheckpoint(GoldenVae);
        const string linear = "decoder.mid_block.attentions.0.to_q.weight";
        var expected = checkpoint.ReadFloat32("decoder.conv_in.weight").Select(v => (Half)v).ToArray();
        Assert.Equal(expected, Halves(checkpoint.Float16("decoder.conv_in.weight")));

        var transposed32 = MemoryMarshal.Cast<byte, float>(checkpoint.Float32Transposed(linear).ToArray()).ToArray();
        Assert.Equal(transposed32.Select(v => (Half)v).ToArray(), Halves(checkpoint.Float16Transposed(linear)));
        Assert.Contains(expected, h => (float)h != 0f);
    }

    [Fact]
    public void LargeWeights_AreConvertedInChunks()
    {
        // More than one 64 Ki-value chunk, written through a stream that hands over odd-sized pieces.
        var values = Enumerable.Range(0, 200_001).Select(i => (float)Math.Sin(i) * 100f).ToArray();
        var source = WeightData.FromWriter(values.Length * 4L, s =>
        {
            var bytes = MemoryMarshal.AsBytes(values.AsSpan());
            for (int at = 0; at < bytes.Length; at += 7777)
            {
                s.Write(bytes.Slice(at, Math.Min(7777, bytes.Length - at)));
            }
        });
        var converted = Float16Weights.FromFloat32(source, "big", "test");
        Assert.Equal(values.Length * 2L, converted.ByteLength);
        Assert.Equal(values.Select(v => (Half)v).ToArray(), Halves(converted));
    }

    [Fact]
    public void ValuesBeyondTheFloat16Range_FailTheWrite_NamingTheTensor()
    {
        string path = Path.Combine(_dir, "big.safetensors");
        SafetensorsWriter.Write(path, [SafetensorsWriter.Tensor.FromArray("w", SafetensorsDType.F32, [3], new[] { 1f, 70000f, 2f })]);
        using var checkpoint = new SafetensorsCheckpoint(path);
        var data = checkpoint.Float16("w");   // lazy: fails when written
        var e = Assert.Throws<ModelLoadException>(() => data.ToArray());
        Assert.Contains("'w'", e.Message);
        Assert.Contains("float32", e.Message);

        // Infinities in the checkpoint itself stay infinities (as torch .half()).
        Assert.Equal([Half.PositiveInfinity], Float16Weights.FromFloat32([float.PositiveInfinity], "inf", "test"));
    }

    [Fact]
    public void GraphBuilder_ConstantsFollowTheFloatType_AndCastsOnlyInFloat16()
    {
        var g32 = new GraphBuilder("g");
        var x32 = g32.Input("x", ElementType.Float, 2);
        Assert.Equal(x32, g32.FromFloat32(x32));
        Assert.Equal(x32, g32.ToFloat32(x32));
        var y32 = g32.InFloat32(x32, v => g32.Mul(v, g32.Const(2f)));
        Assert.Equal(["Mul"], g32.Nodes.Select(n => n.OpType));
        Assert.All(g32.Initializers, i => Assert.Equal(ElementType.Float, i.Type));
        Assert.False(y32.IsNone);

        var g = new GraphBuilder("g") { FloatType = ElementType.Float16 };
        var x = g.FromFloat32(g.Input("x", ElementType.Float, 2));
        var half = g.Const(0.5f);
        var scales = g.ConstFloat32([1f, 2f], 2);
        var y = g.InFloat32(g.Mul(x, half), v => g.Softmax(g.Mul(v, g.Const(3f))));
        g.Output(g.ToFloat32(y), "y", ElementType.Float, 2);

        Assert.Equal(["Cast", "Mul", "Cast", "Mul", "Softmax", "Cast", "Cast", "Identity"], g.Nodes.Select(n => n.OpType));
        Assert.Equal([ElementType.Float16, ElementType.Float, ElementType.Float], g.Initializers.Select(i => i.Type));
        Assert.Equal((Half)0.5f, Halves(g.Initializers[0].Data).Single());
        Assert.Equal(ElementType.Float16, g.FloatType);   // restored after InFloat32
        Assert.Contains(scales.Name, g.Initializers.Select(i => i.Name));

        using (g.FloatTypeScope(ElementType.Float))
        {
            Assert.Equal(ElementType.Float, g.FloatType);
        }
        Assert.Equal(ElementType.Float16, g.FloatType);
        Assert.Throws<ArgumentOutOfRangeException>(() => new GraphBuilder("bad") { FloatType = ElementType.Int64 });

        // The graph is valid ONNX with float32 I/O.
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(g.ToBytes());
        Assert.Equal(typeof(float), session.InputMetadata["x"].ElementType);
        Assert.Equal(typeof(float), session.OutputMetadata["y"].ElementType);
    }

    [Theory]
    [InlineData("cpu", BuildPrecision.Float32)]
    [InlineData("CPU", BuildPrecision.Float32)]
    [InlineData("cuda", BuildPrecision.Float16)]
    [InlineData("tensorrt", BuildPrecision.Float16)]
    [InlineData("directml", BuildPrecision.Float16)]
    [InlineData(" coreml ", BuildPrecision.Float16)]
    public void ForProvider_Float16ForGpuProviders(string provider, BuildPrecision expected) =>
        Assert.Equal(expected, BuildPrecisions.ForProvider(provider));

    [Fact]
    public void ForProvider_UnknownProvider_NamesTheParameter()
    {
        var e = Assert.Throws<InvalidRequestException>(() => BuildPrecisions.ForProvider("tpu"));
        Assert.Equal("provider", e.Parameter);
    }

    [Fact]
    public void Parse_AcceptsShortAndLongNames()
    {
        Assert.Equal(BuildPrecision.Float16, BuildPrecisions.Parse("FP16"));
        Assert.Equal(BuildPrecision.Float32, BuildPrecisions.Parse("float32"));
        Assert.Equal("fp16", BuildPrecision.Float16.ShortName());
        Assert.Equal(ElementType.Float16, BuildPrecision.Float16.FloatType());
        Assert.Equal("--precision", Assert.Throws<InvalidRequestException>(() => BuildPrecisions.Parse("int8", "--precision")).Parameter);
    }
}
