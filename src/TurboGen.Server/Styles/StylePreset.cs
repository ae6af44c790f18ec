namespace TurboGen.Server.Styles;

/// <summary>
/// A named prompt template: <see cref="Prompt"/> contains <c>{prompt}</c> where the user's prompt goes, and
/// <see cref="Negative"/> is added in front of the user's negative prompt.
/// </summary>
public sealed record StylePreset(string Id, string Name, string Prompt, string Negative)
{
    /// <summary>The placeholder replaced by the user's prompt.</summary>
    public const string Placeholder = "{prompt}";

    /// <summary>Applies the template: the user's prompt goes into the placeholder; the negatives are joined with ", ".</summary>
    public (string Prompt, string Negative) Apply(string prompt, string negative)
    {
        prompt = prompt.Trim();
        string styled = Prompt.Replace(Placeholder, prompt, StringComparison.Ordinal);
        if (prompt.Length == 0)
        {
            styled = string.Join(' ', styled.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Replace(" ,", ",", StringComparison.Ordinal).Trim(' ', ',');
        }
        string combined = string.Join(", ", new[] { Negative, negative.Trim() }.Where(s => s.Length > 0));
        return (styled, combined);
    }
}
