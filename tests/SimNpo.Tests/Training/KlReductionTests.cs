using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Unlearn.Training;

namespace SimNpo.Tests.Training;

/// <summary>The KL retain term's two reductions (--kl-reduction) on tiny random float64 models.</summary>
public class KlReductionTests
{
    private const int MaxLength = 16;

    private static readonly LlamaConfig Tiny = new()
    {
        HiddenSize = 8, IntermediateSize = 12, NumHiddenLayers = 2, NumAttentionHeads = 2, NumKeyValueHeads = 1, HeadDim = 4, VocabSize = 11,
    };

    private static readonly TokenizedExample[] Retain = [new([1, 4, 7], [3, 9, 2]), new([1, 5], [8, 2])];

    private static LlamaModel<double> Model(int seed)
    {
        var model = new LlamaModel<double>(Tiny, new ReferenceOps<double>());
        ModelInitializer.Randomize(model, seed, std: 0.5, normStd: 0.2);
        return model;
    }

    /// <summary>Per position t of one sequence, the full next-token log-softmax after tokens 0..t, by hand from the logits.</summary>
    private static double[][] LogSoftmaxRows(LlamaModel<double> model, int[] ids)
    {
        var logits = model.ForwardLogits(TokenBatch.FromExamples([new TokenizedExample(ids[..1], ids[1..])])).ToArray();
        var vocab = Tiny.VocabSize;
        return Enumerable.Range(0, logits.Length / vocab).Select(row =>
        {
            var x = logits.Skip(row * vocab).Take(vocab).ToArray();
            var lse = Math.Log(x.Sum(Math.Exp));
            return x.Select(v => v - lse).ToArray();
        }).ToArray();
    }

    private static double Kl(double[] target, double[] model) => target.Zip(model, (t, m) => Math.Exp(t) * (t - m)).Sum();

    /// <summary>
    /// batchmean is torch's kl_div(log πθ, log π_ref, reduction='batchmean', log_target=True) on the [batch·max-length,
    /// vocab] view of the public code's padded batch: KL summed over every real position (prompt positions included;
    /// sequence i of n tokens, EOS included, has n − 1 positions that predict a token) and divided by batch × max-length
    /// (2 × 16 = 32), or with batchmean-longest by batch × the longest example's tokens, as open-unlearning pads; its
    /// padding positions are not computed here (docs/fidelity.md). answer-mean divides the sum over the answer positions
    /// by their count (3 + 2). The expected values come from full log-softmax rows computed by hand from
    /// one-sequence forwards; float64 sums of ~100 terms below 10: 1e-13.
    /// </summary>
    [TestCase("batchmean")]
    [TestCase("batchmean-longest")]
    [TestCase("answer-mean")]
    public void RetainKlMatchesTheReductionsFormula(string reduction)
    {
        using var reference = Model(seed: 2);
        using var model = Model(seed: 1);
        double expected = 0;
        var (answerRows, longest) = (0, 0);
        foreach (var example in Retain)
        {
            int[] ids = [.. example.PromptIds, .. example.AnswerIds];
            var referenceRows = LogSoftmaxRows(reference, ids);
            var modelRows = LogSoftmaxRows(model, ids);
            Assert.That(modelRows, Has.Length.EqualTo(ids.Length - 1));
            longest = Math.Max(longest, ids.Length);
            var first = reduction.StartsWith("batchmean", StringComparison.Ordinal) ? 0 : example.PromptIds.Count - 1;
            for (var t = first; t < modelRows.Length; t++) expected += Kl(referenceRows[t], modelRows[t]);
            answerRows += example.AnswerIds.Count;
        }
        expected /= reduction switch { "batchmean" => Retain.Length * MaxLength, "batchmean-longest" => Retain.Length * longest, _ => answerRows };

        var settings = new TrainingSettings { Method = "graddiff", RetainLoss = "kl", KlReduction = reduction, MaxLength = MaxLength };
        var data = new TrainingData(Retain, Retain);
        var result = new MicroBatchLoss<double>(settings, data, null, reference).Run(model, [0, 1], [0, 1], scale: 1);
        Assert.That(result.RetainLoss, Is.GreaterThan(0.01), "the two random models should disagree");
        Assert.That(result.RetainLoss, Is.EqualTo(expected).Within(1e-13));
    }
}
