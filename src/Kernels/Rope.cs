using System.Numerics;

namespace SimNpo.Kernels;

/// <summary>
/// Rotary position embedding in Hugging Face's layout: within each head, element i and element i + headDim/2 form a
/// pair rotated by the angle position · inverseFrequencies[i].
/// </summary>
public static class Rope
{
    /// <summary>The CPU reference: the specification every device kernel of this op is held to.</summary>
    public static class Reference
    {
        /// <summary>Rotates x[rows, heads, headDim] in place.</summary>
        public static void Forward<T>(Span<T> x, ReadOnlySpan<int> positions, ReadOnlySpan<T> inverseFrequencies, int heads, int headDim)
            where T : unmanaged, IFloatingPointIeee754<T> =>
            Rotate(x, positions, inverseFrequencies, heads, headDim, direction: 1);

        /// <summary>The rotation is orthogonal, so its transpose, the rotation by the opposite angle, maps the gradient back.</summary>
        public static void Backward<T>(Span<T> xGrad, ReadOnlySpan<int> positions, ReadOnlySpan<T> inverseFrequencies, int heads, int headDim)
            where T : unmanaged, IFloatingPointIeee754<T> =>
            Rotate(xGrad, positions, inverseFrequencies, heads, headDim, direction: -1);

        private static void Rotate<T>(Span<T> x, ReadOnlySpan<int> positions, ReadOnlySpan<T> inverseFrequencies, int heads, int headDim, int direction)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (headDim % 2 != 0) throw new ArgumentException($"headDim {headDim} is odd", nameof(headDim));
            var half = headDim / 2;
            ShapeCheck.Length(inverseFrequencies.Length, half, nameof(inverseFrequencies));
            ShapeCheck.Length(x.Length, positions.Length * heads * headDim, nameof(x));
            var cos = new double[half];
            var sin = new double[half];
            for (var r = 0; r < positions.Length; r++)
            {
                // The angle in float64: positions reach thousands, where a float32 angle would be off by ~1e-4 radian.
                for (var i = 0; i < half; i++)
                {
                    var angle = direction * positions[r] * double.CreateTruncating(inverseFrequencies[i]);
                    cos[i] = Math.Cos(angle);
                    sin[i] = Math.Sin(angle);
                }
                for (var h = 0; h < heads; h++)
                {
                    var head = x.Slice((r * heads + h) * headDim, headDim);
                    for (var i = 0; i < half; i++)
                    {
                        var first = double.CreateTruncating(head[i]);
                        var second = double.CreateTruncating(head[i + half]);
                        head[i] = T.CreateTruncating(first * cos[i] - second * sin[i]);
                        head[i + half] = T.CreateTruncating(second * cos[i] + first * sin[i]);
                    }
                }
            }
        }
    }
}
