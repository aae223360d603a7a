using SimNpo.Model;
using SimNpo.Model.Tokenizers;
using SimNpo.Unlearn.Experiments;

namespace SimNpo.Tests.Tokenizers;

public class BpeTrainerTests
{
    private static readonly string[] Texts = FictitiousAuthorsDataset.Generate(new FictitiousAuthorsSettings { Seed = 3 }).Texts().ToArray();

    /// <summary>
    /// "ab ab ab cd" splits into "ab", " ab", " ab", " cd". Pair counts: a+b 3, Ġ+a 2, Ġ+c 1, c+d 1, so "a b" first, then
    /// Ġ+ab (2). Then Ġ+c and c+d tie at 1 and "c" sorts before "Ġ" (U+0063 &lt; U+0120): "c d", and last "Ġ cd". Nothing
    /// is left to merge, so the vocabulary stops at 3 + 256 + 4 tokens however many were asked for.
    /// </summary>
    [Test]
    public void MergesTheMostFrequentPairAndBreaksTiesByOrdinal()
    {
        var bpe = BpeTrainer.Train(["ab ab ab cd"], vocabSize: 300);
        Assert.That(bpe.Merges, Is.EqualTo(new[] { ("a", "b"), ("Ġ", "ab"), ("c", "d"), ("Ġ", "cd") }));
        Assert.That(bpe.VocabSize, Is.EqualTo(263));
        Assert.That(bpe.Tokens.Take(3), Is.EqualTo(new[] { "<pad>", "<s>", "</s>" }));
        Assert.That((bpe.Tokens[3 + ' '], bpe.Tokens[3 + 'a'], bpe.Tokens[3 + 0xC3]), Is.EqualTo(("Ġ", "a", "Ã")));
        Assert.That(bpe.Tokens.Skip(259), Is.EqualTo(new[] { "ab", "Ġab", "cd", "Ġcd" }));
        Assert.That(BpeTrainer.Train(["ab ab ab cd"], vocabSize: 261).Merges, Has.Count.EqualTo(2));

        using var directory = new TempDirectory();
        bpe.Save(directory.Path);
        Assert.That(File.ReadAllText(directory.File("merges.txt")), Is.EqualTo("#version: 0.2\na b\nĠ ab\nc d\nĠ cd\n"));
        var tokenizer = TokenizerLoader.Load(directory.Path, TinyConfig(vocabSize: 263));
        Assert.That(tokenizer.Encode("ab cd ab"), Is.EqualTo(new[] { 259, 262, 260 }));
        Assert.That(tokenizer.Encode("b é"), Is.EqualTo(new[] { 3 + 'b', 3 + ' ', 3 + 0xC3, 3 + 0xA9 }), "unmerged text falls back to bytes");
        Assert.That((tokenizer.VocabSize, tokenizer.BosId, tokenizer.EosId), Is.EqualTo((263, 1, 2)));
    }

    [Test]
    public void FittedToTheGeneratedDataItRoundTripsEveryText()
    {
        var bpe = BpeTrainer.Train(Texts, vocabSize: 768);
        using var directory = new TempDirectory();
        bpe.Save(directory.Path);
        // Loaded as a model directory would be: vocab.json + merges.txt, with the config's BOS and EOS.
        var tokenizer = TokenizerLoader.Load(directory.Path, TinyConfig(vocabSize: 768));
        Assert.That(tokenizer.VocabSize, Is.EqualTo(768));
        Assert.That(Texts.Any(text => text.Any(c => c > 127)), "the names carry accents, so multi-byte UTF-8 is round-tripped too");
        foreach (var text in Texts) Assert.That(tokenizer.Decode(tokenizer.Encode(text)), Is.EqualTo(text));
        foreach (var word in new[] { " the", " was", " born", " author", " father", " book" })
            Assert.That(tokenizer.Encode(word), Has.Count.EqualTo(1), $"'{word}' is frequent enough to be one token");
        // Fewer tokens than bytes by far: 768 tokens fitted to this text should at least halve it.
        var bytes = Texts.Sum(text => System.Text.Encoding.UTF8.GetByteCount(text));
        Assert.That(Texts.Sum(text => tokenizer.Encode(text).Count), Is.LessThan(bytes / 2));
    }

    [Test]
    public void TrainingIsDeterministicAndIndependentOfTextOrder()
    {
        using var first = new TempDirectory();
        using var second = new TempDirectory();
        BpeTrainer.Train(Texts, vocabSize: 400).Save(first.Path);
        BpeTrainer.Train(Texts.Reverse(), vocabSize: 400).Save(second.Path);
        foreach (var name in new[] { "vocab.json", "merges.txt" })
            Assert.That(File.ReadAllBytes(second.File(name)), Is.EqualTo(File.ReadAllBytes(first.File(name))), name);
    }

    [Test]
    public void RefusesAVocabularySmallerThanTheBytes() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => BpeTrainer.Train(["a"], BpeTrainer.MinimumVocabSize - 1));

    /// <summary>A model config around the tokenizer, as a model directory holding the saved files would have.</summary>
    private static LlamaConfig TinyConfig(int vocabSize) => new()
    {
        HiddenSize = 8, IntermediateSize = 16, NumHiddenLayers = 1, NumAttentionHeads = 1, NumKeyValueHeads = 1, HeadDim = 8, VocabSize = vocabSize,
    };
}
