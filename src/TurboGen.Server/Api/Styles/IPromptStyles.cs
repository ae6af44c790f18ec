namespace TurboGen.Server.Api.Styles;

/// <summary>A named prompt style: <see cref="Prompt"/> may contain "{prompt}" where the user's prompt goes.</summary>
public sealed record PromptStyle(string Name, string Prompt, string NegativePrompt)
{
    /// <summary>
    /// A1111's rule: the style's prompt with "{prompt}" replaced by the user's prompt, or appended after ", " when
    /// it has no placeholder; the negative prompt likewise.
    /// </summary>
    public (string Prompt, string NegativePrompt) Apply(string prompt, string negativePrompt) =>
        (Merge(Prompt, prompt), Merge(NegativePrompt, negativePrompt));

    private static string Merge(string style, string text)
    {
        if (string.IsNullOrEmpty(style)) return text;
        if (style.Contains("{prompt}", StringComparison.Ordinal)) return style.Replace("{prompt}", text, StringComparison.Ordinal);
        return string.IsNullOrWhiteSpace(text) ? style : text.TrimEnd() + ", " + style;
    }
}

/// <summary>
/// The style presets the APIs can apply (OpenAI <c>style</c>, A1111 <c>styles</c>, native <c>style</c>).
/// Minimal interface so the APIs do not depend on the real-time app's preset catalogue; the lead can bind it to
/// that catalogue (StylePresets) when both branches are merged.
/// </summary>
public interface IPromptStyles
{
    IReadOnlyList<PromptStyle> All { get; }

    /// <summary>The style named <paramref name="name"/> (case-insensitive), or null.</summary>
    PromptStyle? Find(string name);
}
