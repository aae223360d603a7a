using SimNpo.Model;
using SimNpo.Unlearn.Methods;
using SimNpo.Unlearn.Objectives;
using SimNpo.Unlearn.Training;

namespace SimNpo.Tests.Methods;

/// <summary>The method registry: what each descriptor declares, and that the lists the commands show come from it.</summary>
public class TrainingMethodsTests
{
    [Test]
    public void ListsEveryMethodInThePapersOrder()
    {
        // Among the others a new method may take any place, so only these methods' order is pinned.
        string[] paper = ["simnpo", "npo", "ga", "graddiff", "idkpo"];
        Assert.That(TrainingMethods.Names(TrainingMethods.All).Where(paper.Append("nll").Contains), Is.EqualTo(paper.Append("nll")));
        Assert.That(TrainingMethods.Names(TrainingMethods.Unlearning).Where(paper.Contains), Is.EqualTo(paper));
        Assert.That(TrainingMethods.Names(TrainingMethods.Unlearning), Does.Not.Contain("nll"));
        Assert.That(TrainingMethods.Names(TrainingMethods.Grad),
            Is.SupersetOf(new[] { "nll", "ga", "simnpo", "npo" }).And.No.Member("graddiff").And.No.Member("idkpo"));
    }

    [TestCase("simnpo", 2.5, false, false, true)]
    [TestCase("npo", 0.1, true, false, true)]
    [TestCase("ga", null, false, false, false)]
    [TestCase("graddiff", null, false, false, true)]
    [TestCase("idkpo", 0.1, true, true, true)]
    [TestCase("nll", null, false, false, false)]
    public void DeclaresItsDefaultsAndNeeds(string name, double? beta, bool reference, bool refusals, bool retainTerm)
    {
        var method = TrainingMethods.Get(name);
        Assert.That(method.DefaultBeta, Is.EqualTo(beta));
        Assert.That(method.NeedsReferenceLogProbs, Is.EqualTo(reference));
        Assert.That(method.NeedsRefusals, Is.EqualTo(refusals));
        Assert.That(method.HasRetainTerm, Is.EqualTo(retainTerm));
        // The retain term is used exactly when the method has one and λ is not 0.
        Assert.That(new TrainingSettings { Method = name }.UsesRetainTerm, Is.EqualTo(retainTerm));
        Assert.That(new TrainingSettings { Method = name, RetainWeight = 0 }.UsesRetainTerm, Is.False);
    }

    [Test]
    public void AppliesTheDefaultBetaOnlyWhenNoneIsGiven()
    {
        // SimNPO at a log-prob of 0 per token: L = −(2/β)·log σ(−γ) = (2/β)·log 2 with γ = 0.
        var scores = new SequenceScores([0.0], [1]);
        Assert.That(TrainingMethods.Get("simnpo").Objective(null, 0, null).Evaluate(scores).Loss, Is.EqualTo(2 / 2.5 * Math.Log(2)).Within(1e-12));
        Assert.That(TrainingMethods.Get("simnpo").Objective(1.0, 0, null).Evaluate(scores).Loss, Is.EqualTo(2 * Math.Log(2)).Within(1e-12));
        Assert.That(TrainingMethods.Get("npo").Objective(null, 0, [0.0]).Evaluate(scores).Loss, Is.EqualTo(2 / 0.1 * Math.Log(2)).Within(1e-9));
        Assert.That(TrainingMethods.Get("ga").Beta(3.0), Is.EqualTo(3.0), "a method without β passes a given one through unused");
    }

    /// <summary>
    /// --gamma-form against the official formula (OPTML-Group/Unlearn-Simple TOFU/dataloader.py lines 283–284, with
    /// get_batch_loss the summed NLL): loss_i = NLL_i/|y_i| − γ, L = −(2/β)·mean_i log σ(β·loss_i), i.e. β·γ inside σ;
    /// and the paper's σ(−β·ℓ_i − γ). Two sequences, β 2.5, γ 0.4: the forms differ by 1.5·γ inside σ, which moves
    /// the loss by ~0.1; both match their formula to 1e-12 (a few float64 roundings of numbers of order 1).
    /// </summary>
    [Test]
    public void GammaFormCodeIsTheOfficialFormulaAndPaperThePapers()
    {
        const double beta = 2.5, gamma = 0.4;
        double[] logProb = [-6.0, -1.5];
        int[] length = [4, 3];
        var scores = new SequenceScores(logProb, length);
        static double LogSigmoid(double x) => -Math.Log(1 + Math.Exp(-x));
        var official = -2 / beta * logProb.Select((lp, i) => LogSigmoid(beta * (-lp / length[i] - gamma))).Average();
        var paper = -2 / beta * logProb.Select((lp, i) => LogSigmoid(-beta * lp / length[i] - gamma)).Average();

        var simnpo = TrainingMethods.Get("simnpo");
        Assert.That(simnpo.Objective(beta, gamma, null, GammaForm.Code).Evaluate(scores).Loss, Is.EqualTo(official).Within(1e-12));
        Assert.That(simnpo.Objective(beta, gamma, null, GammaForm.Paper).Evaluate(scores).Loss, Is.EqualTo(paper).Within(1e-12));
        Assert.That(simnpo.Objective(beta, gamma, null).Evaluate(scores).Loss, Is.EqualTo(paper).Within(1e-12), "the paper's form is the default");
        Assert.That(Math.Abs(official - paper), Is.GreaterThan(0.05));
        // dL/dlog π_i of the code's form: (2/N)·σ(β·ℓ_i + β·γ)/|y_i|.
        var weights = simnpo.Objective(beta, gamma, null, GammaForm.Code).Evaluate(scores).SequenceWeights;
        for (var i = 0; i < 2; i++)
            Assert.That(weights[i], Is.EqualTo(2.0 / 2 / (1 + Math.Exp(-(beta * logProb[i] / length[i] + beta * gamma))) / length[i]).Within(1e-12));
        Assert.That(new TrainingSettings { GammaForm = "sideways" }.Problem(), Does.Contain("gamma-form 'sideways' is not one of paper, code"));
    }

    [Test]
    public void NpoRefusesToRunWithoutReferenceLogProbs() =>
        Assert.That(() => TrainingMethods.Get("npo").Objective(null, 0, null),
            Throws.ArgumentException.With.Message.Contains("npo needs the reference model's log-probs"));

    [Test]
    public void UnknownNamesAreRefusedWithTheList()
    {
        var list = TrainingMethods.NameList(TrainingMethods.All);
        Assert.That(list, Does.StartWith("simnpo, npo, ga, graddiff, idkpo"));
        Assert.That(() => TrainingMethods.Get("dpo"), Throws.ArgumentException.With.Message.EqualTo($"unknown method 'dpo' (choose one of: {list})"));
        Assert.That(new TrainingSettings { Method = "dpo" }.Problem(), Is.EqualTo($"method 'dpo' is not one of {list}"));
    }

    [Test]
    public void IdkPoBatchesRefusalsThenTrueAnswers()
    {
        TokenizedExample Example(int token) => new([1], [token]);
        var data = new TrainingData([Example(10), Example(11), Example(12)], [], [Example(20), Example(21), Example(22)]);
        var reference = new ReferenceLogProbs([-1, -2, -3], [-4, -5, -6]);
        var idkpo = TrainingMethods.Get("idkpo");
        Assert.That(idkpo.ForgetBatch(data, [2, 0]).Select(e => e.AnswerIds[0]), Is.EqualTo(new[] { 22, 20, 12, 10 }));
        Assert.That(idkpo.BatchReferenceLogProbs(reference, [2, 0]), Is.EqualTo(new[] { -6.0, -4.0, -3.0, -1.0 }));
        Assert.That(idkpo.ForgetAnswerPositions(2), Is.EqualTo(new[] { 2, 3 }));
        var npo = TrainingMethods.Get("npo");
        Assert.That(npo.ForgetBatch(data, [2, 0]).Select(e => e.AnswerIds[0]), Is.EqualTo(new[] { 12, 10 }));
        Assert.That(npo.BatchReferenceLogProbs(reference, [2, 0]), Is.EqualTo(new[] { -3.0, -1.0 }));
        Assert.That(TrainingMethods.Get("simnpo").BatchReferenceLogProbs(reference, [2, 0]), Is.Null);
    }

    [TestCase("simnpo", "simnpo")]
    [TestCase("npo", "npo")]
    [TestCase("ga", "ga")]
    [TestCase("graddiff", "ga")]
    [TestCase("idkpo", "idkpo")]
    [TestCase("nll", "nll")]
    public void BuildsItsObjective(string name, string objective)
    {
        var method = TrainingMethods.Get(name);
        Assert.That(method.Objective(null, 0, method.NeedsReferenceLogProbs ? [0.0, 0.0] : null).Name, Is.EqualTo(objective));
    }
}
