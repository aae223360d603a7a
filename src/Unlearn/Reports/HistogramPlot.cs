using SimNpo.Model.IO;

namespace SimNpo.Unlearn.Reports;

/// <summary>A named sample of values for a histogram.</summary>
public sealed record Sample(string Name, IReadOnlyList<double> Values);

/// <summary>
/// Histograms of several samples on shared bins, drawn as translucent bars over each other, so two distributions
/// (an unlearned model's and the retain model's truth ratios) can be compared by eye.
/// </summary>
public static class HistogramPlot
{
    /// <summary>Counts of values in bins equal-width bins spanning [min, max] of all samples; the last bin is closed.</summary>
    public static (double Start, double Width, int[][] Counts) Bin(IReadOnlyList<Sample> samples, int bins)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bins);
        var all = samples.SelectMany(s => s.Values).Where(double.IsFinite).ToArray();
        if (all.Length == 0) throw new ArgumentException("no finite values to bin", nameof(samples));
        var (min, max) = (all.Min(), all.Max());
        // A sample of equal values still gets a visible bin.
        var width = max > min ? (max - min) / bins : 1;
        var counts = samples.Select(s =>
        {
            var count = new int[bins];
            foreach (var value in s.Values.Where(double.IsFinite)) count[Math.Min(bins - 1, (int)((value - min) / width))]++;
            return count;
        }).ToArray();
        return (min, width, counts);
    }

    public static void Save(string path, string title, string xLabel, IReadOnlyList<Sample> samples, int bins = 20, int width = 800, int height = 500)
    {
        var (start, binWidth, counts) = Bin(samples, bins);
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (var s = 0; s < samples.Count; s++)
        {
            var positions = Enumerable.Range(0, bins).Select(b => start + (b + 0.5) * binWidth).ToArray();
            var bars = plot.Add.Bars(positions, counts[s].Select(c => (double)c).ToArray());
            var color = palette.GetColor(s).WithAlpha(0.5);
            foreach (var bar in bars.Bars)
            {
                bar.Size = binWidth;
                bar.FillColor = color;
                bar.LineWidth = 0;
            }
            bars.LegendText = samples[s].Name;
        }
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel("items");
        plot.ShowLegend();
        plot.Axes.Margins(bottom: 0);
        AtomicFile.Write(path, stream => stream.Write(plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png)));
    }
}
