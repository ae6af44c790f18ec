using System.Globalization;

namespace TurboGen.Cli;

/// <summary>Parses <c>--size</c>: "WIDTHxHEIGHT" (e.g. 512x512, 768X512) or one number for a square.</summary>
internal static class ImageSize
{
    /// <summary>Null for null/empty text (the model's default size); otherwise the size, or an <see cref="InvalidRequestException"/> naming --size.</summary>
    public static (int Width, int Height)? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        string[] parts = text.Trim().Split('x', 'X', '×');
        if (parts.Length is 1 or 2 && parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            int width = int.Parse(parts[0], CultureInfo.InvariantCulture);
            int height = parts.Length == 2 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : width;
            return (width, height);
        }
        throw new InvalidRequestException("--size", $"'{text}' is not a size: use WIDTHxHEIGHT (for example 512x512) or one number for a square.");
    }
}
