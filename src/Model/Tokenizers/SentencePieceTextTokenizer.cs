using Google.Protobuf;
using Microsoft.ML.Tokenizers;
using SimNpo.Model.IO;

namespace SimNpo.Model.Tokenizers;

/// <summary>
/// A SentencePiece BPE model (tokenizer.model: Llama 2, Mistral, Gemma): encoded by <see cref="SentencePieceBpe"/>,
/// decoded (and its BOS and EOS read) by Microsoft.ML.Tokenizers. The model's own normalizer spec is honoured: Llama's
/// dummy prefix (a '▁' before the text) is added, Gemma's add_dummy_prefix = false adds none. Control, unknown and
/// user-defined pieces (&lt;s&gt;, Gemma's &lt;start_of_turn&gt;) are matched whole in the text, as Hugging Face's tokenizers
/// match them, and the text between two of them is encoded on its own (with the dummy prefix where the model has one,
/// as Hugging Face's legacy Llama tokenizers do). BOS and EOS are not added: the chat template places them.
/// </summary>
public sealed class SentencePieceTextTokenizer : ITextTokenizer
{
    private readonly SentencePieceTokenizer tokenizer;
    private readonly SentencePieceBpe bpe;
    private readonly AddedTokens matchedWhole;
    private readonly HashSet<int> control;

    private SentencePieceTextTokenizer(SentencePieceTokenizer tokenizer, SentencePieceModelFile model)
    {
        this.tokenizer = tokenizer;
        bpe = new SentencePieceBpe(model);
        var whole = new Dictionary<string, int>(StringComparer.Ordinal);
        control = [];
        for (var id = 0; id < model.Pieces.Count; id++)
        {
            var (piece, _, type) = model.Pieces[id];
            if (type is not (SentencePieceType.Control or SentencePieceType.Unknown or SentencePieceType.UserDefined)) continue;
            // A user-defined piece of whitespace (Gemma's runs of '▁') stands for the spaces of the text.
            whole.TryAdd(model.EscapeWhitespaces ? piece.Replace('▁', ' ') : piece, id);
            if (type == SentencePieceType.Control) control.Add(id);
        }
        matchedWhole = new AddedTokens(whole);
        AddsDummyPrefix = model.AddDummyPrefix;
    }

    /// <summary>Whether each encoded text starts with a '▁' (Llama: yes; Gemma: no), from the model's normalizer spec.</summary>
    public bool AddsDummyPrefix { get; }

    public static SentencePieceTextTokenizer Load(string modelPath)
    {
        if (!File.Exists(modelPath)) throw new BadInputException(modelPath, "file not found");
        try
        {
            var bytes = File.ReadAllBytes(modelPath);
            // The protobuf reader takes an empty file for an empty model, and the tokenizer then fails on a null.
            if (bytes.Length == 0) throw new InvalidDataException("the file is empty");
            var model = SentencePieceModelFile.Parse(bytes);
            Require(model.ModelType == SentencePieceModelFile.BpeModelType, $"model type {model.ModelType} is not BPE");
            // Llama, Mistral and Gemma normalize nothing; a character map or whitespace squeezing would be applied by no one here.
            Require(model.NormalizerName is "identity" or "", $"normalizer '{model.NormalizerName}' is not supported (only identity)");
            Require(!model.RemoveExtraWhitespaces, "remove_extra_whitespaces = true is not supported");
            using var stream = new MemoryStream(bytes);
            return new SentencePieceTextTokenizer(LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false), model);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException || e is not (IOException or UnauthorizedAccessException or BadInputException))
        {
            // A malformed model fails in the protobuf parser (an IOException, unlike a failed read) or in the tokenizer's own checks.
            throw new BadInputException(modelPath, $"not a SentencePiece BPE model ({e.Message})", inner: e);
        }

        void Require(bool condition, string problem)
        {
            if (!condition) throw new BadInputException(modelPath, problem);
        }
    }

    public int VocabSize => tokenizer.Vocabulary.Count;

    public int BosId => tokenizer.BeginningOfSentenceId;

    public int EosId => tokenizer.EndOfSentenceId;

    public IReadOnlyList<int> Encode(string text) => matchedWhole.Encode(text, bpe.Encode);

    /// <summary>As SentencePiece decodes: control pieces (BOS, EOS) to nothing, user-defined pieces to their text.</summary>
    public string Decode(IEnumerable<int> ids) =>
        matchedWhole.Decode(ids, run => tokenizer.Decode(run) ?? "", (id, text) => control.Contains(id) ? "" : text);

    public int? TokenId(string token) =>
        matchedWhole.IdOf(token) ?? (tokenizer.Vocabulary.TryGetValue(token.Replace(' ', '▁'), out var id) ? id : null);
}
