using static SimNpo.Kernels.BulkStorage;

namespace SimNpo.Kernels.Cpu;

/// <summary>
/// The fast CPU backend, computing in float32 throughout over float32 or bfloat16 storage (each op's kernels are generic
/// over an <see cref="IStorageFormat{TWord}"/>, compiled once per storage; <see cref="BulkStorage.IsBFloat16"/> picks one per call):
/// the linear layers and the chunked output loss on a packed, cache-blocked AVX2/FMA SGEMM (<see cref="FastMatMul"/>),
/// flash-style attention on the same micro-kernel (<see cref="FastAttention{TWord, TFormat}"/>), and every other op
/// vectorised and split over all cores in fixed partitions, so a call gives the same bits every time.
/// Scratch (GEMM packs and attention tiles per thread, partial sums, the RoPE table, the loss's row state) is allocated on
/// first use and reused, so a training step allocates nothing but the parallel loops' small closures. Host buffers, so
/// its views are interchangeable with the reference's. The scratch is per instance: one caller at a time.
/// </summary>
public sealed class FastCpuOps : IOps<float>
{
    private readonly FastRmsNorm _rmsNorm = new();
    private readonly FastLayerNorm _layerNorm = new();
    private readonly FastBias _bias = new();
    private readonly FastRope _rope = new();
    private readonly FastChunkedOutputLoss _chunkedOutputLoss = new();
    private readonly FastSumOfSquares _sumOfSquares = new();

    public string Name => $"cpu ({FastMatMul.InstructionSet}, {Environment.ProcessorCount} threads)";

    public DeviceBuffer<float> Allocate(int length, Storage storage = Storage.Native) => storage switch
    {
        Storage.Native => new HostBuffer<float>(length),
        Storage.BFloat16 => new HostBFloat16Buffer(length),
        _ => throw new NotSupportedException($"the fast CPU path stores no {storage}"),
    };

    public bool Supports(Storage storage) => storage is Storage.Native or Storage.BFloat16;

    public DeviceBuffer<int> AllocateInts(int length) => new HostBuffer<int>(length);

    public void Zero(View<float> x)
    {
        if (x.Storage == Storage.BFloat16) FastElementwise.Zero(x.Bits());
        else FastElementwise.Zero(x.Memory);
    }

    public void Copy(View<float> destination, View<float> source) => FastElementwise.Copy(destination, source);

    public void GatherRows(View<float> output, View<int> indices, View<float> table, int dim)
    {
        if (IsBFloat16(nameof(GatherRows), [output, table])) FastGatherRows.Gather(output.Bits(), indices.Memory, table.Bits(), dim);
        else FastGatherRows.Gather(output.Memory, indices.Memory, table.Memory, dim);
    }

    public void ScatterAddRows(View<float> table, View<int> indices, View<float> rows, int dim)
    {
        if (IsBFloat16(nameof(ScatterAddRows), [table, rows]))
            FastGatherRows.ScatterAdd<ushort, BFloat16Format>(table.Bits(), indices.Memory, rows.Bits(), dim);
        else FastGatherRows.ScatterAdd<float, Float32Format>(table.Memory, indices.Memory, rows.Memory, dim);
    }

    public void RmsNorm(View<float> output, View<float> invRms, View<float> input, View<float> weight, int dim, float eps, float weightOffset)
    {
        if (IsBFloat16(nameof(RmsNorm), [output, input, weight], [invRms]))
            FastRmsNorm.Forward<ushort, BFloat16Format>(output.Bits(), invRms.Memory, input.Bits(), weight.Bits(), dim, eps, weightOffset);
        else FastRmsNorm.Forward<float, Float32Format>(output.Memory, invRms.Memory, input.Memory, weight.Memory, dim, eps, weightOffset);
    }

    public void RmsNormBackward(View<float> inputGrad, View<float> weightGrad, View<float> outputGrad, View<float> input, View<float> weight,
        View<float> invRms, int dim, float weightOffset)
    {
        if (IsBFloat16(nameof(RmsNormBackward), [inputGrad, weightGrad, outputGrad, input, weight], [invRms]))
            _rmsNorm.Backward<ushort, BFloat16Format>(inputGrad.Bits(), weightGrad.Bits(), outputGrad.Bits(), input.Bits(), weight.Bits(), invRms.Memory, dim,
                weightOffset);
        else
            _rmsNorm.Backward<float, Float32Format>(inputGrad.Memory, weightGrad.Memory, outputGrad.Memory, input.Memory, weight.Memory, invRms.Memory, dim,
                weightOffset);
    }

    public void LayerNorm(View<float> output, View<float> mean, View<float> invStd, View<float> input, View<float> weight, View<float> bias, int dim,
        float eps)
    {
        if (IsBFloat16(nameof(LayerNorm), [output, input, weight, bias], [mean, invStd]))
            FastLayerNorm.Forward<ushort, BFloat16Format>(output.Bits(), mean.Memory, invStd.Memory, input.Bits(), weight.Bits(), bias.Bits(), dim, eps);
        else FastLayerNorm.Forward<float, Float32Format>(output.Memory, mean.Memory, invStd.Memory, input.Memory, weight.Memory, bias.Memory, dim, eps);
    }

    public void LayerNormBackward(View<float> inputGrad, View<float> weightGrad, View<float> biasGrad, View<float> outputGrad, View<float> input,
        View<float> weight, View<float> mean, View<float> invStd, int dim)
    {
        if (IsBFloat16(nameof(LayerNormBackward), [inputGrad, weightGrad, biasGrad, outputGrad, input, weight], [mean, invStd]))
            _layerNorm.Backward<ushort, BFloat16Format>(inputGrad.Bits(), weightGrad.Bits(), biasGrad.Bits(), outputGrad.Bits(), input.Bits(), weight.Bits(),
                mean.Memory, invStd.Memory, dim);
        else
            _layerNorm.Backward<float, Float32Format>(inputGrad.Memory, weightGrad.Memory, biasGrad.Memory, outputGrad.Memory, input.Memory, weight.Memory,
                mean.Memory, invStd.Memory, dim);
    }

    public void AddBias(View<float> x, View<float> bias, int dim)
    {
        if (IsBFloat16(nameof(AddBias), [x, bias])) FastBias.Forward<ushort, BFloat16Format>(x.Bits(), bias.Bits(), dim);
        else FastBias.Forward<float, Float32Format>(x.Memory, bias.Memory, dim);
    }

    public void AddBiasBackward(View<float> biasGrad, View<float> outputGrad, int dim)
    {
        if (IsBFloat16(nameof(AddBiasBackward), [biasGrad, outputGrad])) _bias.Backward<ushort, BFloat16Format>(biasGrad.Bits(), outputGrad.Bits(), dim);
        else _bias.Backward<float, Float32Format>(biasGrad.Memory, outputGrad.Memory, dim);
    }

    public void Synchronize() { }

    public void MatMul(View<float> output, View<float> input, View<float> weight, int rows, int inDim, int outDim)
    {
        IsBFloat16(nameof(MatMul), [output, input, weight]);
        FastMatMul.Forward(output, input, weight, rows, inDim, outDim);
    }

    public void MatMulBackward(View<float> inputGrad, View<float> weightGrad, View<float> outputGrad, View<float> input, View<float> weight,
        int rows, int inDim, int outDim)
    {
        IsBFloat16(nameof(MatMulBackward), [inputGrad, weightGrad, outputGrad, input, weight]);
        FastMatMul.Backward(inputGrad, weightGrad, outputGrad, input, weight, rows, inDim, outDim);
    }

    public void Rope(View<float> x, View<int> positions, View<float> inverseFrequencies, int heads, int headDim, int rotaryDim)
    {
        if (IsBFloat16(nameof(Rope), [x], [inverseFrequencies]))
            _rope.Forward<ushort, BFloat16Format>(x.Bits(), positions.Memory, inverseFrequencies.Memory, heads, headDim, rotaryDim);
        else _rope.Forward<float, Float32Format>(x.Memory, positions.Memory, inverseFrequencies.Memory, heads, headDim, rotaryDim);
    }

    public void RopeBackward(View<float> xGrad, View<int> positions, View<float> inverseFrequencies, int heads, int headDim, int rotaryDim)
    {
        if (IsBFloat16(nameof(RopeBackward), [xGrad], [inverseFrequencies]))
            _rope.Backward<ushort, BFloat16Format>(xGrad.Bits(), positions.Memory, inverseFrequencies.Memory, heads, headDim, rotaryDim);
        else _rope.Backward<float, Float32Format>(xGrad.Memory, positions.Memory, inverseFrequencies.Memory, heads, headDim, rotaryDim);
    }

    public void Attention(View<float> output, View<float> logSumExp, View<float> q, View<float> k, View<float> v, View<int> lengths, AttentionShape shape)
    {
        if (IsBFloat16(nameof(Attention), [output, q, k, v], [logSumExp]))
            FastAttention<ushort, BFloat16Format>.Forward(output.Bits(), logSumExp.Memory, q.Bits(), k.Bits(), v.Bits(), lengths.Memory, shape);
        else FastAttention<float, Float32Format>.Forward(output.Memory, logSumExp.Memory, q.Memory, k.Memory, v.Memory, lengths.Memory, shape);
    }

    public void AttentionBackward(View<float> qGrad, View<float> kGrad, View<float> vGrad, View<float> outputGrad, View<float> q, View<float> k,
        View<float> v, View<float> output, View<float> logSumExp, View<int> lengths, AttentionShape shape)
    {
        if (IsBFloat16(nameof(AttentionBackward), [qGrad, kGrad, vGrad, outputGrad, q, k, v, output], [logSumExp]))
            FastAttention<ushort, BFloat16Format>.Backward(qGrad.Bits(), kGrad.Bits(), vGrad.Bits(), outputGrad.Bits(), q.Bits(), k.Bits(), v.Bits(),
                output.Bits(), logSumExp.Memory, lengths.Memory, shape);
        else FastAttention<float, Float32Format>.Backward(qGrad.Memory, kGrad.Memory, vGrad.Memory, outputGrad.Memory, q.Memory, k.Memory, v.Memory,
            output.Memory, logSumExp.Memory, lengths.Memory, shape);
    }

    public void GatedActivation(View<float> output, View<float> gate, View<float> up, Activation activation)
    {
        if (IsBFloat16(nameof(GatedActivation), [output, gate, up]))
            FastGatedActivation.Forward<ushort, BFloat16Format>(output.Bits(), gate.Bits(), up.Bits(), activation);
        else FastGatedActivation.Forward<float, Float32Format>(output.Memory, gate.Memory, up.Memory, activation);
    }

    public void GatedActivationBackward(View<float> gateGrad, View<float> upGrad, View<float> outputGrad, View<float> gate, View<float> up,
        Activation activation)
    {
        if (IsBFloat16(nameof(GatedActivationBackward), [gateGrad, upGrad, outputGrad, gate, up]))
            FastGatedActivation.Backward<ushort, BFloat16Format>(gateGrad.Bits(), upGrad.Bits(), outputGrad.Bits(), gate.Bits(), up.Bits(), activation);
        else FastGatedActivation.Backward<float, Float32Format>(gateGrad.Memory, upGrad.Memory, outputGrad.Memory, gate.Memory, up.Memory, activation);
    }

    public void Activate(View<float> output, View<float> input, Activation activation)
    {
        if (IsBFloat16(nameof(Activate), [output, input])) FastGatedActivation.Activate<ushort, BFloat16Format>(output.Bits(), input.Bits(), activation);
        else FastGatedActivation.Activate<float, Float32Format>(output.Memory, input.Memory, activation);
    }

    public void ActivateBackward(View<float> inputGrad, View<float> outputGrad, View<float> input, Activation activation)
    {
        if (IsBFloat16(nameof(ActivateBackward), [inputGrad, outputGrad, input]))
            FastGatedActivation.ActivateBackward<ushort, BFloat16Format>(inputGrad.Bits(), outputGrad.Bits(), input.Bits(), activation);
        else FastGatedActivation.ActivateBackward<float, Float32Format>(inputGrad.Memory, outputGrad.Memory, input.Memory, activation);
    }

    public void Add(View<float> output, View<float> a, View<float> b)
    {
        if (IsBFloat16(nameof(Add), [output, a, b])) FastElementwise.Add<ushort, BFloat16Format>(output.Bits(), a.Bits(), b.Bits());
        else FastElementwise.Add<float, Float32Format>(output.Memory, a.Memory, b.Memory);
    }

    public void LogSoftmaxAtLabels(View<float> logProb, View<float> logSumExp, View<float> logits, View<int> labels, int vocab)
    {
        if (IsBFloat16(nameof(LogSoftmaxAtLabels), [logits], [logProb, logSumExp]))
            FastLogSoftmaxAtLabels.Forward<ushort, BFloat16Format>(logProb.Memory, logSumExp.Memory, logits.Bits(), labels.Memory, vocab);
        else FastLogSoftmaxAtLabels.Forward<float, Float32Format>(logProb.Memory, logSumExp.Memory, logits.Memory, labels.Memory, vocab);
    }

    public void LogSoftmaxAtLabelsBackward(View<float> logitsGrad, View<float> logits, View<float> logSumExp, View<int> labels,
        View<float> logProbGrad, int vocab)
    {
        if (IsBFloat16(nameof(LogSoftmaxAtLabelsBackward), [logitsGrad, logits], [logSumExp, logProbGrad]))
            FastLogSoftmaxAtLabels.Backward<ushort, BFloat16Format>(logitsGrad.Bits(), logits.Bits(), logSumExp.Memory, labels.Memory, logProbGrad.Memory,
                vocab);
        else
            FastLogSoftmaxAtLabels.Backward<float, Float32Format>(logitsGrad.Memory, logits.Memory, logSumExp.Memory, labels.Memory, logProbGrad.Memory, vocab);
    }

    public void LogSoftmax(View<float> output, View<float> logits, int vocab)
    {
        if (IsBFloat16(nameof(LogSoftmax), [output, logits])) FastLogSoftmax.Forward<ushort, BFloat16Format>(output.Bits(), logits.Bits(), vocab);
        else FastLogSoftmax.Forward<float, Float32Format>(output.Memory, logits.Memory, vocab);
    }

    public void KlDivergence(View<float> kl, View<float> logSumExp, View<float> logits, View<float> targetLogProbs, int vocab)
    {
        if (IsBFloat16(nameof(KlDivergence), [logits, targetLogProbs], [kl, logSumExp]))
            FastKlDivergence.Forward<ushort, BFloat16Format>(kl.Memory, logSumExp.Memory, logits.Bits(), targetLogProbs.Bits(), vocab);
        else FastKlDivergence.Forward<float, Float32Format>(kl.Memory, logSumExp.Memory, logits.Memory, targetLogProbs.Memory, vocab);
    }

    public void KlDivergenceBackward(View<float> logitsGrad, View<float> logits, View<float> logSumExp, View<float> targetLogProbs,
        View<float> rowWeight, int vocab)
    {
        if (IsBFloat16(nameof(KlDivergenceBackward), [logitsGrad, logits, targetLogProbs], [logSumExp, rowWeight]))
            FastKlDivergence.Backward<ushort, BFloat16Format>(logitsGrad.Bits(), logits.Bits(), logSumExp.Memory, targetLogProbs.Bits(), rowWeight.Memory,
                vocab);
        else
            FastKlDivergence.Backward<float, Float32Format>(logitsGrad.Memory, logits.Memory, logSumExp.Memory, targetLogProbs.Memory, rowWeight.Memory, vocab);
    }

    public void ChunkedOutputLoss(View<float> logProb, View<float> logSumExp, View<float> logitsScratch, View<float> hidden, View<float> weight,
        View<float>? bias, View<int> labels, int rows, int dim, int vocab, int chunk)
    {
        IsBFloat16(nameof(ChunkedOutputLoss), [hidden, weight, .. Present(bias)], [logProb, logSumExp, logitsScratch]);
        _chunkedOutputLoss.Forward(logProb.Memory, logSumExp.Memory, logitsScratch, hidden, weight, bias, labels.Memory, rows, dim, vocab, chunk);
    }

    public void ChunkedOutputLossBackward(View<float> hiddenGrad, View<float> weightGrad, View<float> logitsScratch, View<float> hidden,
        View<float> weight, View<float>? bias, View<float>? biasGrad, View<float> logSumExp, View<int> labels, View<float> logProbGrad, int rows, int dim,
        int vocab, int chunk)
    {
        IsBFloat16(nameof(ChunkedOutputLossBackward), [hiddenGrad, weightGrad, hidden, weight, .. Present(bias, biasGrad)],
            [logitsScratch, logSumExp, logProbGrad]);
        _chunkedOutputLoss.Backward(hiddenGrad, weightGrad, logitsScratch, hidden, weight, bias, biasGrad, logSumExp.Memory, labels.Memory, logProbGrad.Memory,
            rows, dim, vocab, chunk);
    }

    public double SumOfSquares(View<float> x) => x.Storage == Storage.BFloat16
        ? _sumOfSquares.Compute<ushort, BFloat16Format>(x.Bits())
        : _sumOfSquares.Compute<float, Float32Format>(x.Memory);

    public void Scale(View<float> x, double factor)
    {
        if (x.Storage == Storage.BFloat16) FastElementwise.Scale<ushort, BFloat16Format>(x.Bits(), (float)factor);
        else FastElementwise.Scale<float, Float32Format>(x.Memory, (float)factor);
    }

    public void AdamW(View<float> parameters, View<float> gradients, View<float> firstMoment, View<float> secondMoment, AdamWStep step,
        View<float>? masterWeights = null) =>
        FastAdamW.Step(parameters, gradients, firstMoment, secondMoment, step, masterWeights);
}
