using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;
using SimNpo.Model.IO;

namespace SimNpo.Model.Conversion;

/// <summary>SentencePiece's piece types, numbered as in sentencepiece_model.proto.</summary>
public enum PieceType
{
    Normal = 1,
    Unknown = 2,
    Control = 3,
    Byte = 6,
}

public sealed record ScoredPiece(string Piece, float Score, PieceType Type);

/// <summary>
/// A SentencePiece BPE model with byte fallback, Llama-style (unk 0, BOS 1, EOS 2, no pad; a dummy-prefix space and
/// spaces escaped as '▁'), serialised as the ModelProto protobuf that tokenizer.model holds. Only the fields encoding
/// reads are written; the training settings are left at their defaults.
/// </summary>
public sealed partial class SentencePieceModel(IReadOnlyList<ScoredPiece> pieces)
{
    public IReadOnlyList<ScoredPiece> Pieces { get; } = pieces;

    /// <summary>The pieces of a llama2.c vocabulary, with '▁' and the special tokens restored and each piece typed.</summary>
    public static SentencePieceModel FromLlama2C(Llama2CVocabulary vocabulary, string source)
    {
        if (vocabulary.Tokens.Count < 3 || vocabulary.Tokens[0] != "<unk>" || vocabulary.Tokens[1].Trim('\n') != "<s>"
            || vocabulary.Tokens[2].Trim('\n') != "</s>")
            throw new BadInputException(source, "tokens 0, 1, 2 must be <unk>, <s>, </s> as in Llama's SentencePiece models");
        var pieces = vocabulary.Tokens.Select((token, id) => id switch
        {
            0 => new ScoredPiece(token, vocabulary.Scores[id], PieceType.Unknown),
            1 or 2 => new ScoredPiece(token.Trim('\n'), vocabulary.Scores[id], PieceType.Control),
            _ when BytePiece().IsMatch(token) => new ScoredPiece(token, vocabulary.Scores[id], PieceType.Byte),
            _ => new ScoredPiece(token.Replace(' ', '▁'), vocabulary.Scores[id], PieceType.Normal),
        });
        return new SentencePieceModel(pieces.ToList());
    }

    public void Save(string path) => AtomicFile.Write(path, stream => stream.Write(Serialize()));

    public byte[] Serialize()
    {
        var model = new ProtoWriter();
        foreach (var piece in Pieces)
        {
            var entry = new ProtoWriter();
            entry.String(1, piece.Piece);
            entry.Float(2, piece.Score);
            entry.Varint(3, (int)piece.Type);
            model.Message(1, entry);
        }
        var trainer = new ProtoWriter();
        trainer.Varint(3, 2);            // model_type BPE
        trainer.Varint(4, Pieces.Count); // vocab_size
        trainer.Varint(35, 1);           // byte_fallback
        trainer.Varint(40, 0);           // unk_id
        trainer.Varint(41, 1);           // bos_id
        trainer.Varint(42, 2);           // eos_id
        trainer.Varint(43, -1);          // pad_id: none
        trainer.String(45, "<unk>");
        trainer.String(46, "<s>");
        trainer.String(47, "</s>");
        model.Message(2, trainer);
        var normalizer = new ProtoWriter();
        normalizer.String(1, "identity");
        normalizer.Varint(3, 1);         // add_dummy_prefix
        normalizer.Varint(4, 0);         // remove_extra_whitespaces
        normalizer.Varint(5, 1);         // escape_whitespaces
        model.Message(3, normalizer);
        return model.ToArray();
    }

    [GeneratedRegex("^<0x[0-9A-F]{2}>$")]
    private static partial Regex BytePiece();

    /// <summary>The protobuf wire format, as far as a ModelProto needs it: varints, floats, strings and nested messages.</summary>
    private sealed class ProtoWriter
    {
        private const int VarintWire = 0, LengthDelimitedWire = 2, Fixed32Wire = 5;
        private readonly MemoryStream buffer = new();

        public byte[] ToArray() => buffer.ToArray();

        /// <summary>int32, bool and enum values; a negative one is sign-extended to 64 bits (ten bytes), as protobuf requires.</summary>
        public void Varint(int field, long value)
        {
            Tag(field, VarintWire);
            WriteVarint((ulong)value);
        }

        public void Float(int field, float value)
        {
            Tag(field, Fixed32Wire);
            Span<byte> bytes = stackalloc byte[4];
            BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
            buffer.Write(bytes);
        }

        public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public void Message(int field, ProtoWriter message) => Bytes(field, message.ToArray());

        private void Bytes(int field, byte[] value)
        {
            Tag(field, LengthDelimitedWire);
            WriteVarint((ulong)value.Length);
            buffer.Write(value);
        }

        private void Tag(int field, int wireType) => WriteVarint((ulong)(field << 3 | wireType));

        private void WriteVarint(ulong value)
        {
            for (; value >= 0x80; value >>= 7) buffer.WriteByte((byte)(value | 0x80));
            buffer.WriteByte((byte)value);
        }
    }
}
