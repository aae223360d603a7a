using SimNpo.Unlearn.Evaluation;
using SimNpo.Unlearn.Reports;

namespace SimNpo.Tests.Reports;

public class HistogramPlotTests
{
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    [Test]
    public void SamplesShareBinsOverTheirCommonRange()
    {
        // Range [0, 4] in 4 bins of width 1; 4 is the closed end of the last bin, NaN is left out.
        var (start, width, counts) = HistogramPlot.Bin([new Sample("a", [0, 0.5, 1, 4, double.NaN]), new Sample("b", [2, 2.9, 3])], 4);
        Assert.That((start, width), Is.EqualTo((0.0, 1.0)));
        Assert.That(counts[0], Is.EqualTo(new[] { 2, 1, 0, 1 }));
        Assert.That(counts[1], Is.EqualTo(new[] { 0, 0, 2, 1 }));
    }

    [Test]
    public void EqualValuesGetOneBin()
    {
        var (_, width, counts) = HistogramPlot.Bin([new Sample("a", [5, 5, 5])], 3);
        Assert.That(width, Is.EqualTo(1.0));
        Assert.That(counts[0], Is.EqualTo(new[] { 3, 0, 0 }));
    }

    [Test]
    public void PlotsAreWrittenAsPng()
    {
        using var directory = new TempDirectory();
        HistogramPlot.Save(directory.File("h.png"), "truth ratios", "ln R", [new Sample("simnpo", [-1, 0, 0.5, 2]), new Sample("retain", [0, 0.1, 0.2])]);
        LabelledScatter.Save(directory.File("s.png"), "trade-off", "model utility", "log10 forget quality",
            [new LabelledPoint("npo", 0.4, -3), new LabelledPoint("simnpo", 0.5, -1)]);
        var curve = new RecoveryCurve("m", "sha", "f.jsonl", 10, 5, new RelearnSettings(),
            [new RecoveryPoint(0, new Dictionary<string, double> { ["prob"] = 0.1 }),
            new RecoveryPoint(10, new Dictionary<string, double> { ["prob"] = 0.6 })]);
        RecoveryPlot.Save(curve, directory.File("r.png"));
        foreach (var name in new[] { "h.png", "s.png", "r.png" })
            Assert.That(File.ReadAllBytes(directory.File(name)).Take(8), Is.EqualTo(PngSignature), name);
    }
}
