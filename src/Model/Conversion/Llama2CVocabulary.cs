using System.Text;
using SimNpo.Model.IO;

namespace SimNpo.Model.Conversion;

/// <summary>
/// llama2.c's tokenizer file (tokenizer.bin, tok512.bin): int32 max_token_length, then per token a float32 score, an
/// int32 byte length and the UTF-8 bytes. The export wrote SentencePiece's '▁' as a plain space and BOS/EOS as
/// "\n&lt;s&gt;\n" and "\n&lt;/s&gt;\n".
/// </summary>
public sealed record Llama2CVocabulary(IReadOnlyList<string> Tokens, IReadOnlyList<float> Scores)
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static Llama2CVocabulary Read(string path)
    {
        if (!File.Exists(path)) throw new BadInputException(path, "file not found");
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < sizeof(int)) throw new BadInputException(path, $"{bytes.Length} bytes is too short for a llama2.c tokenizer");
        var maxLength = BitConverter.ToInt32(bytes, 0);
        if (maxLength <= 0) throw new BadInputException(path, $"max_token_length {maxLength} is not positive: not a llama2.c tokenizer");
        var tokens = new List<string>();
        var scores = new List<float>();
        var offset = sizeof(int);
        while (offset < bytes.Length)
        {
            if (bytes.Length - offset < 8) throw new BadInputException(path, $"token {tokens.Count} is cut off at byte {offset}");
            var score = BitConverter.ToSingle(bytes, offset);
            var length = BitConverter.ToInt32(bytes, offset + 4);
            offset += 8;
            if (length <= 0 || length > maxLength || length > bytes.Length - offset)
                throw new BadInputException(path, $"token {tokens.Count} has length {length}, outside 1..{maxLength} or past the end of the file");
            try
            {
                tokens.Add(StrictUtf8.GetString(bytes, offset, length));
            }
            catch (DecoderFallbackException e)
            {
                throw new BadInputException(path, $"token {tokens.Count} is not valid UTF-8", inner: e);
            }
            scores.Add(score);
            offset += length;
        }
        return new Llama2CVocabulary(tokens, scores);
    }
}
