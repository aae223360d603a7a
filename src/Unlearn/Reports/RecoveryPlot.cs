using SimNpo.Unlearn.Evaluation;

namespace SimNpo.Unlearn.Reports;

/// <summary>The relearning attack's recovery curves: each forget metric against the relearning step.</summary>
public static class RecoveryPlot
{
    public const string FileName = "recovery.png";

    public static void Save(RecoveryCurve curve, string path)
    {
        var steps = curve.Points.Select(p => (double)p.Step).ToArray();
        var series = curve.Points[0].Metrics.Keys.Select(name => new Series(name, steps, curve.Points.Select(p => p.Metrics[name]).ToArray()));
        LinePlot.Save(path, $"Relearning on {curve.TrainedRecords} of {curve.ForgetRecords} forget records", "relearning step", "forget metric", series,
            markers: true);
    }
}
