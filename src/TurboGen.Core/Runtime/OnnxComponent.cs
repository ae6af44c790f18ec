using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TurboGen.Tensors;

namespace TurboGen.Runtime;

/// <summary>
/// One ONNX Runtime session (created once, reused for every request) plus the plumbing every component needs:
/// reading the model's declared input/output types, converting float32 ⇄ float16 and int32/int64 at the
/// boundary, and running with a <see cref="CancellationToken"/> that terminates a run in progress.
/// </summary>
public abstract class OnnxComponent : IDisposable
{
    /// <summary>Takes ownership of <paramref name="session"/> (disposed with this component).</summary>
    /// <param name="name">The component's name in messages and timings ("unet", "text_encoder", "vae_decoder", …).</param>
    /// <param name="session">The loaded session.</param>
    /// <param name="path">The model.onnx file it was loaded from (named in errors).</param>
    protected OnnxComponent(string name, InferenceSession session, string path)
    {
        Name = name;
        Session = session;
        Path = path;
    }

    /// <summary>The component's name in error messages and timings ("unet", "text_encoder_2", "vae_decoder", …).</summary>
    public string Name { get; }

    /// <summary>The model.onnx file the session was loaded from.</summary>
    public string Path { get; }

    /// <summary>The ONNX Runtime session, owned by this component.</summary>
    protected InferenceSession Session { get; }

    /// <summary>The model's declared inputs by name (element type, dimensions; −1 for a symbolic dimension).</summary>
    public IReadOnlyDictionary<string, NodeMetadata> InputMetadata => Session.InputMetadata;

    /// <summary>The model's declared outputs by name.</summary>
    public IReadOnlyDictionary<string, NodeMetadata> OutputMetadata => Session.OutputMetadata;

    /// <summary>
    /// Release this session's activation memory to the OS at the end of every run (ONNX Runtime's CPU arena shrinkage),
    /// see <see cref="RuntimeOptions.ReleaseMemoryAfterRun"/>.
    /// </summary>
    public bool ReleaseMemoryAfterRun { get; init; }

    /// <summary>Number of completed runs (tests use it to prove work was or wasn't repeated).</summary>
    public int RunCount => _runCount;
    private int _runCount;

    /// <summary>Whether the model declares an input of that name.</summary>
    public bool HasInput(string name) => Session.InputMetadata.ContainsKey(name);

    /// <summary>Whether the model declares an output of that name.</summary>
    public bool HasOutput(string name) => Session.OutputMetadata.ContainsKey(name);

    /// <summary>The declared element type of an input (float, float16, int64, …).</summary>
    protected TensorElementType InputType(string name) => Session.InputMetadata[name].ElementDataType;

    /// <summary>The declared rank of an input (0 for a scalar).</summary>
    protected int InputRank(string name) => Session.InputMetadata[name].Dimensions.Length;

    /// <summary>"name: type[dims]" for every input and output, for error messages.</summary>
    public string DescribeIo() => DescribeIo(Session);

    /// <summary>"inputs {name: type[dims]; …}, outputs {…}" for <paramref name="session"/>; symbolic dimensions by name, unknown ones as "?".</summary>
    public static string DescribeIo(InferenceSession session)
    {
        static string D(KeyValuePair<string, NodeMetadata> kv) =>
            $"{kv.Key}: {kv.Value.ElementDataType}[{string.Join(",", kv.Value.Dimensions.Select((d, i) => d < 0 ? (kv.Value.SymbolicDimensions.ElementAtOrDefault(i) is { Length: > 0 } s ? s : "?") : d.ToString()))}]";
        return "inputs {" + string.Join("; ", session.InputMetadata.Select(D)) + "}, outputs {" + string.Join("; ", session.OutputMetadata.Select(D)) + "}";
    }

    /// <summary>A float input in the element type the model declares (float32 as-is without a copy, float16 converted).</summary>
    protected OrtValue FloatInput(string name, float[] data, long[] shape)
    {
        var type = InputType(name);
        switch (type)
        {
            case TensorElementType.Float:
                return OrtValue.CreateTensorValueFromMemory(data, shape);
            case TensorElementType.Float16:
                var half = new Float16[data.Length];
                for (int i = 0; i < data.Length; i++) half[i] = (Float16)data[i];
                return OrtValue.CreateTensorValueFromMemory(half, shape);
            default:
                throw new ModelContractException(Path, $"{Name}: input '{name}' is {type}; expected float32 or float16. The model has {DescribeIo()}.");
        }
    }

    /// <summary>An integer input (int32 or int64 as declared).</summary>
    protected OrtValue IntInput(string name, ReadOnlySpan<int> values, long[] shape)
    {
        var type = InputType(name);
        switch (type)
        {
            case TensorElementType.Int64:
                var l = new long[values.Length];
                for (int i = 0; i < values.Length; i++) l[i] = values[i];
                return OrtValue.CreateTensorValueFromMemory(l, shape);
            case TensorElementType.Int32:
                return OrtValue.CreateTensorValueFromMemory(values.ToArray(), shape);
            default:
                throw new ModelContractException(Path, $"{Name}: input '{name}' is {type}; expected int32 or int64. The model has {DescribeIo()}.");
        }
    }

    /// <summary>The <c>timestep</c> input as the model declares it: rank 0 or [1]/[B]; float32, float16, int64 or int32.</summary>
    protected OrtValue TimestepValue(float t, int batch)
    {
        var meta = InputMetadata["timestep"];
        long[] shape = meta.Dimensions.Length == 0 ? [] : [meta.Dimensions[0] == 1 ? 1 : batch];
        int n = shape.Length == 0 ? 1 : (int)shape[0];
        return meta.ElementDataType switch
        {
            TensorElementType.Float => OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(t, n).ToArray(), shape),
            TensorElementType.Float16 => OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat((Float16)t, n).ToArray(), shape),
            TensorElementType.Int64 => OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat((long)MathF.Round(t), n).ToArray(), shape),
            _ => OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat((int)MathF.Round(t), n).ToArray(), shape),
        };
    }

    /// <summary>Copies an output to float32 (converting float16).</summary>
    protected static FloatTensor ReadFloat(OrtValue value)
    {
        var info = value.GetTensorTypeAndShape();
        long[] shape = info.Shape;
        switch (info.ElementDataType)
        {
            case TensorElementType.Float:
                return new FloatTensor(value.GetTensorDataAsSpan<float>().ToArray(), shape);
            case TensorElementType.Float16:
                var src = value.GetTensorDataAsSpan<Float16>();
                var dst = new float[src.Length];
                for (int i = 0; i < src.Length; i++) dst[i] = (float)src[i];
                return new FloatTensor(dst, shape);
            default:
                throw new InvalidOperationException($"Output is {info.ElementDataType}, expected float.");
        }
    }

    /// <summary>
    /// Runs the session and returns the outputs with the milliseconds spent in ONNX Runtime (nothing of a run is kept in the
    /// component, so concurrent runs do not share state). The token terminates a run in progress (ONNX Runtime run termination)
    /// and is checked before and after.
    /// </summary>
    protected (IDisposableReadOnlyCollection<OrtValue> Outputs, double Milliseconds) Run(
        IReadOnlyList<string> inputNames, IReadOnlyList<OrtValue> inputs, IReadOnlyList<string> outputNames, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var runOptions = new RunOptions();
        if (ReleaseMemoryAfterRun) runOptions.AddRunConfigEntry("memory.enable_memory_arena_shrinkage", "cpu:0");
        using var registration = cancellationToken.Register(() => runOptions.Terminate = true);
        var sw = Stopwatch.StartNew();
        try
        {
            var result = Session.Run(runOptions, inputNames, inputs, outputNames);
            double milliseconds = sw.Elapsed.TotalMilliseconds;
            Interlocked.Increment(ref _runCount);
            return (result, milliseconds);
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (OnnxRuntimeException e)
        {
            throw new TurboGenException($"{Name} failed in ONNX Runtime: {e.Message.Trim()}", e);
        }
    }

    /// <summary>Disposes the session.</summary>
    public void Dispose()
    {
        Session.Dispose();
        GC.SuppressFinalize(this);
    }
}
