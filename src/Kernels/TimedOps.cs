using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace SimNpo.Kernels;

/// <summary>The ops <see cref="TimedOps{T}"/> tells apart, named as the methods of <see cref="IOps{T}"/>.</summary>
public enum OpName
{
    Zero, Copy, Embedding, EmbeddingBackward, RmsNorm, RmsNormBackward, MatMul, MatMulBackward, Rope, RopeBackward,
    Attention, AttentionBackward, SwiGlu, SwiGluBackward, Add, LogSoftmaxAtLabels, LogSoftmaxAtLabelsBackward, LogSoftmax,
    KlDivergence, KlDivergenceBackward, ChunkedOutputLoss, ChunkedOutputLossBackward, SumOfSquares, Scale, AdamW,
}

/// <summary>One op's totals since the last reset: calls, wall time, and the FLOPs and bytes its calls' shapes imply (<see cref="OpCosts"/>).</summary>
public readonly record struct OpTotals(OpName Op, long Calls, double Seconds, long Flops, long Bytes);

/// <summary>
/// Any <see cref="IOps{T}"/>, every op call timed and costed (as Llm.cs's TimeLlm does for llm.c's layers). The
/// backend is synchronized before the clock starts and before it stops, so a device's asynchronous kernels count
/// against the op that launched them; that also removes the overlap of consecutive kernels, so a timed step runs a
/// little slower than an untimed one. No allocation per call: totals live in a fixed array indexed by op.
/// </summary>
public sealed class TimedOps<T>(IOps<T> inner) : IOps<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly int ElementSize = Unsafe.SizeOf<T>();

    private readonly (long Calls, long Ticks, long Flops, long Bytes)[] _totals = new (long, long, long, long)[Enum.GetValues<OpName>().Length];

    public IOps<T> Inner => inner;

    public string Name => inner.Name;

    /// <summary>The ops called since the last <see cref="Reset"/>, in <see cref="OpName"/> order.</summary>
    public IReadOnlyList<OpTotals> Totals() =>
        Enum.GetValues<OpName>()
            .Select(op => (op, total: _totals[(int)op]))
            .Where(x => x.total.Calls > 0)
            .Select(x => new OpTotals(x.op, x.total.Calls, (double)x.total.Ticks / Stopwatch.Frequency, x.total.Flops, x.total.Bytes))
            .ToArray();

    /// <summary>Forgets what was counted (the warm-up steps, whose first calls compile kernels).</summary>
    public void Reset() => Array.Clear(_totals);

    public DeviceBuffer<T> Allocate(int length, Storage storage = Storage.Native) => inner.Allocate(length, storage);

    public bool Supports(Storage storage) => inner.Supports(storage);

    public DeviceBuffer<int> AllocateInts(int length) => inner.AllocateInts(length);

    public void Synchronize() => inner.Synchronize();

    public void Zero(View<T> x)
    {
        var started = Start();
        inner.Zero(x);
        Stop(OpName.Zero, started, OpCosts.Elementwise(x.Length, reads: 0, writes: 1, ElementSize));
    }

    public void Copy(View<T> destination, View<T> source)
    {
        var started = Start();
        inner.Copy(destination, source);
        Stop(OpName.Copy, started, OpCosts.Elementwise(source.Length, reads: 1, writes: 1, ElementSize));
    }

    public void Embedding(View<T> output, View<int> tokens, View<T> table, int dim)
    {
        var started = Start();
        inner.Embedding(output, tokens, table, dim);
        Stop(OpName.Embedding, started, OpCosts.Embedding(tokens.Length, dim, backward: false, ElementSize));
    }

    public void EmbeddingBackward(View<T> tableGrad, View<int> tokens, View<T> outputGrad, int dim)
    {
        var started = Start();
        inner.EmbeddingBackward(tableGrad, tokens, outputGrad, dim);
        Stop(OpName.EmbeddingBackward, started, OpCosts.Embedding(tokens.Length, dim, backward: true, ElementSize));
    }

    public void RmsNorm(View<T> output, View<T> invRms, View<T> input, View<T> weight, int dim, float eps)
    {
        var started = Start();
        inner.RmsNorm(output, invRms, input, weight, dim, eps);
        Stop(OpName.RmsNorm, started, OpCosts.RmsNorm(input.Length, dim, backward: false, ElementSize));
    }

    public void RmsNormBackward(View<T> inputGrad, View<T> weightGrad, View<T> outputGrad, View<T> input, View<T> weight, View<T> invRms, int dim)
    {
        var started = Start();
        inner.RmsNormBackward(inputGrad, weightGrad, outputGrad, input, weight, invRms, dim);
        Stop(OpName.RmsNormBackward, started, OpCosts.RmsNorm(input.Length, dim, backward: true, ElementSize));
    }

    public void MatMul(View<T> output, View<T> input, View<T> weight, int rows, int inDim, int outDim)
    {
        var started = Start();
        inner.MatMul(output, input, weight, rows, inDim, outDim);
        Stop(OpName.MatMul, started, OpCosts.MatMul(rows, inDim, outDim, ElementSize));
    }

    public void MatMulBackward(View<T> inputGrad, View<T> weightGrad, View<T> outputGrad, View<T> input, View<T> weight, int rows, int inDim, int outDim)
    {
        var started = Start();
        inner.MatMulBackward(inputGrad, weightGrad, outputGrad, input, weight, rows, inDim, outDim);
        Stop(OpName.MatMulBackward, started, OpCosts.MatMulBackward(rows, inDim, outDim, ElementSize));
    }

    public void Rope(View<T> x, View<int> positions, View<T> inverseFrequencies, int heads, int headDim)
    {
        var started = Start();
        inner.Rope(x, positions, inverseFrequencies, heads, headDim);
        Stop(OpName.Rope, started, OpCosts.Rope(positions.Length, heads, headDim, ElementSize));
    }

    public void RopeBackward(View<T> xGrad, View<int> positions, View<T> inverseFrequencies, int heads, int headDim)
    {
        var started = Start();
        inner.RopeBackward(xGrad, positions, inverseFrequencies, heads, headDim);
        Stop(OpName.RopeBackward, started, OpCosts.Rope(positions.Length, heads, headDim, ElementSize));
    }

    public void Attention(View<T> output, View<T> logSumExp, View<T> q, View<T> k, View<T> v, View<int> lengths, AttentionShape shape)
    {
        var started = Start();
        inner.Attention(output, logSumExp, q, k, v, lengths, shape);
        Stop(OpName.Attention, started, OpCosts.Attention(shape, ElementSize));
    }

    public void AttentionBackward(View<T> qGrad, View<T> kGrad, View<T> vGrad, View<T> outputGrad,
        View<T> q, View<T> k, View<T> v, View<T> output, View<T> logSumExp, View<int> lengths, AttentionShape shape)
    {
        var started = Start();
        inner.AttentionBackward(qGrad, kGrad, vGrad, outputGrad, q, k, v, output, logSumExp, lengths, shape);
        Stop(OpName.AttentionBackward, started, OpCosts.AttentionBackward(shape, ElementSize));
    }

    public void SwiGlu(View<T> output, View<T> gate, View<T> up)
    {
        var started = Start();
        inner.SwiGlu(output, gate, up);
        Stop(OpName.SwiGlu, started, OpCosts.Elementwise(output.Length, reads: 2, writes: 1, ElementSize));
    }

    public void SwiGluBackward(View<T> gateGrad, View<T> upGrad, View<T> outputGrad, View<T> gate, View<T> up)
    {
        var started = Start();
        inner.SwiGluBackward(gateGrad, upGrad, outputGrad, gate, up);
        // Reads dO, gate, up; adds into both gradients (read and written).
        Stop(OpName.SwiGluBackward, started, OpCosts.Elementwise(outputGrad.Length, reads: 5, writes: 2, ElementSize));
    }

    public void Add(View<T> output, View<T> a, View<T> b)
    {
        var started = Start();
        inner.Add(output, a, b);
        Stop(OpName.Add, started, OpCosts.Elementwise(output.Length, reads: 2, writes: 1, ElementSize));
    }

    public void LogSoftmaxAtLabels(View<T> logProb, View<T> logSumExp, View<T> logits, View<int> labels, int vocab)
    {
        var started = Start();
        inner.LogSoftmaxAtLabels(logProb, logSumExp, logits, labels, vocab);
        Stop(OpName.LogSoftmaxAtLabels, started, OpCosts.Softmax(logits.Length, labels.Length, logitsAccesses: 1, ElementSize));
    }

    public void LogSoftmaxAtLabelsBackward(View<T> logitsGrad, View<T> logits, View<T> logSumExp, View<int> labels, View<T> logProbGrad, int vocab)
    {
        var started = Start();
        inner.LogSoftmaxAtLabelsBackward(logitsGrad, logits, logSumExp, labels, logProbGrad, vocab);
        Stop(OpName.LogSoftmaxAtLabelsBackward, started, OpCosts.Softmax(logits.Length, labels.Length, logitsAccesses: 2, ElementSize));
    }

    public void LogSoftmax(View<T> output, View<T> logits, int vocab)
    {
        var started = Start();
        inner.LogSoftmax(output, logits, vocab);
        Stop(OpName.LogSoftmax, started, OpCosts.Softmax(logits.Length, logits.Length / vocab, logitsAccesses: 2, ElementSize));
    }

    public void KlDivergence(View<T> kl, View<T> logSumExp, View<T> logits, View<T> targetLogProbs, int vocab)
    {
        var started = Start();
        inner.KlDivergence(kl, logSumExp, logits, targetLogProbs, vocab);
        Stop(OpName.KlDivergence, started, OpCosts.Softmax(logits.Length, kl.Length, logitsAccesses: 2, ElementSize));
    }

    public void KlDivergenceBackward(View<T> logitsGrad, View<T> logits, View<T> logSumExp, View<T> targetLogProbs, View<T> rowWeight, int vocab)
    {
        var started = Start();
        inner.KlDivergenceBackward(logitsGrad, logits, logSumExp, targetLogProbs, rowWeight, vocab);
        Stop(OpName.KlDivergenceBackward, started, OpCosts.Softmax(logits.Length, rowWeight.Length, logitsAccesses: 3, ElementSize));
    }

    public void ChunkedOutputLoss(View<T> logProb, View<T> logSumExp, View<T> logitsScratch, View<T> hidden, View<T> weight, View<int> labels,
        int rows, int dim, int vocab, int chunk)
    {
        var started = Start();
        inner.ChunkedOutputLoss(logProb, logSumExp, logitsScratch, hidden, weight, labels, rows, dim, vocab, chunk);
        Stop(OpName.ChunkedOutputLoss, started, OpCosts.ChunkedOutputLoss(rows, dim, vocab, ElementSize));
    }

    public void ChunkedOutputLossBackward(View<T> hiddenGrad, View<T> weightGrad, View<T> logitsScratch, View<T> hidden, View<T> weight,
        View<T> logSumExp, View<int> labels, View<T> logProbGrad, int rows, int dim, int vocab, int chunk)
    {
        var started = Start();
        inner.ChunkedOutputLossBackward(hiddenGrad, weightGrad, logitsScratch, hidden, weight, logSumExp, labels, logProbGrad, rows, dim, vocab, chunk);
        Stop(OpName.ChunkedOutputLossBackward, started, OpCosts.ChunkedOutputLossBackward(rows, dim, vocab, ElementSize));
    }

    public double SumOfSquares(View<T> x)
    {
        var started = Start();
        var sum = inner.SumOfSquares(x);
        Stop(OpName.SumOfSquares, started, OpCosts.Elementwise(x.Length, reads: 1, writes: 0, ElementSize));
        return sum;
    }

    public void Scale(View<T> x, float factor)
    {
        var started = Start();
        inner.Scale(x, factor);
        Stop(OpName.Scale, started, OpCosts.Elementwise(x.Length, reads: 1, writes: 1, ElementSize));
    }

    public void AdamW(View<T> parameters, View<T> gradients, View<T> firstMoment, View<T> secondMoment, AdamWStep step, View<T>? masterWeights = null)
    {
        var started = Start();
        inner.AdamW(parameters, gradients, firstMoment, secondMoment, step, masterWeights);
        // Reads the gradients; reads and writes the parameters and both moments.
        Stop(OpName.AdamW, started, OpCosts.Elementwise(parameters.Length, reads: 4, writes: 3, ElementSize));
    }

    private long Start()
    {
        inner.Synchronize();
        return Stopwatch.GetTimestamp();
    }

    private void Stop(OpName op, long started, OpCost cost)
    {
        inner.Synchronize();
        var elapsed = Stopwatch.GetTimestamp() - started;
        ref var total = ref _totals[(int)op];
        total = (total.Calls + 1, total.Ticks + elapsed, total.Flops + cost.Flops, total.Bytes + cost.Bytes);
    }
}
