using System.Text;
using System.Text.Unicode;

namespace SimNpo.Model.IO;

/// <summary>
/// A text file's lines, decoded as strict UTF-8: bytes that are not UTF-8 are refused naming the file and the line,
/// where the default decoder would put U+FFFD in their place and train on the damaged text.
/// </summary>
public static class Utf8Lines
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static IEnumerable<string> Read(string path)
    {
        using var lines = File.ReadLines(path, Strict).GetEnumerator();
        while (true)
        {
            bool more;
            try
            {
                more = lines.MoveNext();
            }
            catch (DecoderFallbackException e)
            {
                // The decoder works a buffer at a time, ahead of the lines handed out; only a second pass finds the line.
                throw new BadInputException(path, "not valid UTF-8", FirstInvalidLine(path), e);
            }
            if (!more) yield break;
            yield return lines.Current;
        }
    }

    /// <summary>The 1-based number of the first line whose bytes are not UTF-8 (lines split at '\n').</summary>
    private static int FirstInvalidLine(string path)
    {
        using var stream = new BufferedStream(File.OpenRead(path), 1 << 16);
        var line = new List<byte>();
        var number = 1;
        int next;
        while ((next = stream.ReadByte()) >= 0)
        {
            if (next != '\n')
            {
                line.Add((byte)next);
                continue;
            }
            if (!Utf8.IsValid(line.ToArray())) return number;
            line.Clear();
            number++;
        }
        return number;
    }
}
