using System.Numerics;

namespace SimNpo.Kernels;

/// <summary>Σ x², the square of a gradient's norm (global clipping) and of a row's norm (RMSNorm).</summary>
public static class SumOfSquares
{
    /// <summary>The CPU reference: the specification every device kernel of this op is held to.</summary>
    public static class Reference
    {
        /// <summary>Accumulated in float64: a float32 sum over millions of parameters would lose the small ones.</summary>
        public static double Compute<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var sum = 0.0;
            foreach (var value in x)
            {
                var d = double.CreateTruncating(value);
                sum += d * d;
            }
            return sum;
        }
    }
}
