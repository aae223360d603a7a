using SimNpo.Model.IO;

namespace SimNpo.Model.Tokenizers;

/// <summary>Finds a model directory's tokenizer: tokenizer.model (SentencePiece) first, then tokenizer.json, then vocab.json + merges.txt.</summary>
public static class TokenizerLoader
{
    /// <summary>Whether the directory holds any of the tokenizer files Load reads.</summary>
    public static bool HasTokenizer(string modelDirectory) =>
        File.Exists(Path.Combine(modelDirectory, "tokenizer.model")) || File.Exists(Path.Combine(modelDirectory, "tokenizer.json"))
        || File.Exists(Path.Combine(modelDirectory, TrainedBpe.VocabFile)) && File.Exists(Path.Combine(modelDirectory, TrainedBpe.MergesFile));

    public static ITextTokenizer Load(string modelDirectory, LlamaConfig config)
    {
        if (!Directory.Exists(modelDirectory)) throw new BadInputException(modelDirectory, "model directory not found");
        string InDirectory(string name) => Path.Combine(modelDirectory, name);
        ITextTokenizer tokenizer;
        if (File.Exists(InDirectory("tokenizer.model")))
            tokenizer = SentencePieceTextTokenizer.Load(InDirectory("tokenizer.model"));
        else if (File.Exists(InDirectory("tokenizer.json")))
            tokenizer = ByteLevelBpeTextTokenizer.FromTokenizerJson(InDirectory("tokenizer.json"), config.BosTokenId, config.EosTokenId);
        else if (File.Exists(InDirectory(TrainedBpe.VocabFile)) && File.Exists(InDirectory(TrainedBpe.MergesFile)))
            tokenizer = ByteLevelBpeTextTokenizer.FromVocabAndMerges(InDirectory(TrainedBpe.VocabFile), InDirectory(TrainedBpe.MergesFile), config.BosTokenId,
                config.EosTokenId);
        else
            throw new BadInputException(modelDirectory, "no tokenizer found: expected tokenizer.model, tokenizer.json, or vocab.json with merges.txt");
        // A model may pad its vocabulary beyond the tokenizer's, never the other way: an id past the embedding table is a crash.
        if (tokenizer.VocabSize > config.VocabSize)
            throw new BadInputException(modelDirectory, $"the tokenizer has {tokenizer.VocabSize} tokens but config vocab_size is {config.VocabSize}");
        return tokenizer;
    }
}
