using System.Numerics;

namespace SimNpo.Kernels;

/// <summary>
/// A linear layer's bias, added to every row of its MatMul's output in place: x[r, :] += bias. Its backward is the
/// column sum of the output's gradient, biasGrad[j] += Σ_r outputGrad[r, j], taken over the rows in a fixed order so the
/// result never depends on a schedule.
/// </summary>
public static class Bias
{
    /// <summary>The CPU reference: the specification every fast kernel of this op is held to.</summary>
    public static class Reference
    {
        /// <summary>x[r, j] = x[r, j] + bias[j], one rounding to T.</summary>
        public static void Forward<T>(Span<T> x, ReadOnlySpan<T> bias, int dim) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rows = CheckShapes(x.Length, bias.Length, dim, nameof(x), nameof(bias));
            for (var r = 0; r < rows; r++)
            {
                var row = x.Slice(r * dim, dim);
                for (var j = 0; j < dim; j++) row[j] += bias[j];
            }
        }

        /// <summary>biasGrad[j] += Σ_r outputGrad[r, j], the rows summed in order in float64 and added once.</summary>
        public static void Backward<T>(Span<T> biasGrad, ReadOnlySpan<T> outputGrad, int dim) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rows = CheckShapes(outputGrad.Length, biasGrad.Length, dim, nameof(outputGrad), nameof(biasGrad));
            var sums = new double[dim];
            for (var r = 0; r < rows; r++)
                for (var j = 0; j < dim; j++)
                    sums[j] += double.CreateTruncating(outputGrad[r * dim + j]);
            for (var j = 0; j < dim; j++) biasGrad[j] += T.CreateTruncating(sums[j]);
        }
    }

    /// <summary>The rows tensor [rows, dim] and the bias (or its gradient) [dim]; returns rows.</summary>
    internal static int CheckShapes(int rowsLength, int biasLength, int dim, string rowsName, string biasName)
    {
        var rows = ShapeCheck.Rows(rowsLength, dim, rowsName);
        ShapeCheck.Length(biasLength, dim, biasName);
        return rows;
    }
}
