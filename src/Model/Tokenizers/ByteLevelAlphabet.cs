using System.Text;

namespace SimNpo.Model.Tokenizers;

/// <summary>
/// GPT-2's byte-to-character table, which byte-level BPE vocabularies are written in (and Microsoft.ML.Tokenizers uses):
/// printable Latin-1 bytes stand for themselves, the other 68 take the characters from U+0100 on in byte order (a space
/// becomes 'Ġ').
/// </summary>
public static class ByteLevelAlphabet
{
    private static readonly char[] Symbols = MakeSymbols();

    public static char Symbol(byte b) => Symbols[b];

    /// <summary>The text's UTF-8 bytes spelled in the table's characters: how a vocabulary file writes the token for it.</summary>
    public static string Spell(string text) => string.Concat(Encoding.UTF8.GetBytes(text).Select(b => Symbols[b]));

    private static char[] MakeSymbols()
    {
        static bool Printable(int b) => b is >= '!' and <= '~' or >= '¡' and <= '¬' or >= '®' and <= 'ÿ';
        var symbols = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++) symbols[b] = Printable(b) ? (char)b : (char)next++;
        return symbols;
    }
}
