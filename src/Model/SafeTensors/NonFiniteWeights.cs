using System.Numerics;
using System.Runtime.InteropServices;
using SimNpo.Model.IO;

namespace SimNpo.Model.SafeTensors;

/// <summary>
/// Loaded weights must be finite: one NaN makes every score NaN, and an evaluation then reports numbers such as
/// VerbMem 0, which read as perfect unlearning. A tensor holding NaN or infinity is refused, naming it and its file,
/// unless the caller allows it for the current invocation (the command line's --allow-nonfinite), to inspect such a model.
/// </summary>
public static class NonFiniteWeights
{
    // Per invocation, not per process: tests run commands one after another in one process.
    private static readonly AsyncLocal<bool> Allowed = new();

    /// <summary>Lets non-finite weights load until the returned scope is disposed.</summary>
    public static IDisposable Allow()
    {
        var previous = Allowed.Value;
        Allowed.Value = true;
        return new Scope(() => Allowed.Value = previous);
    }

    /// <summary>Counts a tensor's NaN and infinite values as it streams in, piece by piece.</summary>
    public sealed class Tally(string tensor, string file)
    {
        private long _count, _first = -1;
        private float _firstValue;

        public void Add(ReadOnlySpan<float> values, long offset)
        {
            if (Allowed.Value) return;
            var first = IndexOfNonFinite(values);
            if (first < 0) return;
            if (_first < 0) (_first, _firstValue) = (offset + first, values[first]);
            foreach (var value in values[first..])
                if (!float.IsFinite(value)) _count++;
        }

        /// <summary>Refuses the tensor when a piece held a NaN or infinite value (and that is not allowed).</summary>
        public void Check()
        {
            if (_first < 0) return;
            throw new BadInputException(file, $"tensor '{tensor}' holds {_count} NaN or infinite value(s), the first ({_firstValue}) at index {_first}; " +
                "pass --allow-nonfinite to load it anyway");
        }
    }

    /// <summary>A float is NaN or infinite exactly when its exponent bits are all ones; compared a vector at a time.</summary>
    private static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        var bits = MemoryMarshal.Cast<float, int>(values);
        var exponent = new Vector<int>(0x7F800000);
        var i = 0;
        for (; i <= bits.Length - Vector<int>.Count; i += Vector<int>.Count)
            if (Vector.EqualsAny(new Vector<int>(bits[i..]) & exponent, exponent)) break;
        for (; i < values.Length; i++)
            if (!float.IsFinite(values[i])) return i;
        return -1;
    }

    private sealed class Scope(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }
}
