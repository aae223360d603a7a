using SimNpo.Model.IO;

namespace SimNpo.Unlearn.Reports;

/// <summary>One named line of a plot.</summary>
public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);

/// <summary>
/// Line and scatter plots as PNG files, for curves people would rather look at than read. Labels stay ASCII: the
/// bundled font lacks Greek letters and symbols such as ℓ.
/// </summary>
public static class LinePlot
{
    /// <summary>markers: a marker on every point; markEvery k > 0: only on points 0, k, 2k, … (iterations of a long, dense curve).</summary>
    public static void Save(string path, string title, string xLabel, string yLabel, IEnumerable<Series> series, bool markers = false, int width = 800,
        int height = 500, int markEvery = 0)
    {
        var plot = new ScottPlot.Plot();
        foreach (var line in series)
        {
            var scatter = plot.Add.Scatter(line.X.ToArray(), line.Y.ToArray());
            scatter.LegendText = line.Name;
            scatter.MarkerSize = markers ? 6 : 0;
            if (markEvery <= 0) continue;
            scatter.LineWidth = 2;
            var marked = Enumerable.Range(0, line.X.Count).Where(i => i % markEvery == 0).ToArray();
            var marks = plot.Add.Markers(marked.Select(i => line.X[i]).ToArray(), marked.Select(i => line.Y[i]).ToArray(), color: scatter.Color);
            marks.MarkerSize = 8;
        }
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend();
        var bytes = plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }
}
