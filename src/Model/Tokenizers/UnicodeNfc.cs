using System.Globalization;
using System.Text;

namespace SimNpo.Model.Tokenizers;

/// <summary>
/// Unicode NFC (UAX #15: canonical decomposition, canonical ordering, canonical composition), for Qwen2's NFC
/// normalizer. The engine runs with InvariantGlobalization, under which string.Normalize leaves non-ASCII text as it is,
/// so the data come from UnicodeNfc.txt (tools/codegen/unicode_nfc.py, from Python's unicodedata). Hangul syllables are
/// decomposed and composed arithmetically, as the standard defines them.
/// </summary>
public static class UnicodeNfc
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7, LCount = 19, VCount = 21, TCount = 28;
    private const int NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly Lazy<Tables> Data = new(Load);

    private sealed record Tables(Dictionary<int, int[]> Decompositions, Dictionary<int, int> CombiningClasses, Dictionary<(int, int), int> Composites);

    public static string Normalize(string text)
    {
        // Below U+0300 every character is a starter that no following one can join (the first combining marks start there).
        if (text.All(c => c < '\u0300')) return text;
        var data = Data.Value;
        var decomposed = new List<int>(text.Length);
        for (var i = 0; i < text.Length; i += char.IsSurrogatePair(text, i) ? 2 : 1) Decompose(char.ConvertToUtf32(text, i), decomposed, data);
        int Class(int c) => data.CombiningClasses.GetValueOrDefault(c);
        // Canonical ordering: each run of non-starters sorted by class, stably (insertion sort).
        for (var i = 1; i < decomposed.Count; i++)
            for (var j = i; j > 0 && Class(decomposed[j]) != 0 && Class(decomposed[j - 1]) > Class(decomposed[j]); j--)
                (decomposed[j - 1], decomposed[j]) = (decomposed[j], decomposed[j - 1]);
        var composed = new List<int>(decomposed.Count);
        var (starter, lastClass) = (-1, 0);
        foreach (var c in decomposed)
        {
            var cls = Class(c);
            // A mark joins the last starter unless a mark of the same or a higher class stands between them (it is blocked).
            if (starter >= 0 && (lastClass < cls || lastClass == 0) && Compose(composed[starter], c, data) is { } joined)
            {
                composed[starter] = joined;
                continue;
            }
            if (cls == 0) starter = composed.Count;
            lastClass = cls;
            composed.Add(c);
        }
        var result = new StringBuilder(text.Length);
        foreach (var c in composed) result.Append(char.ConvertFromUtf32(c));
        return result.ToString();
    }

    private static void Decompose(int c, List<int> output, Tables data)
    {
        if (c is >= SBase and < SBase + SCount)
        {
            var index = c - SBase;
            output.Add(LBase + index / NCount);
            output.Add(VBase + index % NCount / TCount);
            if (index % TCount != 0) output.Add(TBase + index % TCount);
        }
        else if (data.Decompositions.TryGetValue(c, out var parts))
            foreach (var part in parts) Decompose(part, output, data);
        else
            output.Add(c);
    }

    private static int? Compose(int first, int second, Tables data)
    {
        if (first is >= LBase and < LBase + LCount && second is >= VBase and < VBase + VCount)
            return SBase + ((first - LBase) * VCount + second - VBase) * TCount;
        if (first is >= SBase and < SBase + SCount && (first - SBase) % TCount == 0 && second is > TBase and < TBase + TCount)
            return first + second - TBase;
        return data.Composites.TryGetValue((first, second), out var composite) ? composite : null;
    }

    private static Tables Load()
    {
        using var stream = typeof(UnicodeNfc).Assembly.GetManifestResourceStream("SimNpo.Model.Tokenizers.UnicodeNfc.txt")
            ?? throw new InvalidOperationException("the UnicodeNfc.txt resource is missing from the build");
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var tables = new Tables([], [], []);
        for (var line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            if (line.StartsWith('#')) continue;
            var fields = line.Split(' ');
            int Hex(int k) => int.Parse(fields[k], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            switch (fields[0])
            {
                case "D": tables.Decompositions[Hex(1)] = Enumerable.Range(2, fields.Length - 2).Select(Hex).ToArray(); break;
                case "C": tables.CombiningClasses[Hex(1)] = int.Parse(fields[2], CultureInfo.InvariantCulture); break;
                case "P": tables.Composites[(Hex(1), Hex(2))] = Hex(3); break;
            }
        }
        return tables;
    }
}
