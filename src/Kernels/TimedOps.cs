using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace SimNpo.Kernels;

/// <summary>One op's totals since the last reset: calls, wall time, and the FLOPs and bytes its calls' shapes imply (<see cref="OpCosts"/>).</summary>
public readonly record struct OpTotals(OpName Op, long Calls, double Seconds, long Flops, long Bytes);

/// <summary>
/// Any <see cref="IOps{T}"/>, every op call timed and costed (as Llm.cs's TimeLlm does for llm.c's layers). The
/// backend is synchronized before the clock starts and before it stops, so a device's asynchronous kernels count
/// against the op that launched them; that also removes the overlap of consecutive kernels, so a timed step runs a
/// little slower than an untimed one. No allocation per call: totals live in a fixed array indexed by op.
/// Its forwards and <see cref="OpName"/> are generated from IOps (TimedOps.g.cs, by tools/codegen/timed_ops.py, which
/// also holds each op's cost): a new op of IOps is timed once that script has its cost and has been run.
/// </summary>
public sealed partial class TimedOps<T>(IOps<T> inner) : IOps<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly int ElementSize = Unsafe.SizeOf<T>();

    /// <summary>Bytes one element of the view moves: T's size in float32 storage, 2 in bfloat16.</summary>
    private static int Bytes(View<T> view) => view.Storage.ElementBytes(ElementSize);

    private readonly IOps<T> _inner = inner;

    private readonly (long Calls, long Ticks, long Flops, long Bytes)[] _totals = new (long, long, long, long)[Enum.GetValues<OpName>().Length];

    public IOps<T> Inner => _inner;

    /// <summary>The ops called since the last <see cref="Reset"/>, in <see cref="OpName"/> order.</summary>
    public IReadOnlyList<OpTotals> Totals() =>
        Enum.GetValues<OpName>()
            .Select(op => (op, total: _totals[(int)op]))
            .Where(x => x.total.Calls > 0)
            .Select(x => new OpTotals(x.op, x.total.Calls, (double)x.total.Ticks / Stopwatch.Frequency, x.total.Flops, x.total.Bytes))
            .ToArray();

    /// <summary>Forgets what was counted (the warm-up steps, whose first calls compile kernels).</summary>
    public void Reset() => Array.Clear(_totals);

    private long Start()
    {
        _inner.Synchronize();
        return Stopwatch.GetTimestamp();
    }

    private void Stop(OpName op, long started, OpCost cost)
    {
        _inner.Synchronize();
        var elapsed = Stopwatch.GetTimestamp() - started;
        ref var total = ref _totals[(int)op];
        total = (total.Calls + 1, total.Ticks + elapsed, total.Flops + cost.Flops, total.Bytes + cost.Bytes);
    }
}
