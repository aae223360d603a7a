using System.Numerics;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using SimNpo.Kernels.Ilgpu;
using Floats = ILGPU.ArrayView<float>;
using Ints = ILGPU.ArrayView<int>;

namespace SimNpo.Kernels;

/// <summary>
/// Rotary position embedding in Hugging Face's layout: within each head, element i and element i + rotaryDim/2 form a
/// pair rotated by the angle position · inverseFrequencies[i]. rotaryDim is the head's dimension (Llama) or its first
/// part (Phi's partial rotary); the elements past it pass through unchanged.
/// </summary>
public static class Rope
{
    /// <summary>The CPU reference: the specification every device kernel of this op is held to.</summary>
    public static class Reference
    {
        /// <summary>Rotates x[rows, heads, headDim] in place.</summary>
        public static void Forward<T>(Span<T> x, ReadOnlySpan<int> positions, ReadOnlySpan<T> inverseFrequencies, int heads, int headDim,
            int rotaryDim)
            where T : unmanaged, IFloatingPointIeee754<T> =>
            Rotate(x, positions, inverseFrequencies, heads, headDim, rotaryDim, direction: 1);

        /// <summary>The rotation is orthogonal, so its transpose, the rotation by the opposite angle, maps the gradient back.</summary>
        public static void Backward<T>(Span<T> xGrad, ReadOnlySpan<int> positions, ReadOnlySpan<T> inverseFrequencies, int heads, int headDim,
            int rotaryDim)
            where T : unmanaged, IFloatingPointIeee754<T> =>
            Rotate(xGrad, positions, inverseFrequencies, heads, headDim, rotaryDim, direction: -1);

        private static void Rotate<T>(Span<T> x, ReadOnlySpan<int> positions, ReadOnlySpan<T> inverseFrequencies, int heads, int headDim, int rotaryDim,
            int direction)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            CheckRotaryDim(headDim, rotaryDim);
            var half = rotaryDim / 2;
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
                    var head = x.Slice((r * heads + h) * headDim, rotaryDim);
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

    /// <summary>The rotated part of a head: even (it is made of pairs), positive, and within the head.</summary>
    public static void CheckRotaryDim(int headDim, int rotaryDim)
    {
        if (rotaryDim <= 0 || rotaryDim % 2 != 0 || rotaryDim > headDim)
            throw new ArgumentException($"rotaryDim {rotaryDim} must be even, positive and at most headDim {headDim}", nameof(rotaryDim));
    }

    /// <summary>The device kernel: one thread per rotated pair, in place, in either storage; the frequencies are float32 statistics.</summary>
    public static class Ilgpu
    {
        public sealed class Launcher<TWord, TStored>(Accelerator accelerator)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            private readonly Action<Index1D, ArrayView<TWord>, Ints, Floats, int, int, int, float> _rotate =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<TWord>, Ints, Floats, int, int, int, float>(RotateKernel<TWord, TStored>);

            public void Forward(ArrayView<TWord> x, Ints positions, Floats inverseFrequencies, int heads, int headDim, int rotaryDim) =>
                Rotate(x, positions, inverseFrequencies, heads, headDim, rotaryDim, direction: 1);

            public void Backward(ArrayView<TWord> xGrad, Ints positions, Floats inverseFrequencies, int heads, int headDim, int rotaryDim) =>
                Rotate(xGrad, positions, inverseFrequencies, heads, headDim, rotaryDim, direction: -1);

            private void Rotate(ArrayView<TWord> x, Ints positions, Floats inverseFrequencies, int heads, int headDim, int rotaryDim, float direction)
            {
                CheckRotaryDim(headDim, rotaryDim);
                ShapeCheck.Length((int)inverseFrequencies.Length, rotaryDim / 2, nameof(inverseFrequencies));
                ShapeCheck.Length((int)x.Length, (int)positions.Length * heads * headDim, nameof(x));
                _rotate((int)positions.Length * heads * (rotaryDim / 2), x, positions, inverseFrequencies, heads, headDim, rotaryDim / 2, direction);
            }
        }

        /// <summary>
        /// The angle is formed and reduced to [−π, π] in float64, where a position in the thousands keeps its precision;
        /// only the reduced angle goes to float32 sine and cosine, so the rotation is as accurate at position 4000 as at 4.
        /// </summary>
        private static void RotateKernel<TWord, TStored>(Index1D index, ArrayView<TWord> x, Ints positions, Floats inverseFrequencies, int heads, int headDim,
            int half, float direction)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var i = index % half;
            var head = index / half; // row · heads + h
            var angle = positions[head / heads] * (double)inverseFrequencies[i];
            var reduced = (float)(angle - 2 * Math.PI * XMath.Floor(angle / (2 * Math.PI) + 0.5));
            var cos = XMath.Cos(reduced);
            var sin = direction * XMath.Sin(reduced);
            var at = head * headDim + i;
            var stored = default(TStored);
            var (first, second) = (stored.Load(x, at), stored.Load(x, at + half));
            stored.Store(x, at, first * cos - second * sin);
            stored.Store(x, at + half, second * cos + first * sin);
        }
    }
}
