using System.Globalization;
using System.Numerics.Tensors;
using TurboGen.Weights;

namespace TurboGen.Merging;

/// <summary>
/// Merges safetensors checkpoints of one architecture into a new safetensors checkpoint, tensor by tensor:
/// a weighted sum (1 − w) · A + w · B, or an add-difference A + (B − C) · w (see <see cref="MergeMethod"/>).
/// <para>
/// How it works: first a plan is made from the three headers alone, and every problem is found before a byte is written —
/// a tensor whose shape differs between the files, a floating-point tensor in one file that is an integer tensor in another,
/// a tensor B has and C lacks (or the reverse), and tensors only A has under <see cref="OnlyInAPolicy.Error"/>; each error names
/// the tensor and the files. Then <see cref="SafetensorsWriter"/> streams the output: every merged tensor is read in chunks of
/// <see cref="CheckpointMergeOptions.ChunkElements"/> elements from each file with ordinary reads, combined in float32 and
/// written in A's dtype (F16 results beyond ±65504 fail, naming the tensor), so memory holds a few chunks whatever the
/// file sizes. Floating-point inputs of different precisions are converted to float32 for the arithmetic; integer tensors
/// (e.g. CLIP's <c>position_ids</c>) are copied from A. The output appears under its name only when complete.
/// </para>
/// </summary>
public static class CheckpointMerge
{
    /// <summary>The safetensors metadata entry recording how a merged file was made.</summary>
    public const string MetadataKey = "turbogen_merge";

    private enum Action { Merge, Copy, Drop }

    private sealed record Step(string Name, Action Action, SafetensorsTensorInfo A, SafetensorsTensorInfo? B, SafetensorsTensorInfo? C);

    /// <summary>Merges <paramref name="a"/>, <paramref name="b"/> (and <paramref name="c"/> for add-difference) into <paramref name="output"/>.</summary>
    /// <exception cref="InvalidRequestException">A bad weight, a missing or superfluous C, or an output that is an input or exists.</exception>
    /// <exception cref="ModelLoadException">An input is missing or corrupt, or the files do not match (names the tensor and files).</exception>
    public static CheckpointMergeReport Run(string a, string b, string? c, string output, CheckpointMergeOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        CheckRequest(a, b, c, output, options);
        using var inputA = MergeInput.Open("A", a);
        using var inputB = MergeInput.Open("B", b);
        using var inputC = c is null ? null : MergeInput.Open("C", c);
        var plan = Plan(inputA, inputB, inputC, options.OnlyInA);
        var notInA = new[] { inputB, inputC }.OfType<MergeInput>()
            .SelectMany(f => f.Tensors.Keys).Where(n => !inputA.Contains(n)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

        var buffers = new Buffers(options.ChunkElements, inputC is not null);   // one set for the whole merge: no per-tensor garbage
        var tensors = plan.Where(s => s.Action != Action.Drop).Select(s => new SafetensorsWriter.Tensor(s.Name, s.A.DType, s.A.Shape, stream =>
        {
            if (s.Action == Action.Copy) Copy(inputA, s.A, stream, buffers, cancellationToken);
            else Combine(s, inputA, inputB, inputC, options.Weight, stream, buffers, cancellationToken);
        })).ToList();
        SafetensorsWriter.Write(output, tensors, Metadata(inputA, options, a, b, c));
        return new CheckpointMergeReport(
            output,
            plan.Count(s => s.Action == Action.Merge),
            plan.Count(s => s.Action == Action.Copy),
            plan.Count(s => s.Action == Action.Drop),
            notInA,
            new FileInfo(output).Length);
    }

    private static void CheckRequest(string a, string b, string? c, string output, CheckpointMergeOptions options)
    {
        if (!float.IsFinite(options.Weight))
        {
            throw new InvalidRequestException("merge_weight", $"The merge weight must be a finite number, not {options.Weight.ToString(CultureInfo.InvariantCulture)}.");
        }
        if (options.ChunkElements < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "ChunkElements must be at least 1.");
        }
        if (options.Method == MergeMethod.AddDifference && c is null)
        {
            throw new InvalidRequestException("merge_base", "add-difference needs the base checkpoint C (A + (B − C) · w).");
        }
        if (options.Method == MergeMethod.WeightedSum && c is not null)
        {
            throw new InvalidRequestException("merge_base", "A weighted sum takes two checkpoints; a base checkpoint C is only for add-difference.");
        }
        string full = System.IO.Path.GetFullPath(output);
        foreach (string input in new[] { a, b, c }.OfType<string>())
        {
            if (string.Equals(System.IO.Path.GetFullPath(input), full, StringComparison.Ordinal))
            {
                throw new InvalidRequestException("merge_output", $"The output {output} is also an input; write the merge to a new file.");
            }
        }
        if (File.Exists(full) && !options.Overwrite)
        {
            throw new InvalidRequestException("merge_output", $"The output {output} exists; choose a new name or allow overwriting.");
        }
    }

    /// <summary>What to do with each of A's tensors (in A's file order), every mismatch found before anything is written.</summary>
    private static List<Step> Plan(MergeInput a, MergeInput b, MergeInput? c, OnlyInAPolicy onlyInA)
    {
        var steps = new List<Step>();
        foreach (var ta in a.Tensors.Values.OrderBy(t => t.Begin).ThenBy(t => t.Name, StringComparer.Ordinal))
        {
            string name = ta.Name;
            bool inB = b.Contains(name), inC = c?.Contains(name) ?? false;
            if (c is not null && inB != inC)
            {
                var (has, lacks) = inB ? (b, c) : (c, b);
                throw new ModelLoadException(lacks.Path,
                    $"Tensor '{name}' is in {has.Role} ({has.Path}) but not in {lacks.Role} ({lacks.Path}); add-difference needs it in both or in neither.");
            }
            if (!inB)
            {
                steps.Add(onlyInA switch
                {
                    OnlyInAPolicy.Keep => new Step(name, Action.Copy, ta, null, null),
                    OnlyInAPolicy.Drop => new Step(name, Action.Drop, ta, null, null),
                    _ => throw new ModelLoadException(b.Path,
                        $"Tensor '{name}' of A ({a.Path}) is not in B ({b.Path}){(c is null ? "" : " nor C")}; keep or drop tensors only A has, or merge matching files."),
                });
                continue;
            }
            var tb = b.Info(name);
            var tc = c?.Info(name);
            CheckMatch(a, ta, b, tb);
            if (c is not null) CheckMatch(a, ta, c, tc!);
            bool floating = IsFloat(ta.DType);
            steps.Add(new Step(name, floating ? Action.Merge : Action.Copy, ta, tb, tc));
        }
        return steps;
    }

    private static void CheckMatch(MergeInput a, SafetensorsTensorInfo ta, MergeInput other, SafetensorsTensorInfo t)
    {
        if (!ta.Shape.SequenceEqual(t.Shape))
        {
            throw new ModelLoadException(other.Path,
                $"Tensor '{ta.Name}' is [{string.Join(",", ta.Shape)}] in A ({a.Path}) but [{string.Join(",", t.Shape)}] in {other.Role} ({other.Path}); the checkpoints are not the same architecture.");
        }
        bool floatA = IsFloat(ta.DType), floatOther = IsFloat(t.DType);
        if (floatA != floatOther || (!floatA && ta.DType != t.DType))
        {
            throw new ModelLoadException(other.Path,
                $"Tensor '{ta.Name}' is {ta.DType} in A ({a.Path}) but {t.DType} in {other.Role} ({other.Path}); only floating-point precisions can be mixed.");
        }
    }

    private static bool IsFloat(SafetensorsDType t) => t is SafetensorsDType.F32 or SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.F64;

    /// <summary>The chunk buffers of a merge: float32 values of A, B and C, raw input bytes (up to F64) and encoded output bytes.</summary>
    private sealed class Buffers(int chunk, bool three)
    {
        public readonly int Chunk = chunk;
        public readonly float[] A = new float[chunk], B = new float[chunk], C = three ? new float[chunk] : [];
        public readonly byte[] Raw = new byte[chunk * 8L], Encoded = new byte[chunk * 8L];
    }

    private static void Copy(MergeInput a, SafetensorsTensorInfo t, Stream stream, Buffers buffers, CancellationToken ct)
    {
        int size = SafetensorsFile.DTypeSize(t.DType);
        for (long first = 0; first < t.ElementCount; first += buffers.Chunk)
        {
            ct.ThrowIfCancellationRequested();
            int n = (int)Math.Min(buffers.Chunk, t.ElementCount - first);
            a.ReadRaw(t, first, buffers.Raw.AsSpan(0, n * size));
            stream.Write(buffers.Raw, 0, n * size);
        }
    }

    private static void Combine(Step s, MergeInput a, MergeInput b, MergeInput? c, float w, Stream stream, Buffers buffers, CancellationToken ct)
    {
        for (long first = 0; first < s.A.ElementCount; first += buffers.Chunk)
        {
            ct.ThrowIfCancellationRequested();
            int n = (int)Math.Min(buffers.Chunk, s.A.ElementCount - first);
            Span<float> x = buffers.A.AsSpan(0, n), y = buffers.B.AsSpan(0, n);
            a.ReadFloat32(s.A, first, x, buffers.Raw);
            b.ReadFloat32(s.B!, first, y, buffers.Raw);
            if (c is null)
            {
                TensorPrimitives.Multiply(x, 1f - w, x);           // (1 − w) · A
                TensorPrimitives.MultiplyAdd(y, w, x, x);          // + w · B
            }
            else
            {
                Span<float> z = buffers.C.AsSpan(0, n);
                c.ReadFloat32(s.C!, first, z, buffers.Raw);
                TensorPrimitives.Subtract(y, z, y);                // B − C
                TensorPrimitives.MultiplyAdd(y, w, x, x);          // A + (B − C) · w
            }
            int bytes = FloatEncoding.Encode(x, s.A.DType, buffers.Encoded, s.Name, a.Path);
            stream.Write(buffers.Encoded, 0, bytes);
        }
    }

    private static Dictionary<string, string> Metadata(MergeInput a, CheckpointMergeOptions options, string pathA, string pathB, string? pathC)
    {
        string w = options.Weight.ToString("R", CultureInfo.InvariantCulture);
        string formula = options.Method == MergeMethod.WeightedSum ? $"(1 - {w}) * A + {w} * B" : $"A + (B - C) * {w}";
        string files = $"A={System.IO.Path.GetFileName(pathA)}; B={System.IO.Path.GetFileName(pathB)}" + (pathC is null ? "" : $"; C={System.IO.Path.GetFileName(pathC)}");
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { [MetadataKey] = $"{formula}; {files}" };
        if (a.Metadata.TryGetValue("format", out string? format)) metadata["format"] = format;
        return metadata;
    }
}
