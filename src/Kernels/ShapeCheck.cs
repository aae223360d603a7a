namespace SimNpo.Kernels;

/// <summary>Argument checks shared by the references: a wrong size is a caller's bug, reported with the name involved.</summary>
internal static class ShapeCheck
{
    public static void Length(int actual, int expected, string name)
    {
        if (actual != expected) throw new ArgumentException($"{name} has {actual} elements, expected {expected}", name);
    }

    /// <summary>The number of rows of a row-major [rows, width] tensor of the given length.</summary>
    public static int Rows(int length, int width, string name)
    {
        if (width <= 0 || length % width != 0)
            throw new ArgumentException($"{name} has {length} elements, not a whole number of rows of {width}", name);
        return length / width;
    }

    /// <summary>
    /// A row normalisation's shapes: input [rows, dim]; each of <paramref name="likeInput"/> as long as the input, each
    /// per-row statistic [rows], each parameter or parameter gradient [dim]. Returns rows.
    /// </summary>
    public static int RowNorm(int input, int dim, (int Length, string Name)[] likeInput, (int Length, string Name)[] perRow,
        (int Length, string Name)[] perColumn)
    {
        var rows = Rows(input, dim, nameof(input));
        foreach (var (length, name) in likeInput) Length(length, input, name);
        foreach (var (length, name) in perRow) Length(length, rows, name);
        foreach (var (length, name) in perColumn) Length(length, dim, name);
        return rows;
    }
}
