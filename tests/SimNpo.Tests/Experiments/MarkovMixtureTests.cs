using SimNpo.Unlearn.Experiments;

namespace SimNpo.Tests.Experiments;

public class MarkovMixtureTests
{
    [Test]
    public void RowsPutEightyPercentOnTheChainsOwnStates()
    {
        for (var chain = 0; chain < 3; chain++)
        {
            var row = MarkovMixture.Row(chain);
            Assert.That(row.Sum(), Is.EqualTo(1).Within(1e-15));
            Assert.That(MarkovMixture.Subsets[chain].Sum(s => row[s]), Is.EqualTo(0.8).Within(1e-15));
            Assert.That(row[9], Is.EqualTo(0.2 / 7).Within(1e-15), "state 9 belongs to no chain and only leaks");
        }
    }

    /// <summary>
    /// 50,000 draws per chain: each state's frequency has standard deviation sqrt(p(1−p)/n) ≤ 0.0022, so 5σ ≈ 0.011
    /// bounds a correct sampler's error while a wrong row (off by 0.8/3 − 0.2/7 ≈ 0.24) fails at once.
    /// </summary>
    [Test]
    public void EmpiricalFrequenciesMatchTheRows()
    {
        var random = new Random(3);
        for (var chain = 0; chain < 3; chain++)
        {
            var counts = new int[MarkovMixture.States];
            const int n = 50_000;
            foreach (var state in Enumerable.Range(0, n / 10).SelectMany(_ => MarkovMixture.Sample(chain, 10, random))) counts[state]++;
            var row = MarkovMixture.Row(chain);
            for (var state = 0; state < MarkovMixture.States; state++)
                Assert.That((double)counts[state] / n, Is.EqualTo(row[state]).Within(5 * Math.Sqrt(row[state] * (1 - row[state]) / n)),
                    $"chain {chain}, state {state}");
        }
    }

    [Test]
    public void ExamplesAreDeterministicForASeed()
    {
        var a = MarkovMixture.Examples(1, 5, 20, new Random(7));
        var b = MarkovMixture.Examples(1, 5, 20, new Random(7));
        Assert.That(a.Select(e => e.AnswerIds), Is.EqualTo(b.Select(e => e.AnswerIds)));
        Assert.That(a.All(e => e.PromptIds.SequenceEqual([MarkovMixture.Bos]) && e.AnswerIds.Count == 20));
    }
}
