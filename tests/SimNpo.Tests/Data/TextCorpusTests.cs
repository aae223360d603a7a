using SimNpo.Cli;
using SimNpo.Model.Tokenizers;
using SimNpo.Model;
using SimNpo.Tests.Cli;
using SimNpo.Unlearn.Data;

namespace SimNpo.Tests.Data;

/// <summary>MUSE's raw/forget.txt as a forget corpus, chunked as muse_bench baselines/baselines/dataset.py does.</summary>
public class TextCorpusTests
{
    /// <summary>
    /// dataset.py on tokens 1..10 with max_len 4 (BOS 0): runs of 3 tokens after a BOS; the short last chunk [0, 10] is
    /// filled from the first chunk, its BOS included: [0, 10, 0, 1]. A text that fills its chunks exactly is not rotated.
    /// </summary>
    [Test]
    public void ChunksAsMuseBench()
    {
        var chunks = TextCorpus.Chunks([.. Enumerable.Range(1, 10)], bosId: 0, chunkLength: 4);
        Assert.That(chunks.Select(c => c.PromptIds.Concat(c.AnswerIds)), Is.EqualTo(new[]
        {
            new[] { 0, 1, 2, 3 }, [0, 4, 5, 6], [0, 7, 8, 9], [0, 10, 0, 1],
        }));
        Assert.That(chunks.All(c => c.PromptIds.SequenceEqual([0])), Is.True, "BOS is the prompt; every token after it is trained on");
        var exact = TextCorpus.Chunks([.. Enumerable.Range(1, 6)], bosId: 0, chunkLength: 4);
        Assert.That(exact.Select(c => c.PromptIds.Concat(c.AnswerIds)), Is.EqualTo(new[] { new[] { 0, 1, 2, 3 }, [0, 4, 5, 6] }));
        var short_ = TextCorpus.Chunks([7], bosId: 0, chunkLength: 4);
        Assert.That(short_.Single().PromptIds.Concat(short_.Single().AnswerIds), Is.EqualTo(new[] { 0, 7, 0, 7 }));
    }

    /// <summary>
    /// `unlearn --forget raw/forget.txt` (the first 2,000 characters of MUSE-News's) on stories260K: the text, tokenized
    /// whole, becomes ⌈n / 63⌉ chunks of 64 tokens (--max-length 64), and one epoch of GA runs over them.
    /// </summary>
    [Test]
    public void UnlearnTakesMusesForgetText()
    {
        var forgetText = SharedFiles.Require("data/muse-news/raw/forget.txt");
        using var model = new TempDirectory();
        Stories260K.ConvertInto(model);
        using var work = new TempDirectory();
        var text = File.ReadAllText(forgetText)[..2000];
        File.WriteAllText(work.File("forget.txt"), text);
        var tokens = TokenizerLoader.Load(model.Path, ModelFiles.LoadConfig(model.Path)).Encode(text).Count;
        var expected = (tokens + 62) / 63;
        var run = Simnpo.Run("unlearn", "--model", model.Path, "--forget", work.File("forget.txt"), "--method", "ga", "--max-length", "64",
            "--epochs", "1", "--batch-size", $"{expected}", "--grad-accum", "1", "--warmup", "0", "--out", work.File("out"));
        Assert.That(run.Code, Is.EqualTo(CommandRunner.Success), run.Error);
        Assert.That(run.Output, Does.Contain($"{expected} chunks of 64 tokens"));
        Assert.That(run.Output, Does.Contain("done: 1 steps"));
    }
}
