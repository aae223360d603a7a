using SimNpo.Unlearn.Reports;

namespace SimNpo.Unlearn.Evaluation;

/// <summary>
/// The protocol's pictures: forget quality against model utility (one labelled point per model), and per unlearning
/// method its loss and log-prob curves and a histogram of its forget truth ratios beside the retain model's.
/// </summary>
public static class TofuProtocolPlots
{
    public const string TradeOffFile = "forget_quality_vs_utility.png";

    /// <summary>Returns the files written.</summary>
    public static IReadOnlyList<string> Save(TofuProtocolReport report, IReadOnlyDictionary<string, TofuReport> evaluations, string directory,
        IReadOnlyDictionary<string, string> unlearningRuns)
    {
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        var tradeOff = Path.Combine(directory, TradeOffFile);
        // log10 of the p-value, as the paper plots it; a p-value that underflowed to 0 sits at the smallest double.
        LabelledScatter.Save(tradeOff, $"TOFU {report.ForgetSet}: forget quality against model utility", "model utility", "log10 forget quality",
            report.Rows.Select(r => new LabelledPoint(r.Name, r.ModelUtility, Math.Log10(Math.Max(r.ForgetQuality, double.Epsilon)))).ToArray());
        written.Add(tradeOff);

        var retain = evaluations[TofuProtocol.RetainName].ForgetTruthRatios;
        foreach (var (method, run) in unlearningRuns)
        {
            var histogram = Path.Combine(directory, $"truth_ratio_{method}.png");
            SaveTruthRatioHistogram(histogram, method, evaluations[method].ForgetTruthRatios, retain);
            written.Add(histogram);
            written.AddRange(TrainingCurves.Save(run, Path.Combine(directory, $"{method}_"), method));
        }
        return written;
    }

    /// <summary>
    /// A model's per-item forget truth ratios R beside the retain model's, as ln R: ratios span orders of magnitude,
    /// and ln R is 0 where a model cannot tell true from false.
    /// </summary>
    public static void SaveTruthRatioHistogram(string path, string name, IReadOnlyList<double> ratios, IReadOnlyList<double> retainRatios) =>
        HistogramPlot.Save(path, $"Forget set truth ratios: {name} and the retain model", "ln R (R: paraphrased against perturbed answers)",
            [new Sample(name, ratios.Select(r => Math.Log(r)).ToArray()),
            new Sample(TofuProtocol.RetainName, retainRatios.Select(r => Math.Log(r)).ToArray())]);
}
