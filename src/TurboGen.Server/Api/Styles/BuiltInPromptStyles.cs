namespace TurboGen.Server.Api.Styles;

/// <summary>
/// The styles the APIs know until the shared preset catalogue is wired in: OpenAI's two DALL·E 3 styles,
/// expressed as prompt additions ("vivid": hyper-real and dramatic, "natural": more natural, less hyper-real).
/// </summary>
public sealed class BuiltInPromptStyles : IPromptStyles
{
    public IReadOnlyList<PromptStyle> All { get; } =
    [
        new("vivid", "{prompt}, vivid colors, dramatic lighting, high contrast, highly detailed", "dull, washed out, flat lighting"),
        new("natural", "{prompt}, natural lighting, realistic colors, photographic", "oversaturated, hyperrealistic, cartoon"),
    ];

    public PromptStyle? Find(string name) =>
        All.FirstOrDefault(s => string.Equals(s.Name, name.Trim(), StringComparison.OrdinalIgnoreCase));
}
