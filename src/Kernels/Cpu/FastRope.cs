namespace SimNpo.Kernels.Cpu;

/// <summary>
/// <see cref="Rope"/> on fixed ranges of rows in parallel, vectorised along each half of a head's rotated part. The cosines and sines of
/// position·inverseFrequencies[i] come from a table with a row per position, formed in float64 (positions reach
/// thousands, where a float32 angle would be off by 1e-4 radian) and rounded to float32 once: it grows to the largest
/// position seen and is rebuilt only when the frequencies change, so a training step computes no trigonometry at all.
/// </summary>
internal sealed class FastRope
{
    private float[] _frequencies = [];
    private float[] _cosines = [];
    private float[] _sines = [];
    private int _positionCount;

    public void Forward<TWord, TFormat>(Memory<TWord> x, ReadOnlyMemory<int> positions, ReadOnlyMemory<float> inverseFrequencies, int heads, int headDim,
        int rotaryDim)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord> =>
        Rotate<TWord, TFormat>(x, positions, inverseFrequencies, heads, headDim, rotaryDim, direction: 1);

    /// <summary>The rotation is orthogonal, so its transpose, the rotation by the opposite angle, maps the gradient back.</summary>
    public void Backward<TWord, TFormat>(Memory<TWord> xGrad, ReadOnlyMemory<int> positions, ReadOnlyMemory<float> inverseFrequencies, int heads,
        int headDim, int rotaryDim)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord> =>
        Rotate<TWord, TFormat>(xGrad, positions, inverseFrequencies, heads, headDim, rotaryDim, direction: -1);

    /// <summary>x (a bulk tensor) rotated in float32 and rounded once to its storage; the frequencies and the table are float32.</summary>
    private void Rotate<TWord, TFormat>(Memory<TWord> x, ReadOnlyMemory<int> positions, ReadOnlyMemory<float> inverseFrequencies, int heads, int headDim,
        int rotaryDim, float direction)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        Kernels.Rope.CheckRotaryDim(headDim, rotaryDim);
        var half = rotaryDim / 2;
        ShapeCheck.Length(inverseFrequencies.Length, half, nameof(inverseFrequencies));
        ShapeCheck.Length(x.Length, positions.Length * heads * headDim, nameof(x));
        EnsureTable(inverseFrequencies.Span, positions.Span);
        var (cos, sin) = (_cosines, _sines);
        var width = heads * headDim;
        Partitions.For(positions.Length, Partitions.Rows(width), part =>
        {
            for (var r = part.Start; r < part.End; r++)
            {
                var position = positions.Span[r];
                var c = cos.AsSpan(position * half, half);
                var s = sin.AsSpan(position * half, half);
                for (var h = 0; h < heads; h++)
                {
                    var head = x.Span.Slice((r * heads + h) * headDim, headDim);
                    var first = head[..half];
                    var second = head[half..rotaryDim];
                    for (var i = 0; i < half; i += Vectors.Width)
                    {
                        var (a, b) = (TFormat.Load(first, i), TFormat.Load(second, i));
                        var (ci, si) = (Vectors.Load(c, i), direction * Vectors.Load(s, i));
                        TFormat.Store(a * ci - b * si, first, i);
                        TFormat.Store(b * ci + a * si, second, i);
                    }
                }
            }
        });
    }

    /// <summary>Makes the table hold every position of this call for these frequencies, rebuilding it only when it must.</summary>
    private void EnsureTable(ReadOnlySpan<float> inverseFrequencies, ReadOnlySpan<int> positions)
    {
        var largest = -1;
        foreach (var position in positions)
        {
            if (position < 0) throw new ArgumentOutOfRangeException(nameof(positions), $"negative position {position}");
            largest = Math.Max(largest, position);
        }
        var sameFrequencies = inverseFrequencies.SequenceEqual(_frequencies);
        if (sameFrequencies && largest < _positionCount) return;
        if (!sameFrequencies) _frequencies = inverseFrequencies.ToArray();
        // Doubling on growth: a run whose sequences get longer step by step rebuilds the table a few times, not every step.
        _positionCount = Math.Max(largest + 1, sameFrequencies ? 2 * _positionCount : 0);
        var half = _frequencies.Length;
        _cosines = new float[_positionCount * half];
        _sines = new float[_positionCount * half];
        for (var p = 0; p < _positionCount; p++)
            for (var i = 0; i < half; i++)
            {
                var angle = p * (double)_frequencies[i];
                _cosines[p * half + i] = (float)Math.Cos(angle);
                _sines[p * half + i] = (float)Math.Sin(angle);
            }
    }
}
