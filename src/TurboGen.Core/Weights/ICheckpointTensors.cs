namespace TurboGen.Weights;

/// <summary>
/// The weights an architecture is built from, addressed by the diffusers/transformers key names
/// (<c>down_blocks.1.attentions.0.proj_in.weight</c>). Implementations: one or more safetensors files
/// (<see cref="SafetensorsCheckpoint"/>), or a renaming view over a single-file checkpoint. Every key read is
/// recorded so a builder can report keys the checkpoint has but the architecture never used.
/// </summary>
public interface ICheckpointTensors
{
    /// <summary>A description for error messages (file path(s)).</summary>
    string Source { get; }

    /// <summary>Every tensor name the checkpoint offers.</summary>
    IEnumerable<string> Names { get; }

    /// <summary>Whether a tensor of that name exists (does not count as a read).</summary>
    bool Contains(string name);

    /// <summary>The tensor's shape; a missing name throws <see cref="ModelLoadException"/> naming the checkpoint and the tensor.</summary>
    long[] Shape(string name);

    /// <summary>The tensor as float32 bytes, produced lazily when the model is written (no copy is held).</summary>
    WeightData Float32(string name);

    /// <summary>A 2-D tensor [rows, cols] written transposed as [cols, rows] float32 (PyTorch Linear [out,in] → ONNX MatMul [in,out]).</summary>
    WeightData Float32Transposed(string name);

    /// <summary>The tensor materialised as float32 (for small tensors that need arithmetic, e.g. splitting a fused projection).</summary>
    float[] ReadFloat32(string name);

    /// <summary>Names read so far through this object.</summary>
    IReadOnlyCollection<string> Used { get; }

    /// <summary>The tensor as float16 bytes for float16 builds (default: <see cref="Float32"/> converted; F16 → F32 → F16 is exact).</summary>
    WeightData Float16(string name) => Float16Weights.FromFloat32(Float32(name), name, Source);

    /// <summary>As <see cref="Float32Transposed"/>, in float16 (default: converted from <see cref="Float32Transposed"/>).</summary>
    WeightData Float16Transposed(string name) => Float16Weights.FromFloat32(Float32Transposed(name), name, Source);
}
