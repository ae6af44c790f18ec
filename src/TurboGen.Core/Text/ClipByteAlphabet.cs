namespace TurboGen.Text;

/// <summary>
/// CLIP's <c>bytes_to_unicode</c> table: every byte value gets a printable character so that byte-level BPE tokens are plain strings.
/// Bytes <c>!</c>..<c>~</c>, <c>¡</c>..<c>¬</c> and <c>®</c>..<c>ÿ</c> map to the same code point; the other 68 bytes map to U+0100 + n in byte order.
/// </summary>
internal static class ClipByteAlphabet
{
    /// <summary>The character for each byte value 0..255, in the order CLIP's vocabulary lists them (printable bytes first).</summary>
    public static IReadOnlyList<char> VocabularyOrder { get; } = BuildVocabularyOrder();

    private static bool MapsToItself(int b) => (b >= '!' && b <= '~') || (b >= '¡' && b <= '¬') || (b >= '®' && b <= 'ÿ');

    private static char[] BuildVocabularyOrder()
    {
        var order = new List<char>(256);
        for (int b = 0; b < 256; b++)
        {
            if (MapsToItself(b))
            {
                order.Add((char)b);
            }
        }
        int shifted = 0;
        for (int b = 0; b < 256; b++)
        {
            if (!MapsToItself(b))
            {
                order.Add((char)(256 + shifted));
                shifted++;
            }
        }
        return order.ToArray();
    }
}
