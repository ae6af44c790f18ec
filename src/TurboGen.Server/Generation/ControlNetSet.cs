using TurboGen.Building;
using TurboGen.Pipelines;
using TurboGen.Runtime;

namespace TurboGen.Server.Generation;

/// <summary>
/// The ControlNets a server was started with (<see cref="ServerOptions.ControlNets"/>), loaded once with the model. Each is
/// checked against the model when loaded: one for another family (SD vs SDXL, another text width or residual layout) stays
/// listed but every request naming it is refused (<see cref="Entry.Unusable"/>), while a model whose UNet cannot take residuals at
/// all fails the start (<see cref="ModelContractException"/>). Requests name a ControlNet by its name or the part after the last
/// '/', in any case, with or without an A1111 " [hash]" suffix.
/// </summary>
public sealed class ControlNetSet : IDisposable
{
    /// <summary>One loaded ControlNet: its name, the session, its family ("sdxl" or "sd") and why it cannot serve this model (null when it can).</summary>
    public sealed record Entry(string Name, IControlNet ControlNet, string Family, string? Unusable)
    {
        public IReadOnlyList<string> Names { get; } = Policy.ModelNames.ShortName(Name) is { } s ? [Name, s] : [Name];
    }

    private readonly List<Entry> _all;

    public ControlNetSet(IEnumerable<Entry> entries) => _all = entries.ToList();

    public static ControlNetSet Empty { get; } = new([]);

    public IReadOnlyList<Entry> All => _all;

    /// <summary>Resolves (building a checkpoint once into the cache), loads and checks each ControlNet against <paramref name="model"/>.</summary>
    /// <exception cref="ModelContractException">The model's UNet has no ControlNet residual inputs.</exception>
    public static ControlNetSet Load(IReadOnlyList<ServedControlNet> served, TurboModel model, RuntimeOptions runtime, CancellationToken ct)
    {
        var entries = new List<Entry>();
        try
        {
            foreach (var item in served)
            {
                var controlnet = ControlNet.Load(ControlNetResolver.Resolve(item.Path, null, ct), runtime);
                string? unusable = null;
                try
                {
                    ControlStage.CheckFamily(model, controlnet, "model");
                    model.Unet.CheckResiduals(controlnet.DownResidualCount);
                }
                catch (InvalidRequestException e)
                {
                    unusable = $"ControlNet '{item.Name}' does not fit the loaded model: {e.Message}";
                }
                entries.Add(new Entry(item.Name, controlnet, controlnet.UsesTextTime ? "sdxl" : "sd", unusable));
            }
        }
        catch
        {
            foreach (var entry in entries) (entry.ControlNet as IDisposable)?.Dispose();
            throw;
        }
        return new ControlNetSet(entries);
    }

    /// <summary>
    /// The ControlNet named <paramref name="name"/>, ready for this model. <paramref name="field"/> names the request field in errors:
    /// an unknown name (listing the server's ControlNets) or one for another model family.
    /// </summary>
    /// <exception cref="InvalidRequestException">Unknown or unusable.</exception>
    public IControlNet Require(string field, string? name)
    {
        if (_all.Count == 0)
        {
            throw new InvalidRequestException(field, "This server has no ControlNets: start it with turbogen serve --controlnet MODEL.");
        }
        var entry = _all.FirstOrDefault(e => Policy.ModelNames.Matches(name, e.Names))
            ?? throw new InvalidRequestException(field,
                $"Unknown ControlNet '{name}'; this server has: {string.Join(", ", _all.Select(e => e.Name))}.");
        if (entry.Unusable is not null) throw new InvalidRequestException(field, entry.Unusable);
        return entry.ControlNet;
    }

    public void Dispose()
    {
        foreach (var entry in _all) (entry.ControlNet as IDisposable)?.Dispose();
    }
}
