using Google.Protobuf;

namespace SimNpo.Model.Tokenizers;

/// <summary>
/// The parts of a SentencePiece tokenizer.model (a ModelProto, sentencepiece_model.proto) that decide how text is cut
/// before the merges: each piece's text and type, the normalizer spec and the model type. Read here because the
/// tokenizer library applies them but does not show them.
/// </summary>
public sealed record SentencePieceModelFile(IReadOnlyList<(string Piece, float Score, SentencePieceType Type)> Pieces, string NormalizerName,
    bool AddDummyPrefix, bool RemoveExtraWhitespaces, bool EscapeWhitespaces, int ModelType)
{
    /// <summary>TrainerSpec.ModelType's BPE, the only kind Llama, Mistral and Gemma ship.</summary>
    public const int BpeModelType = 2;

    /// <summary>Throws InvalidProtocolBufferException on bytes that are not a ModelProto.</summary>
    public static SentencePieceModelFile Parse(byte[] bytes)
    {
        var pieces = new List<(string, float, SentencePieceType)>();
        // The proto2 defaults of NormalizerSpec and TrainerSpec, kept when a field is absent.
        var (name, addDummyPrefix, removeExtraWhitespaces, escapeWhitespaces, modelType) = ("", true, true, true, 1);
        var input = new CodedInputStream(bytes);
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    pieces.Add(ReadPiece(new CodedInputStream(input.ReadBytes().ToByteArray())));
                    break;
                case 2:
                    modelType = ReadTrainerModelType(new CodedInputStream(input.ReadBytes().ToByteArray()));
                    break;
                case 3:
                    var normalizer = new CodedInputStream(input.ReadBytes().ToByteArray());
                    for (uint field; (field = normalizer.ReadTag()) != 0;)
                        switch (WireFormat.GetTagFieldNumber(field))
                        {
                            case 1: name = normalizer.ReadString(); break;
                            case 3: addDummyPrefix = normalizer.ReadBool(); break;
                            case 4: removeExtraWhitespaces = normalizer.ReadBool(); break;
                            case 5: escapeWhitespaces = normalizer.ReadBool(); break;
                            default: normalizer.SkipLastField(); break;
                        }
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }
        return new SentencePieceModelFile(pieces, name, addDummyPrefix, removeExtraWhitespaces, escapeWhitespaces, modelType);
    }

    private static (string, float, SentencePieceType) ReadPiece(CodedInputStream input)
    {
        var (piece, score, type) = ("", 0f, SentencePieceType.Normal);
        for (uint tag; (tag = input.ReadTag()) != 0;)
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: piece = input.ReadString(); break;
                case 2: score = input.ReadFloat(); break;
                case 3: type = (SentencePieceType)input.ReadEnum(); break;
                default: input.SkipLastField(); break;
            }
        return (piece, score, type);
    }

    private static int ReadTrainerModelType(CodedInputStream input)
    {
        var modelType = 1;
        for (uint tag; (tag = input.ReadTag()) != 0;)
            if (WireFormat.GetTagFieldNumber(tag) == 3) modelType = input.ReadEnum();
            else input.SkipLastField();
        return modelType;
    }
}

/// <summary>SentencePiece.Type of sentencepiece_model.proto.</summary>
public enum SentencePieceType { Normal = 1, Unknown, Control, UserDefined, Unused, Byte }
