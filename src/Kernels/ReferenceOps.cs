using System.Numerics;

namespace SimNpo.Kernels;

/// <summary>
/// <see cref="IOps{T}"/> on the CPU: host buffers, and each op dispatched to its plain reference. Run in float64 it is
/// what the gradient checks differentiate; run in float32 it is the CPU backend. The ops are implemented explicitly
/// (callers hold an <see cref="IOps{T}"/>), which also keeps a method named MatMul from hiding the class MatMul here.
/// </summary>
public sealed class ReferenceOps<T> : IOps<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public string Name => $"reference-{typeof(T).Name.ToLowerInvariant()}";

    public DeviceBuffer<T> Allocate(int length, Storage storage = Storage.Native) => storage == Storage.Native
        ? new HostBuffer<T>(length)
        : throw new NotSupportedException($"the reference path is the float64/float32 specification and stores no {storage}: use --device cpu or a GPU");

    public bool Supports(Storage storage) => storage == Storage.Native;

    public DeviceBuffer<int> AllocateInts(int length) => new HostBuffer<int>(length);

    public void Synchronize() { }

    void IOps<T>.Zero(View<T> x) => x.Span.Clear();

    void IOps<T>.Copy(View<T> destination, View<T> source)
    {
        ShapeCheck.Length(source.Length, destination.Length, nameof(source));
        source.Span.CopyTo(destination.Span);
    }

    void IOps<T>.GatherRows(View<T> output, View<int> indices, View<T> table, int dim) =>
        GatherRows.Reference.Gather(output.Span, indices.Span, table.Span, dim);

    void IOps<T>.ScatterAddRows(View<T> table, View<int> indices, View<T> rows, int dim) =>
        GatherRows.Reference.ScatterAdd(table.Span, indices.Span, rows.Span, dim);

    void IOps<T>.RmsNorm(View<T> output, View<T> invRms, View<T> input, View<T> weight, int dim, float eps, float weightOffset) =>
        RmsNorm.Reference.Forward(output.Memory, invRms.Memory, input.Memory, weight.Memory, dim, eps, weightOffset);

    void IOps<T>.RmsNormBackward(View<T> inputGrad, View<T> weightGrad, View<T> outputGrad, View<T> input, View<T> weight, View<T> invRms, int dim,
        float weightOffset) =>
        RmsNorm.Reference.Backward(inputGrad.Memory, weightGrad.Memory, outputGrad.Memory, input.Memory, weight.Memory, invRms.Memory, dim, weightOffset);

    void IOps<T>.LayerNorm(View<T> output, View<T> mean, View<T> invStd, View<T> input, View<T> weight, View<T> bias, int dim, float eps) =>
        LayerNorm.Reference.Forward(output.Memory, mean.Memory, invStd.Memory, input.Memory, weight.Memory, bias.Memory, dim, eps);

    void IOps<T>.LayerNormBackward(View<T> inputGrad, View<T> weightGrad, View<T> biasGrad, View<T> outputGrad, View<T> input, View<T> weight,
        View<T> mean, View<T> invStd, int dim) =>
        LayerNorm.Reference.Backward(inputGrad.Memory, weightGrad.Memory, biasGrad.Memory, outputGrad.Memory, input.Memory, weight.Memory, mean.Memory,
            invStd.Memory, dim);

    void IOps<T>.AddBias(View<T> x, View<T> bias, int dim) => Bias.Reference.Forward(x.Span, bias.Span, dim);

    void IOps<T>.AddBiasBackward(View<T> biasGrad, View<T> outputGrad, int dim) => Bias.Reference.Backward(biasGrad.Span, outputGrad.Span, dim);

    void IOps<T>.MatMul(View<T> output, View<T> input, View<T> weight, int rows, int inDim, int outDim) =>
        MatMul.Reference.Forward(output.Memory, input.Memory, weight.Memory, rows, inDim, outDim);

    void IOps<T>.MatMulBackward(View<T> inputGrad, View<T> weightGrad, View<T> outputGrad, View<T> input, View<T> weight, int rows, int inDim, int outDim) =>
        MatMul.Reference.Backward(inputGrad.Memory, weightGrad.Memory, outputGrad.Memory, input.Memory, weight.Memory, rows, inDim, outDim);

    void IOps<T>.Rope(View<T> x, View<int> positions, View<T> inverseFrequencies, int heads, int headDim, int rotaryDim) =>
        Rope.Reference.Forward(x.Span, positions.Span, inverseFrequencies.Span, heads, headDim, rotaryDim);

    void IOps<T>.RopeBackward(View<T> xGrad, View<int> positions, View<T> inverseFrequencies, int heads, int headDim, int rotaryDim) =>
        Rope.Reference.Backward(xGrad.Span, positions.Span, inverseFrequencies.Span, heads, headDim, rotaryDim);

    void IOps<T>.Attention(View<T> output, View<T> logSumExp, View<T> q, View<T> k, View<T> v, View<int> lengths, AttentionShape shape) =>
        Attention.Reference.Forward(output.Memory, logSumExp.Memory, q.Memory, k.Memory, v.Memory, lengths.Memory, shape);

    void IOps<T>.AttentionBackward(View<T> qGrad, View<T> kGrad, View<T> vGrad, View<T> outputGrad,
        View<T> q, View<T> k, View<T> v, View<T> output, View<T> logSumExp, View<int> lengths, AttentionShape shape) =>
        Attention.Reference.Backward(qGrad.Memory, kGrad.Memory, vGrad.Memory, outputGrad.Memory,
            q.Memory, k.Memory, v.Memory, output.Memory, logSumExp.Memory, lengths.Memory, shape);

    void IOps<T>.GatedActivation(View<T> output, View<T> gate, View<T> up, Activation activation) =>
        GatedActivation.Reference.Forward(output.Span, gate.Span, up.Span, activation);

    void IOps<T>.GatedActivationBackward(View<T> gateGrad, View<T> upGrad, View<T> outputGrad, View<T> gate, View<T> up, Activation activation) =>
        GatedActivation.Reference.Backward(gateGrad.Span, upGrad.Span, outputGrad.Span, gate.Span, up.Span, activation);

    void IOps<T>.Activate(View<T> output, View<T> input, Activation activation) => Activate.Reference.Forward(output.Span, input.Span, activation);

    void IOps<T>.ActivateBackward(View<T> inputGrad, View<T> outputGrad, View<T> input, Activation activation) =>
        Activate.Reference.Backward(inputGrad.Span, outputGrad.Span, input.Span, activation);

    void IOps<T>.Add(View<T> output, View<T> a, View<T> b) => Residual.Reference.Forward(output.Span, a.Span, b.Span);

    void IOps<T>.ChunkedOutputLoss(View<T> logProb, View<T> logSumExp, View<T> logitsScratch, View<T> hidden, View<T> weight, View<T>? bias,
        View<int> labels, int rows, int dim, int vocab, int chunk) =>
        ChunkedOutputLoss.Reference.Forward(logProb.Memory, logSumExp.Memory, logitsScratch.Memory, hidden.Memory, weight.Memory, bias?.Memory,
            labels.Memory, rows, dim, vocab, chunk);

    void IOps<T>.ChunkedOutputLossBackward(View<T> hiddenGrad, View<T> weightGrad, View<T> logitsScratch, View<T> hidden, View<T> weight, View<T>? bias,
        View<T>? biasGrad, View<T> logSumExp, View<int> labels, View<T> logProbGrad, int rows, int dim, int vocab, int chunk) =>
        ChunkedOutputLoss.Reference.Backward(hiddenGrad.Memory, weightGrad.Memory, logitsScratch.Memory, hidden.Memory, weight.Memory, bias?.Memory,
            biasGrad?.Memory, logSumExp.Memory, labels.Memory, logProbGrad.Memory, rows, dim, vocab, chunk);

    void IOps<T>.LogSoftmaxAtLabels(View<T> logProb, View<T> logSumExp, View<T> logits, View<int> labels, int vocab) =>
        LogSoftmaxAtLabels.Reference.Forward(logProb.Memory, logSumExp.Memory, logits.Memory, labels.Memory, vocab);

    void IOps<T>.LogSoftmaxAtLabelsBackward(View<T> logitsGrad, View<T> logits, View<T> logSumExp, View<int> labels, View<T> logProbGrad, int vocab) =>
        LogSoftmaxAtLabels.Reference.Backward(logitsGrad.Memory, logits.Memory, logSumExp.Memory, labels.Memory, logProbGrad.Memory, vocab);

    void IOps<T>.LogSoftmax(View<T> output, View<T> logits, int vocab) =>
        LogSoftmax.Reference.Forward(output.Memory, logits.Memory, vocab);

    void IOps<T>.KlDivergence(View<T> kl, View<T> logSumExp, View<T> logits, View<T> targetLogProbs, int vocab) =>
        KlDivergence.Reference.Forward(kl.Memory, logSumExp.Memory, logits.Memory, targetLogProbs.Memory, vocab);

    void IOps<T>.KlDivergenceBackward(View<T> logitsGrad, View<T> logits, View<T> logSumExp, View<T> targetLogProbs, View<T> rowWeight, int vocab) =>
        KlDivergence.Reference.Backward(logitsGrad.Memory, logits.Memory, logSumExp.Memory, targetLogProbs.Memory, rowWeight.Memory, vocab);

    double IOps<T>.SumOfSquares(View<T> x) => SumOfSquares.Reference.Compute<T>(x.Span);

    void IOps<T>.Scale(View<T> x, double factor) => Scale.Reference.Apply(x.Span, factor);

    /// <summary>The reference stores everything in T, so it has no narrower parameters that master weights would stand behind.</summary>
    void IOps<T>.AdamW(View<T> parameters, View<T> gradients, View<T> firstMoment, View<T> secondMoment, AdamWStep step, View<T>? masterWeights)
    {
        if (masterWeights is not null)
            throw new ArgumentException("the reference stores parameters in full precision and takes no master weights", nameof(masterWeights));
        AdamW.Reference.Step(parameters.Span, gradients.Span, firstMoment.Span, secondMoment.Span, step);
    }

    /// <summary>A view's elements as Memory, which, unlike a span, the parallel references can capture in their row lambdas.</summary>
}
