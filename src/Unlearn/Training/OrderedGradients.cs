using System.Numerics;
using System.Runtime.InteropServices;
using SimNpo.Model;
using SimNpo.Unlearn.Distributed;

namespace SimNpo.Unlearn.Training;

/// <summary>
/// The micro-batches of one optimizer step, shared by the ranks of a group, with a step gradient whose bits do not
/// depend on the number of ranks. The step gradient is defined as g₀ + g₁ + … + g_{M−1}, added left to right in
/// T, where g_m is micro-batch m's gradient computed alone (from zeroed gradients). Rank r runs micro-batches r,
/// r + N, r + 2N, …: round i runs micro-batches iN … iN + N − 1 at once, and the communicator's rank-order sum
/// reproduces the sequential order when rank 0 contributes (sum so far + g_{iN}) and the others their own g; a rank
/// without a micro-batch in the last round contributes −0, the one value whose addition changes no bits.
/// Cost against a single all-reduce per step: ⌈M/N⌉ all-reduces of the gradient per step, two host copies of it
/// (the sum and the round's contribution), and one download of the gradient per micro-batch.
/// A single process with one micro-batch per step keeps the plain path (backward adds into the model's gradients),
/// which gives the same bits: g₀ is then the whole sum.
/// </summary>
internal sealed class OrderedGradients<T>(LlamaModel<T> model, ICommunicator communicator) : IStepGradients
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>ForgetLoss, RetainLoss, whether there is one, ForgetNormalisedLogProb, Tokens: how a result travels.</summary>
    private const int ResultWords = 5;

    private T[][]? _sum;
    private T[][]? _round;

    /// <summary>Runs the step's micro-batches (runOne(m) runs micro-batch m forward and backward) and leaves the step gradient in the
    /// model's gradients on every rank; returns every micro-batch's result in micro-batch order.</summary>
    public IReadOnlyList<MicroBatchResult> Run(int microBatches, Func<int, MicroBatchResult> runOne)
    {
        var (rank, size) = (communicator.Rank, communicator.Size);
        model.ZeroGradients();
        if (size == 1 && microBatches == 1) return [runOne(0)];
        var gradients = model.Gradients.Chunks;
        _sum ??= gradients.Select(chunk => new T[chunk.Length]).ToArray();
        _round ??= gradients.Select(chunk => new T[chunk.Length]).ToArray();
        var mine = new List<MicroBatchResult>();
        var rounds = (microBatches + size - 1) / size;
        for (var round = 0; round < rounds; round++)
        {
            var index = round * size + rank;
            if (index < microBatches)
            {
                model.ZeroGradients();
                mine.Add(runOne(index));
            }
            for (var c = 0; c < gradients.Count; c++)
            {
                var contribution = _round[c].AsSpan();
                if (index >= microBatches) contribution.Fill(T.NegativeZero);
                else
                {
                    gradients[c].Download(0, contribution);
                    if (rank == 0 && round > 0) AddInto(contribution, _sum[c]);
                }
                ReduceInPlace(contribution);
            }
            (_sum, _round) = (_round, _sum);
        }
        for (var c = 0; c < gradients.Count; c++) gradients[c].Upload(_sum[c], 0);
        return Gather(mine, microBatches);
    }

    /// <summary>contribution = sum + contribution, element by element (IEEE addition commutes, so this is sum + g).</summary>
    private static void AddInto(Span<T> contribution, ReadOnlySpan<T> sum)
    {
        for (var i = 0; i < contribution.Length; i++) contribution[i] = sum[i] + contribution[i];
    }

    private void ReduceInPlace(Span<T> values)
    {
        if (communicator.Size == 1) return;
        if (typeof(T) == typeof(float)) communicator.AllReduceSum(MemoryMarshal.Cast<T, float>(values));
        else if (typeof(T) == typeof(double)) communicator.AllReduceSum(MemoryMarshal.Cast<T, double>(values));
        else throw new NotSupportedException($"gradients of {typeof(T).Name} cannot be reduced across ranks");
    }

    /// <summary>Every rank's results, back in micro-batch order: rank r's j-th result is micro-batch jN + r.</summary>
    private MicroBatchResult[] Gather(List<MicroBatchResult> mine, int microBatches)
    {
        var size = communicator.Size;
        if (size == 1) return [.. mine];
        var words = mine.SelectMany(r => new[] { r.ForgetLoss, r.RetainLoss ?? 0, r.RetainLoss.HasValue ? 1 : 0, r.ForgetNormalisedLogProb, r.Tokens })
            .ToArray();
        var counts = Enumerable.Range(0, size).Select(r => (microBatches - r + size - 1) / size * ResultWords * sizeof(double)).ToArray();
        var all = new double[microBatches * ResultWords];
        communicator.AllGather(MemoryMarshal.AsBytes(words.AsSpan()), MemoryMarshal.AsBytes(all.AsSpan()), counts);
        var results = new MicroBatchResult[microBatches];
        var offset = 0;
        for (var r = 0; r < size; r++)
            for (var index = r; index < microBatches; index += size, offset += ResultWords)
            {
                var w = all.AsSpan(offset, ResultWords);
                results[index] = new MicroBatchResult(w[0], w[2] != 0 ? w[1] : null, w[3], (int)w[4]);
            }
        return results;
    }
}
