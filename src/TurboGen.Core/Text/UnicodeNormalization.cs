using System.Globalization;
using System.Reflection;
using System.Text;

namespace TurboGen.Text;

/// <summary>
/// Unicode NFC normalisation and the NFKC forms of fullwidth/halfwidth characters, computed from an embedded copy of the
/// Unicode Character Database (<c>UnicodeNormalizationData.txt</c>) rather than <see cref="string.Normalize()"/>, because the
/// engine runs with <c>InvariantGlobalization</c>, where <see cref="string.Normalize()"/> leaves text unchanged.
/// The algorithm is UAX #15: full canonical decomposition (Hangul algorithmically), canonical ordering of combining marks,
/// then canonical composition of unblocked pairs, skipping composition exclusions.
/// </summary>
internal static class UnicodeNormalization
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly Lazy<Data> Tables = new(Load);

    /// <summary>NFC of <paramref name="text"/>; unpaired surrogates pass through unchanged.</summary>
    public static string ToNfc(string text)
    {
        // Nothing below U+0300 decomposes into, reorders with or composes with anything else.
        if (!text.AsSpan().ContainsAnyExceptInRange('\0', '\u02FF'))
        {
            return text;
        }
        Data data = Tables.Value;
        var decomposed = new List<int>(text.Length + 8);
        for (int i = 0; i < text.Length; i++)
        {
            int codePoint = text[i];
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                codePoint = char.ConvertToUtf32(text[i], text[i + 1]);
                i++;
            }
            Decompose(codePoint, data, decomposed);
        }
        ReorderCombiningMarks(decomposed, data);
        List<int> composed = Compose(decomposed, data);

        var output = new StringBuilder(composed.Count);
        foreach (int codePoint in composed)
        {
            if (codePoint is >= 0xD800 and <= 0xDFFF)
            {
                output.Append((char)codePoint);
            }
            else
            {
                output.Append(char.ConvertFromUtf32(codePoint));
            }
        }
        string result = output.ToString();
        return result == text ? text : result;
    }

    /// <summary>The NFKC form of a character in U+FF01..U+FFEF, or null when NFKC leaves it unchanged.</summary>
    public static string? WidthForm(char c) => Tables.Value.WidthForms.GetValueOrDefault(c);

    private static void Decompose(int codePoint, Data data, List<int> output)
    {
        if (codePoint is >= SBase and < SBase + SCount)
        {
            int index = codePoint - SBase;
            output.Add(LBase + index / NCount);
            output.Add(VBase + index % NCount / TCount);
            if (index % TCount != 0)
            {
                output.Add(TBase + index % TCount);
            }
            return;
        }
        if (data.Decompositions.TryGetValue(codePoint, out int[]? parts))
        {
            foreach (int part in parts)
            {
                Decompose(part, data, output);
            }
            return;
        }
        output.Add(codePoint);
    }

    /// <summary>Stable sort of each run of non-starters by combining class.</summary>
    private static void ReorderCombiningMarks(List<int> codePoints, Data data)
    {
        for (int i = 1; i < codePoints.Count; i++)
        {
            int cc = data.CombiningClass(codePoints[i]);
            if (cc == 0)
            {
                continue;
            }
            int j = i;
            while (j > 0)
            {
                int previous = data.CombiningClass(codePoints[j - 1]);
                if (previous <= cc)
                {
                    break;
                }
                (codePoints[j - 1], codePoints[j]) = (codePoints[j], codePoints[j - 1]);
                j--;
            }
        }
    }

    private static List<int> Compose(List<int> codePoints, Data data)
    {
        var result = new List<int>(codePoints.Count);
        int starter = -1;
        int lastClass = 0;
        foreach (int codePoint in codePoints)
        {
            int cc = data.CombiningClass(codePoint);
            bool adjacent = starter == result.Count - 1;
            bool unblocked = starter >= 0 && (adjacent || (lastClass != 0 && lastClass < cc));
            if (unblocked && TryCompose(result[starter], codePoint, data, out int composite))
            {
                result[starter] = composite;
                continue;
            }
            if (cc == 0)
            {
                starter = result.Count;
            }
            result.Add(codePoint);
            lastClass = cc;
        }
        return result;
    }

    private static bool TryCompose(int first, int second, Data data, out int composite)
    {
        if (first is >= LBase and < LBase + LCount && second is >= VBase and < VBase + VCount)
        {
            composite = SBase + ((first - LBase) * VCount + (second - VBase)) * TCount;
            return true;
        }
        if (first is >= SBase and < SBase + SCount && (first - SBase) % TCount == 0 && second is > TBase and < TBase + TCount)
        {
            composite = first + (second - TBase);
            return true;
        }
        return data.Compositions.TryGetValue(((long)first << 21) | (uint)second, out composite);
    }

    private sealed class Data
    {
        public Dictionary<int, int[]> Decompositions { get; } = new();
        public Dictionary<long, int> Compositions { get; } = new();
        public Dictionary<char, string> WidthForms { get; } = new();
        public List<(int First, int Last, int Class)> ClassRanges { get; } = new();

        public int CombiningClass(int codePoint)
        {
            if (codePoint < 0x300)
            {
                return 0;
            }
            int low = 0, high = ClassRanges.Count - 1;
            while (low <= high)
            {
                int middle = (low + high) / 2;
                (int first, int last, int cls) = ClassRanges[middle];
                if (codePoint < first)
                {
                    high = middle - 1;
                }
                else if (codePoint > last)
                {
                    low = middle + 1;
                }
                else
                {
                    return cls;
                }
            }
            return 0;
        }
    }

    private static Data Load()
    {
        const string resource = "TurboGen.Text.UnicodeNormalizationData.txt";
        Assembly assembly = typeof(UnicodeNormalization).Assembly;
        using Stream stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded resource {resource} is missing from {assembly.GetName().Name}.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var data = new Data();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            string[] fields = line.Split(' ');
            switch (fields[0])
            {
                case "D":
                    bool excluded = fields[^1] == "x";
                    int[] parts = fields[2..(excluded ? fields.Length - 1 : fields.Length)].Select(Hex).ToArray();
                    int codePoint = Hex(fields[1]);
                    data.Decompositions[codePoint] = parts;
                    if (parts.Length == 2 && !excluded)
                    {
                        data.Compositions[((long)parts[0] << 21) | (uint)parts[1]] = codePoint;
                    }
                    break;
                case "C":
                    data.ClassRanges.Add((Hex(fields[1]), Hex(fields[2]), int.Parse(fields[3], CultureInfo.InvariantCulture)));
                    break;
                case "W":
                    data.WidthForms[(char)Hex(fields[1])] = string.Concat(fields[2..].Select(f => char.ConvertFromUtf32(Hex(f))));
                    break;
                default:
                    throw new InvalidOperationException($"Unexpected line in {resource}: {line}");
            }
        }
        return data;
    }

    private static int Hex(string value) => int.Parse(value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
}
