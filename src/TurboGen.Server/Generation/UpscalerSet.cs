using TurboGen.Upscaling;

namespace TurboGen.Server.Generation;

/// <summary>
/// The upscalers a server offers: Lanczos always (also under A1111's name "None", which resizes with Lanczos too), then the
/// ESRGAN-family models given with <c>serve --upscaler</c> (by file name). The default is the first ESRGAN model, else Lanczos.
/// </summary>
public sealed class UpscalerSet : IDisposable
{
    public const string NoneName = "None";

    private readonly List<IUpscaler> _all;

    public UpscalerSet(IEnumerable<IUpscaler> models)
    {
        _all = [LanczosUpscaler.Instance, .. models];
        var duplicate = _all.GroupBy(u => u.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidRequestException("upscaler", $"Two upscalers are named '{duplicate.Key}'; rename one of the files.");
        }
    }

    public static UpscalerSet LanczosOnly { get; } = new([]);

    /// <summary>Lanczos first, then the models in the order given.</summary>
    public IReadOnlyList<IUpscaler> All => _all;

    public IUpscaler Default => _all.Count > 1 ? _all[1] : _all[0];

    /// <summary>
    /// The upscaler named <paramref name="name"/> (case-insensitive; null or empty = <see cref="Default"/>, "None" = Lanczos);
    /// an unknown name is a 4xx naming <paramref name="field"/> and listing the available names.
    /// </summary>
    public IUpscaler Resolve(string? name, string field)
    {
        if (string.IsNullOrWhiteSpace(name)) return Default;
        string n = name.Trim();
        if (n.Equals(NoneName, StringComparison.OrdinalIgnoreCase)) return LanczosUpscaler.Instance;
        return _all.FirstOrDefault(u => u.Name.Equals(n, StringComparison.OrdinalIgnoreCase))
            ?? throw new InvalidRequestException(field, $"unknown upscaler '{n}' (available: {string.Join(", ", _all.Select(u => u.Name))}).");
    }

    public void Dispose()
    {
        foreach (var upscaler in _all.OfType<IDisposable>()) upscaler.Dispose();
    }
}
