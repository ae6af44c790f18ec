using BenchmarkDotNet.Attributes;
using TurboGen.Imaging;
using TurboGen.Scheduling;
using TurboGen.Testing;
using TurboGen.Text;
using TurboGen.Weights;

namespace TurboGen.Benchmarks;

/// <summary>The CLIP tokenizer on a typical prompt (runs on every keystroke in the real-time app).</summary>
[MemoryDiagnoser]
public class TokenizerBenchmarks
{
    private ClipTokenizer _tokenizer = null!;

    [GlobalSetup]
    public void Setup() => _tokenizer = ClipTokenizer.FromBpeVocabGz(TestPaths.ClipBpeVocabGz, padId: 49407);

    [Benchmark]
    public TokenizedPrompt Encode() => _tokenizer.Encode("A cinematic shot of a baby racoon wearing an intricate italian priest robe, golden hour, 8k");
}

/// <summary>One Euler-ancestral step and the input scaling over a 512² latent [1,4,64,64].</summary>
public class SchedulerBenchmarks
{
    private readonly IScheduler _scheduler = Schedulers.Create(SchedulerConfig.FromJson(TinyModels.SchedulerJson("EulerAncestralDiscreteScheduler")));
    private readonly float[] _x = SeededNoise.Create(1, 4 * 64 * 64), _eps = SeededNoise.Create(2, 4 * 64 * 64), _noise = SeededNoise.Create(3, 4 * 64 * 64);
    private readonly float[] _out = new float[4 * 64 * 64], _x0 = new float[4 * 64 * 64];
    private Schedule _schedule = null!;

    [GlobalSetup]
    public void Setup() => _schedule = _scheduler.SetTimesteps(4);

    [Benchmark]
    public void Step() => _scheduler.Step(_schedule, 1, _eps, _x, _noise, _out, _x0);

    [Benchmark]
    public void ScaleModelInput() => _scheduler.ScaleModelInput(_schedule, 1, _x, _out);

    [Benchmark]
    public void Noise512() => SeededNoise.Fill(42, _out);
}

/// <summary>Turning a decoded 512² image tensor into pixels and into PNG/JPEG/WebP bytes (the server does this per frame).</summary>
[MemoryDiagnoser]
public class ImageBenchmarks
{
    private readonly float[] _chw = SeededNoise.Create(5, 3 * 512 * 512);
    private RgbImage _image = null!;

    [GlobalSetup]
    public void Setup() => _image = ImageTensors.FromNchw(_chw, 512, 512, ImageRange.MinusOneToOne);

    [Benchmark]
    public RgbImage FromNchw() => ImageTensors.FromNchw(_chw, 512, 512, ImageRange.MinusOneToOne);

    [Benchmark]
    public byte[] EncodeJpeg() => ImageCodec.EncodeJpeg(_image, 85);

    [Benchmark]
    public byte[] EncodeWebp() => ImageCodec.EncodeWebp(_image, 80);

    [Benchmark]
    public byte[] EncodePng() => ImageCodec.EncodePng(_image);
}

/// <summary>float32 → float16 conversion of a UNet input (fp16-I/O models) and safetensors F16 → F32 weight conversion.</summary>
public class ConversionBenchmarks
{
    private readonly float[] _latent = SeededNoise.Create(9, 4 * 64 * 64);
    private readonly Half[] _half = new Half[1 << 20];
    private readonly float[] _float = new float[1 << 20];
    private readonly byte[] _f16Bytes = new byte[2 << 20];

    [Benchmark]
    public Microsoft.ML.OnnxRuntime.Float16[] LatentToFloat16()
    {
        var h = new Microsoft.ML.OnnxRuntime.Float16[_latent.Length];
        for (int i = 0; i < h.Length; i++) h[i] = (Microsoft.ML.OnnxRuntime.Float16)_latent[i];
        return h;
    }

    [Benchmark]
    public void WeightsF16ToF32_1M() => SafetensorsFile.ConvertToFloat32(SafetensorsDType.F16, _f16Bytes, _float);

    [Benchmark]
    public void HalfToSingle_1M() => System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(_half, _float);
}
