using SimNpo.Model.IO;

namespace SimNpo.Unlearn.Reports;

/// <summary>A point with its name written beside it.</summary>
public sealed record LabelledPoint(string Label, double X, double Y);

/// <summary>One marker per point, each labelled: methods placed on a trade-off such as forget quality against model utility.</summary>
public static class LabelledScatter
{
    public static void Save(string path, string title, string xLabel, string yLabel, IReadOnlyList<LabelledPoint> points, int width = 800, int height = 500)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (var i = 0; i < points.Count; i++)
        {
            var point = points[i];
            var marker = plot.Add.Marker(point.X, point.Y);
            marker.MarkerSize = 12;
            marker.Color = palette.GetColor(i);
            var label = plot.Add.Text(point.Label, point.X, point.Y);
            label.LabelFontSize = 14;
            label.OffsetX = 8;
            label.OffsetY = -8;
        }
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        // Room for the labels right of the rightmost point.
        plot.Axes.Margins(0.2, 0.15);
        // A .svg path gets vector graphics (text stays text); anything else a PNG.
        if (path.EndsWith(".svg", StringComparison.OrdinalIgnoreCase)) AtomicFile.WriteAllText(path, plot.GetSvgXml(width, height));
        else AtomicFile.Write(path, stream => stream.Write(plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png)));
    }
}
