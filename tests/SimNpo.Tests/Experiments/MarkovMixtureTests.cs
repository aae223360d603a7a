using SimNpo.Model;
using SimNpo.Unlearn.Experiments;

namespace SimNpo.Tests.Experiments;

/// <summary>
/// The chains as Unlearn-Simple's synthetic/data_generation.py builds them and the scoring of synthetic/utils.py. Before
/// the fidelity change every state had the subset-favouring row (so a chain returned with probability 0.8, not 0.3) and
/// each sequence began with a BOS token, so the transition and labelling tests fail on that code.
/// </summary>
public class MarkovMixtureTests
{
    [Test]
    public void RowsOfTheChainsOwnStatesLeakAndTheOthersAreUniform()
    {
        for (var chain = 0; chain < 3; chain++)
        {
            var subset = MarkovMixture.Subsets[chain];
            var transitions = MarkovMixture.Transitions(chain);
            Assert.That(transitions, Has.Length.EqualTo(MarkovMixture.States));
            for (var from = 0; from < MarkovMixture.States; from++)
            {
                var row = transitions[from];
                Assert.That(row.Sum(), Is.EqualTo(1).Within(1e-15), $"chain {chain}, row {from}");
                for (var to = 0; to < MarkovMixture.States; to++)
                {
                    // data_generation.py: fill 0.2/7, set the subset block to 0.8/3 in the subset's rows, normalise each row.
                    var expected = !subset.Contains(from) ? 0.1 : subset.Contains(to) ? 0.8 / 3 : 0.2 / 7;
                    Assert.That(row[to], Is.EqualTo(expected).Within(1e-15), $"chain {chain}, {from} -> {to}");
                }
                Assert.That(subset.Sum(s => row[s]), Is.EqualTo(subset.Contains(from) ? 0.8 : 0.3).Within(1e-15),
                    "a chain stays in its subset with probability 0.8 and returns to it from outside with 0.3");
            }
            Assert.That(MarkovMixture.Initial(chain).Sum(), Is.EqualTo(1).Within(1e-15));
            Assert.That(subset.Sum(s => MarkovMixture.Initial(chain)[s]), Is.EqualTo(0.8).Within(1e-15));
        }
    }

    /// <summary>
    /// 20,000 sequences of 20 states: about 150,000 transitions leave an outside state of the forget chain, so the frequency of
    /// returning has standard deviation sqrt(0.3·0.7/150,000) ≈ 0.0012; 5σ ≈ 0.006 bounds a correct sampler while the old
    /// rows (0.8) or a sampler ignoring the current state (0.8·0.8 + 0.2·0.3 ≈ 0.70) fail by far.
    /// </summary>
    [Test]
    public void SampledTransitionsFollowTheRows()
    {
        var random = new Random(3);
        var subset = MarkovMixture.Subsets[1];
        var (outside, returned, firstInSubset) = (0, 0, 0);
        const int sequences = 20_000;
        for (var n = 0; n < sequences; n++)
        {
            var sequence = MarkovMixture.Sample(1, 20, random);
            if (subset.Contains(sequence[0])) firstInSubset++;
            for (var t = 1; t < sequence.Length; t++)
                if (!subset.Contains(sequence[t - 1]))
                {
                    outside++;
                    if (subset.Contains(sequence[t])) returned++;
                }
        }
        var sigma = Math.Sqrt(0.3 * 0.7 / outside);
        Assert.That((double)returned / outside, Is.EqualTo(0.3).Within(5 * sigma));
        Assert.That((double)firstInSubset / sequences, Is.EqualTo(0.8).Within(5 * Math.Sqrt(0.8 * 0.2 / sequences)));
    }

    [Test]
    public void EveryStateButTheFirstIsScored()
    {
        var examples = MarkovMixture.Examples(2, 3, 20, new Random(7));
        var random = new Random(7);
        var sequences = Enumerable.Range(0, 3).Select(_ => MarkovMixture.Sample(2, 20, random)).ToArray();
        var batch = TokenBatch.FromExamples(examples);
        for (var b = 0; b < 3; b++)
        {
            Assert.That(examples[b].PromptIds.Concat(examples[b].AnswerIds), Is.EqualTo(sequences[b]), "the sequence alone, no BOS or EOS");
            Assert.That(examples[b].PromptIds, Has.Count.EqualTo(1));
            // utils.py: input_ids = seq[:-1], labels = seq[1:]: position t predicts state t+1, and the last state predicts nothing.
            var targets = batch.Targets.Skip(b * batch.SequenceLength).Take(batch.SequenceLength).ToArray();
            Assert.That(targets, Is.EqualTo(sequences[b][1..].Append(TokenBatch.Ignored)));
        }
        Assert.That(batch.ScoredCounts(), Is.All.EqualTo(19));
    }

    [Test]
    public void ExamplesAreDeterministicForASeed()
    {
        var a = MarkovMixture.Examples(1, 5, 20, new Random(7));
        var b = MarkovMixture.Examples(1, 5, 20, new Random(7));
        Assert.That(a.Select(e => e.PromptIds.Concat(e.AnswerIds)), Is.EqualTo(b.Select(e => e.PromptIds.Concat(e.AnswerIds))));
    }
}
