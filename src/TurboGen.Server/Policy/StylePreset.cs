namespace TurboGen.Server.Policy;

/// <summary>
/// A named prompt template. <see cref="Prompt"/> and <see cref="Negative"/> are combined with the user's text by
/// AUTOMATIC1111's rule (<c>modules/styles.py</c> <c>merge_prompts</c>), the one rule of every front end (web app,
/// OpenAI, A1111, native API and the CLI's <c>--style</c>):
/// <list type="bullet">
/// <item>a template containing <c>{prompt}</c> gets the user's text in its place;</item>
/// <item>otherwise the user's text comes first and the template is appended after ", " (either may be empty).</item>
/// </list>
/// So a style's negative prompt goes <b>after</b> the user's negative prompt. The user's text is trimmed; when it is
/// empty, the separators a placeholder leaves behind ("art of , detailed") are tidied ("art of, detailed").
/// </summary>
public sealed record StylePreset(string Id, string Name, string Prompt, string Negative)
{
    /// <summary>The placeholder replaced by the user's text.</summary>
    public const string Placeholder = "{prompt}";

    /// <summary>Applies the template to a prompt and negative prompt.</summary>
    public (string Prompt, string Negative) Apply(string prompt, string negative) => (Merge(Prompt, prompt), Merge(Negative, negative));

    /// <summary>A1111's merge of one template with the user's text.</summary>
    public static string Merge(string template, string text)
    {
        text = text.Trim();
        if (template.Contains(Placeholder, StringComparison.Ordinal))
        {
            string merged = template.Replace(Placeholder, text, StringComparison.Ordinal);
            return text.Length > 0 ? merged : Tidy(merged);
        }
        return string.Join(", ", new[] { text, template.Trim() }.Where(s => s.Length > 0));
    }

    private static string Tidy(string s) =>
        string.Join(' ', s.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Replace(" ,", ",", StringComparison.Ordinal).Trim(' ', ',');
}
