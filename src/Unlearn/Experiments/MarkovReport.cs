using System.Globalization;
using System.Text;
using System.Text.Json;
using SimNpo.Model.IO;
using SimNpo.Unlearn.Reports;

namespace SimNpo.Unlearn.Experiments;

/// <summary>The Markov study's outputs: markov.json (every curve), markov.md (the table and the verdict) and the plots.</summary>
public static class MarkovReport
{
    private const int MarkEvery = 10;

    public static void Write(string directory, IReadOnlyList<MarkovCurve> curves, int seed, double scale, string device, double seconds)
    {
        var options = new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
        AtomicFile.WriteAllText(Path.Combine(directory, "markov.json"),
            JsonSerializer.Serialize(new { seed, scale, device, seconds = Math.Round(seconds), curve_sequences = MarkovExperiment.CurveSequences, curves },
                options) + "\n");
        foreach (var variant in MarkovExperiment.Variants.Select(v => v.Name))
        {
            Plot(directory, curves, variant, ["npo", "simnpo"], "", p => p.Retrained, "KL(retrained || model)");
            Plot(directory, curves, variant, ["npo-rt", "simnpo-rt"], "-rt", p => p.Retrained, "KL(retrained || model)");
            Plot(directory, curves, variant, ["npo", "simnpo"], "-true-rows", p => p.TrueRows, "KL(true rows || model)");
        }
        AtomicFile.WriteAllText(Path.Combine(directory, "markov.md"), Summary(curves, seconds));
    }

    /// <summary>As the paper draws it: the forget distance of each forget chain against the retain distance, one point per iteration.</summary>
    private static void Plot(string directory, IReadOnlyList<MarkovCurve> curves, string variant, string[] methods, string suffix,
        Func<MarkovKl, double> distance, string metric)
    {
        var series = methods.Select(m => curves.Single(c => c.Variant == variant && c.Method == m)).SelectMany(c => new[]
        {
            new Series($"{c.Method} forget 1", c.Points.Select(p => distance(p.Retain)).ToArray(), c.Points.Select(p => distance(p.Forget1)).ToArray()),
            new Series($"{c.Method} forget 2", c.Points.Select(p => distance(p.Retain)).ToArray(), c.Points.Select(p => distance(p.Forget2)).ToArray()),
        });
        LinePlot.Save(Path.Combine(directory, $"markov-{variant}{suffix}.png"), $"{variant}: {metric}, markers every {MarkEvery} iterations",
            "retain distance", "forget distance", series, markEvery: MarkEvery);
    }

    /// <summary>
    /// The table (whole test sets, before and after unlearning) and, per variant and retain setting, whether SimNPO ends
    /// closer to the retrained model than NPO on each test set: the metric is a distance to the model that never saw the
    /// forget chains, so lower is better on all three.
    /// </summary>
    public static string Summary(IReadOnlyList<MarkovCurve> curves, double seconds)
    {
        static string F(double value) => value.ToString("F4", CultureInfo.InvariantCulture);
        var text = new StringBuilder("# Mixture of Markov chains\n\n");
        text.AppendLine("KL(retrained model || model), mean per scored token over each whole test set, before unlearning -> after the last iteration");
        text.AppendLine("(lower is better everywhere). In brackets: KL(true rows || model) after the last iteration. Curves: markov.json and the plots.");
        text.AppendLine();
        text.AppendLine("| variant | method | iterations | retain | forget 1 | forget 2 |");
        text.AppendLine("| --- | --- | ---: | ---: | ---: | ---: |");
        foreach (var c in curves)
            text.AppendLine($"| {c.Variant} | {c.Method} | {c.After.Iteration} | {F(c.Before.Retain.Retrained)} -> {F(c.After.Retain.Retrained)} " +
                            $"({F(c.After.Retain.TrueRows)}) | {F(c.Before.Forget1.Retrained)} -> {F(c.After.Forget1.Retrained)} " +
                            $"({F(c.After.Forget1.TrueRows)}) | {F(c.Before.Forget2.Retrained)} -> {F(c.After.Forget2.Retrained)} " +
                            $"({F(c.After.Forget2.TrueRows)}) |");
        text.AppendLine();
        text.AppendLine("Closest approach to the retrained model on the forget chains along each curve (the iteration of the least mean forget");
        text.AppendLine($"distance, first {MarkovExperiment.CurveSequences} sequences of each test set):");
        text.AppendLine();
        text.AppendLine("| variant | method | iteration | retain | forget 1 | forget 2 |");
        text.AppendLine("| --- | --- | ---: | ---: | ---: | ---: |");
        foreach (var c in curves)
        {
            var closest = c.Points.MinBy(p => p.Forget1.Retrained + p.Forget2.Retrained)!;
            text.AppendLine($"| {c.Variant} | {c.Method} | {closest.Iteration} | {F(closest.Retain.Retrained)} | {F(closest.Forget1.Retrained)} | " +
                            $"{F(closest.Forget2.Retrained)} |");
        }
        text.AppendLine();
        foreach (var variant in MarkovExperiment.Variants.Select(v => v.Name))
            foreach (var (npoName, simNpoName) in new[] { ("npo", "simnpo"), ("npo-rt", "simnpo-rt") })
                text.AppendLine(Verdict(curves.Single(c => c.Variant == variant && c.Method == npoName),
                    curves.Single(c => c.Variant == variant && c.Method == simNpoName)));
        text.AppendLine();
        text.AppendLine($"Run time {seconds / 60:F1} min.");
        return text.ToString();
    }

    private static string Verdict(MarkovCurve npo, MarkovCurve simNpo)
    {
        var sets = new (string Name, Func<MarkovPoint, MarkovKl> Of)[]
            { ("retain", p => p.Retain), ("forget 1", p => p.Forget1), ("forget 2", p => p.Forget2) };
        var closer = sets.Where(s => s.Of(simNpo.After).Retrained < s.Of(npo.After).Retrained).Select(s => s.Name).ToArray();
        var verdict = closer.Length == sets.Length ? "holds" : closer.Length == 0 ? "does not hold" : "holds in part";
        return $"- {npo.Variant}, {simNpo.Method} against {npo.Method}: SimNPO ends closer to the retrained model on " +
               $"{(closer.Length == 0 ? "none of the test sets" : string.Join(", ", closer))}: the paper's claim {verdict} on this metric.";
    }
}
