using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using TurboGen.Pipelines;
using TurboGen.Server.Api.Native;
using TurboGen.Server.Generation;
using TurboGen.Server.Policy;

namespace TurboGen.Server.Realtime;

/// <summary>
/// A real-time session's memory of its last decoded inputs: the web app resends an unchanged image, mask or control image
/// with every keystroke, so each is decoded (and a control image preprocessed) once. Decoding and checking stay in the
/// shared policy (<see cref="InputImages"/>, <see cref="InpaintMasks"/>, <see cref="NativeControls"/>). One per session,
/// used by its receive loop only (not thread-safe).
/// </summary>
public sealed class LiveInputs
{
    public InputImageCache Images { get; } = new();
    public InputImageCache Masks { get; } = new();
    public LiveControlCache Controls { get; } = new();
}

/// <summary>The ControlNet units of a live request, mapped by <see cref="NativeControls.Map"/>, with a key and names for the frame.</summary>
public sealed record LiveControls(IReadOnlyList<ControlInput> Inputs, string Key, IReadOnlyList<string> Names)
{
    public static LiveControls None { get; } = new([], "", []);
}

/// <summary>Maps <c>controls</c> through <see cref="NativeControls.Map"/> (the native API's one validation), remembering the last result.</summary>
public sealed class LiveControlCache
{
    private LiveControls _last = LiveControls.None;

    public LiveControls Map(IReadOnlyList<NativeControl?>? controls, ControlNetSet controlnets, int width, int height)
    {
        if (controls is null || controls.Count == 0) return LiveControls.None;
        string key = Signature(controls, width, height);
        if (key == _last.Key) return _last;
        var inputs = NativeControls.Map(controls, controlnets, width, height);
        var names = controls.Select(c => $"{(c!.Preprocessor ?? "none").Trim().ToLowerInvariant()}:{c.Model}").ToList();
        return _last = new LiveControls(inputs, key, names);
    }

    /// <summary>Every field of every unit (the image as a hash of its text) and the output size: equal signatures map equally.</summary>
    private static string Signature(IReadOnlyList<NativeControl?> controls, int width, int height)
    {
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"{width}x{height}");
        foreach (var c in controls)
        {
            if (c is null) { text.Append("|null"); continue; }
            string image = c.Image is null ? "" : Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(c.Image)), 0, 12);
            text.Append(CultureInfo.InvariantCulture,
                $"|{c.Model}\u001f{c.Preprocessor}\u001f{c.Scale:R}\u001f{c.Start:R}\u001f{c.End:R}\u001f{c.Resize}\u001f{c.LowThreshold:R}\u001f{c.HighThreshold:R}\u001f{image}");
        }
        return text.ToString();
    }
}
