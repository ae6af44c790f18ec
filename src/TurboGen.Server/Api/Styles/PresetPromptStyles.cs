using TurboGen.Server.Styles;

namespace TurboGen.Server.Api.Styles;

/// <summary>The APIs' view of the shared style catalogue (<see cref="StylePresets"/>, one data file for the web app and every API).</summary>
public sealed class PresetPromptStyles(StylePresets presets) : IPromptStyles
{
    public PresetPromptStyles() : this(StylePresets.Default) { }

    public IReadOnlyList<PromptStyle> All { get; } = presets.All.Select(p => new PromptStyle(p.Id, p.Prompt, p.Negative)).ToList();

    public PromptStyle? Find(string name) =>
        presets.TryFind(name, out var preset) ? new PromptStyle(preset!.Id, preset.Prompt, preset.Negative) : null;
}
