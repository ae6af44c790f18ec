using Microsoft.ML.OnnxRuntime;
using TurboGen.Imaging;
using TurboGen.Tensors;

namespace TurboGen.Runtime;

/// <summary>How a model-based ControlNet preprocessor wants its input (defaults: Depth-Anything's ImageNet normalisation at 518², multiples of 14).</summary>
public sealed record PreprocessorModelOptions
{
    /// <summary>Longest input side when the model's input size is dynamic (rounded down to <see cref="SizeMultiple"/>).</summary>
    public int InputSize { get; init; } = 518;

    /// <summary>The model's input sides must be multiples of this (14 for ViT patch-14 models such as Depth-Anything).</summary>
    public int SizeMultiple { get; init; } = 14;

    /// <summary>Per-channel mean and std applied to x/255 (ImageNet by default).</summary>
    public float[] Mean { get; init; } = [0.485f, 0.456f, 0.406f];

    /// <summary>Per-channel standard deviation the (x/255 − mean) values are divided by (ImageNet's 0.229, 0.224, 0.225 by default).</summary>
    public float[] Std { get; init; } = [0.229f, 0.224f, 0.225f];

    /// <summary>Invert the normalised map (for models whose output is distance rather than nearness).</summary>
    public bool Invert { get; init; }
}

/// <summary>
/// A user-supplied ONNX preprocessor (depth, normals, pose maps…): one float image input [1,3,H,W] and one output [1,H',W'] or
/// [1,1,H',W'] (a single map) or [1,3,H',W'] (an RGB map). The image is stretched to the model's input size (its fixed dims, or
/// <see cref="PreprocessorModelOptions.InputSize"/> keeping the aspect ratio), normalised with mean/std; a single map is scaled to
/// 0–255 by its own min and max (as the ControlNet depth annotators do), an RGB map is clamped from [0,1]; the result is resized
/// back to the image's size.
/// </summary>
public sealed class PreprocessorModel : OnnxComponent
{
    private readonly string _input;
    private readonly PreprocessorModelOptions _options;

    /// <summary>Wraps a loaded session after checking it against the contract above; a mismatch throws
    /// <see cref="ModelContractException"/> naming <paramref name="path"/> and listing the session's inputs and outputs.</summary>
    /// <param name="session">The loaded session (owned from now on).</param>
    /// <param name="path">The model.onnx file (for messages).</param>
    /// <param name="options">Input size and normalisation; null: the defaults (Depth-Anything).</param>
    public PreprocessorModel(InferenceSession session, string path, PreprocessorModelOptions? options = null) : base("preprocessor", session, path)
    {
        _options = options ?? new PreprocessorModelOptions();
        if (InputMetadata.Count != 1 || InputMetadata.First().Value.Dimensions.Length != 4 || InputMetadata.First().Value.Dimensions[1] is not (3 or -1) || OutputMetadata.Count < 1)
        {
            throw new ModelContractException(path, $"A preprocessor model needs one image input [1,3,H,W] and a map output; {path} has {DescribeIo()}.");
        }
        _input = InputMetadata.Keys.First();
    }

    /// <summary>Loads a preprocessor ONNX file.</summary>
    public static PreprocessorModel Load(string path, PreprocessorModelOptions? options = null, RuntimeOptions? runtime = null)
    {
        path = System.IO.Path.GetFullPath(path);
        if (!File.Exists(path)) throw new ModelLoadException(path, $"Preprocessor model not found: {path} (expected an .onnx file, e.g. Depth-Anything-small).");
        return new PreprocessorModel(SessionFactory.Create(path, runtime ?? new RuntimeOptions()), path, options);
    }

    /// <summary>The control image for <paramref name="image"/> (same size, grey map in all three channels or the RGB map).</summary>
    public Timed<RgbImage> Run(RgbImage image, CancellationToken cancellationToken = default)
    {
        var (w, h) = InputSize(image);
        var sized = ImageOps.ResizeCover(image, w, h);
        var data = new float[3 * w * h];
        ImageTensors.ToNchw(sized, data, minusOneToOne: false);
        for (int c = 0; c < 3; c++)
        {
            for (int i = c * w * h; i < (c + 1) * w * h; i++) data[i] = (data[i] - _options.Mean[c]) / _options.Std[c];
        }
        using var input = FloatInput(_input, data, [1, 3, h, w]);
        var (results, ms) = Run([_input], [input], [OutputMetadata.Keys.First()], cancellationToken);
        FloatTensor map;
        using (results) map = ReadFloat(results[0]);
        var mapImage = ToImage(map);
        return new(ImageOps.ResizeCover(mapImage, image.Width, image.Height), ms);
    }

    private (int W, int H) InputSize(RgbImage image)
    {
        var dims = InputMetadata[_input].Dimensions;
        if (dims[2] > 0 && dims[3] > 0) return ((int)dims[3], (int)dims[2]);
        int m = Math.Max(1, _options.SizeMultiple);
        double scale = (double)_options.InputSize / Math.Max(image.Width, image.Height);
        int Round(double v) => Math.Max(m, (int)(v / m) * m);
        return (Round(image.Width * scale), Round(image.Height * scale));
    }

    private RgbImage ToImage(FloatTensor map)
    {
        long[] s = map.Shape;
        int h = (int)s[^2], w = (int)s[^1];
        int channels = s.Length == 4 ? (int)s[1] : 1;
        if (channels is not (1 or 3)) throw new ModelContractException(Path, $"Preprocessor output {map} is not a single map or an RGB map.");
        var pixels = new byte[w * h * 3];
        if (channels == 3)
        {
            for (int c = 0; c < 3; c++)
                for (int i = 0; i < w * h; i++)
                    pixels[3 * i + c] = (byte)Math.Clamp(MathF.Round(map.Data[c * w * h + i] * 255f), 0, 255);
            return new RgbImage(w, h, pixels);
        }
        float min = float.MaxValue, max = float.MinValue;
        for (int i = 0; i < w * h; i++) { min = Math.Min(min, map.Data[i]); max = Math.Max(max, map.Data[i]); }
        float range = max - min;
        for (int i = 0; i < w * h; i++)
        {
            float v = range > 0 ? (map.Data[i] - min) / range : 0f;
            if (_options.Invert) v = 1f - v;
            pixels[3 * i] = pixels[3 * i + 1] = pixels[3 * i + 2] = (byte)Math.Clamp(MathF.Round(v * 255f), 0, 255);
        }
        return new RgbImage(w, h, pixels);
    }
}
