using System.Text.Json;
using SimNpo.Unlearn.Training;

namespace SimNpo.Unlearn.Reports;

/// <summary>
/// The curves of a training run from its log.jsonl: the losses of every step, and the forget and retain log-probs the
/// run measured every eval-every steps (absent when it measured none).
/// </summary>
public static class TrainingCurves
{
    public const string ForgetLogProb = Evaluation.LogProbCurve.ForgetLogProb;
    public const string RetainLogProb = Evaluation.LogProbCurve.RetainLogProb;

    /// <summary>Writes prefix + "loss.png" and, when the log has evaluations, prefix + "logprob.png"; returns the files written.</summary>
    public static IReadOnlyList<string> Save(string runDirectory, string prefix, string title)
    {
        var steps = File.ReadLines(Path.Combine(runDirectory, Trainer<float>.LogFileName))
            .Where(line => line.Length > 0).Select(line => JsonDocument.Parse(line).RootElement).ToArray();
        Series Curve(string name, Func<JsonElement, double?> value)
        {
            var points = steps.Select(s => (Step: (double)s.GetProperty("step").GetInt32(), Value: value(s))).Where(p => p.Value is not null).ToArray();
            return new Series(name, points.Select(p => p.Step).ToArray(), points.Select(p => p.Value!.Value).ToArray());
        }
        double? Field(JsonElement parent, string name) =>
            parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;

        var written = new List<string>();
        var losses = new[] { Curve("loss", s => Field(s, "loss")), Curve("forget loss", s => Field(s, "forget_loss")),
            Curve("retain loss", s => Field(s, "retain_loss")) };
        LinePlot.Save(prefix + "loss.png", $"{title}: loss", "step", "loss", losses.Where(c => c.X.Count > 0));
        written.Add(prefix + "loss.png");
        double? Eval(JsonElement s, string name) => s.TryGetProperty("eval", out var eval) ? Field(eval, name) : null;
        var logProbs = new[] { Curve("forget", s => Eval(s, ForgetLogProb)), Curve("retain", s => Eval(s, RetainLogProb)) }.Where(c => c.X.Count > 0).ToArray();
        if (logProbs.Length > 0)
        {
            LinePlot.Save(prefix + "logprob.png", $"{title}: mean log p(y|x)/|y|", "step", "log-prob per token", logProbs, markers: true);
            written.Add(prefix + "logprob.png");
        }
        return written;
    }
}
