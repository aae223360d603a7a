using System.Globalization;

namespace SimNpo.Unlearn.Sweeps;

/// <summary>One --grid entry: an option's name without dashes and the values it takes ("beta=2.5,4.5").</summary>
public sealed record GridAxis(string Key, IReadOnlyList<string> Values)
{
    public static GridAxis Parse(string text)
    {
        var equals = text.IndexOf('=');
        var key = equals > 0 ? text[..equals].Trim().TrimStart('-') : "";
        var values = equals > 0 ? text[(equals + 1)..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : [];
        if (key.Length == 0 || values.Length == 0) throw new ArgumentException($"--grid '{text}' is not KEY=VALUE[,VALUE...] (e.g. beta=2.5,4.5)");
        if (values.Distinct().Count() != values.Length) throw new ArgumentException($"--grid '{text}' repeats a value");
        return new GridAxis(key, values);
    }
}

/// <summary>One point of the grid: a value for each axis, and the folder name that says them ("beta=2.5_lr=1e-5").</summary>
public sealed record SweepPoint(IReadOnlyList<(string Key, string Value)> Settings)
{
    public string Name => string.Join("_", Settings.Select(s => $"{s.Key}={s.Value}".Replace('/', '-')));

    /// <summary>The options this point adds to the command line: --beta 2.5 --lr 1e-5.</summary>
    public IEnumerable<string> Arguments => Settings.SelectMany(s => new[] { "--" + s.Key, s.Value });
}

/// <summary>The cartesian product of the axes, the first axis varying slowest (the order the points run and are listed in).</summary>
public static class SweepGrid
{
    public static IReadOnlyList<SweepPoint> Points(IReadOnlyList<GridAxis> axes)
    {
        if (axes.Select(a => a.Key).Distinct().Count() != axes.Count) throw new ArgumentException("--grid names an option twice");
        IEnumerable<IReadOnlyList<(string, string)>> points = [[]];
        foreach (var axis in axes)
            points = points.SelectMany(point => axis.Values.Select(value => (IReadOnlyList<(string, string)>)[.. point, (axis.Key, value)]));
        return points.Select(settings => new SweepPoint(settings)).ToArray();
    }

    /// <summary>A number as the table prints it.</summary>
    public static string Number(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}
