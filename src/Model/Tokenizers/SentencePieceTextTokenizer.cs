using Google.Protobuf;
using Microsoft.ML.Tokenizers;
using SimNpo.Model.IO;

namespace SimNpo.Model.Tokenizers;

/// <summary>
/// Llama's SentencePiece BPE (tokenizer.model) through Microsoft.ML.Tokenizers. The model's own normalizer settings
/// are kept, so the dummy prefix (a '▁' before the text) is added exactly as Llama's tokenizer adds it; BOS and EOS
/// are not: the callers place them.
/// </summary>
public sealed class SentencePieceTextTokenizer : ITextTokenizer
{
    private readonly SentencePieceTokenizer tokenizer;

    private SentencePieceTextTokenizer(SentencePieceTokenizer tokenizer) => this.tokenizer = tokenizer;

    public static SentencePieceTextTokenizer Load(string modelPath)
    {
        if (!File.Exists(modelPath)) throw new BadInputException(modelPath, "file not found");
        try
        {
            using var stream = File.OpenRead(modelPath);
            // The protobuf reader takes an empty file for an empty model, and the tokenizer then fails on a null.
            if (stream.Length == 0) throw new InvalidDataException("the file is empty");
            return new SentencePieceTextTokenizer(LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false));
        }
        catch (Exception e) when (e is InvalidProtocolBufferException || e is not (IOException or UnauthorizedAccessException))
        {
            // A malformed model fails in the protobuf parser (an IOException, unlike a failed read) or in the tokenizer's own checks.
            throw new BadInputException(modelPath, $"not a SentencePiece BPE model ({e.Message})", inner: e);
        }
    }

    public int VocabSize => tokenizer.Vocabulary.Count;

    public int BosId => tokenizer.BeginningOfSentenceId;

    public int EosId => tokenizer.EndOfSentenceId;

    public IReadOnlyList<int> Encode(string text) =>
        tokenizer.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false);

    public string Decode(IEnumerable<int> ids) => tokenizer.Decode(ids);
}
