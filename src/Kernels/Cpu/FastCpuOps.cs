namespace SimNpo.Kernels.Cpu;

/// <summary>
/// The fast CPU backend, float32 throughout: the linear layers and the fused output loss on a packed, cache-blocked
/// AVX2/FMA SGEMM (<see cref="FastMatMul"/>), flash-style attention on the same micro-kernel (<see cref="FastAttention"/>),
/// and every other op vectorised and split over all cores in fixed partitions, so a call gives the same bits every time.
/// Scratch (GEMM packs and attention tiles per thread, partial sums, the RoPE table, the loss's row state) is allocated on
/// first use and reused, so a training step allocates nothing but the parallel loops' small closures. Host buffers, so
/// its views are interchangeable with the reference's. The scratch is per instance: one caller at a time.
/// </summary>
public sealed class FastCpuOps : IOps<float>
{
    private readonly FastRmsNorm rmsNorm = new();
    private readonly FastRope rope = new();
    private readonly FastOutputLoss outputLoss = new();
    private readonly FastSumOfSquares sumOfSquares = new();

    public string Name => $"cpu ({FastMatMul.InstructionSet}, {Environment.ProcessorCount} threads)";

    public DeviceBuffer<float> Allocate(int length, Storage storage = Storage.Native) => storage switch
    {
        Storage.Native => new HostBuffer<float>(length),
        Storage.BFloat16 => new HostBFloat16Buffer(length),
        _ => throw new NotSupportedException($"the fast CPU path stores no {storage}"),
    };

    public bool Supports(Storage storage) => storage is Storage.Native or Storage.BFloat16;

    public DeviceBuffer<int> AllocateInts(int length) => new HostBuffer<int>(length);

    public void Zero(View<float> x) => FastElementwise.Zero(x.Memory);

    public void Copy(View<float> destination, View<float> source) => FastElementwise.Copy(destination.Memory, source.Memory);

    public void Embedding(View<float> output, View<int> tokens, View<float> table, int dim) =>
        FastEmbedding.Forward(output.Memory, tokens.Memory, table.Memory, dim);

    public void EmbeddingBackward(View<float> tableGrad, View<int> tokens, View<float> outputGrad, int dim) =>
        FastEmbedding.Backward(tableGrad.Memory, tokens.Memory, outputGrad.Memory, dim);

    public void RmsNorm(View<float> output, View<float> invRms, View<float> input, View<float> weight, int dim, float eps) =>
        FastRmsNorm.Forward(output.Memory, invRms.Memory, input.Memory, weight.Memory, dim, eps);

    public void RmsNormBackward(View<float> inputGrad, View<float> weightGrad, View<float> outputGrad, View<float> input, View<float> weight,
        View<float> invRms, int dim) =>
        rmsNorm.Backward(inputGrad.Memory, weightGrad.Memory, outputGrad.Memory, input.Memory, weight.Memory, invRms.Memory, dim);

    public void Synchronize() { }

    public void MatMul(View<float> output, View<float> input, View<float> weight, int rows, int inDim, int outDim) =>
        FastMatMul.Forward(output.Memory, input.Memory, weight.Memory, rows, inDim, outDim);

    public void MatMulBackward(View<float> inputGrad, View<float> weightGrad, View<float> outputGrad, View<float> input, View<float> weight,
        int rows, int inDim, int outDim) =>
        FastMatMul.Backward(inputGrad.Memory, weightGrad.Memory, outputGrad.Memory, input.Memory, weight.Memory, rows, inDim, outDim);

    public void Rope(View<float> x, View<int> positions, View<float> inverseFrequencies, int heads, int headDim) =>
        rope.Forward(x.Memory, positions.Memory, inverseFrequencies.Memory, heads, headDim);

    public void RopeBackward(View<float> xGrad, View<int> positions, View<float> inverseFrequencies, int heads, int headDim) =>
        rope.Backward(xGrad.Memory, positions.Memory, inverseFrequencies.Memory, heads, headDim);

    public void Attention(View<float> output, View<float> logSumExp, View<float> q, View<float> k, View<float> v, View<int> lengths, AttentionShape shape) =>
        FastAttention.Forward(output.Memory, logSumExp.Memory, q.Memory, k.Memory, v.Memory, lengths.Memory, shape);

    public void AttentionBackward(View<float> qGrad, View<float> kGrad, View<float> vGrad, View<float> outputGrad, View<float> q, View<float> k,
        View<float> v, View<float> output, View<float> logSumExp, View<int> lengths, AttentionShape shape) =>
        FastAttention.Backward(qGrad.Memory, kGrad.Memory, vGrad.Memory, outputGrad.Memory, q.Memory, k.Memory,
            v.Memory, output.Memory, logSumExp.Memory, lengths.Memory, shape);

    public void SwiGlu(View<float> output, View<float> gate, View<float> up) => FastSwiGlu.Forward(output.Memory, gate.Memory, up.Memory);

    public void SwiGluBackward(View<float> gateGrad, View<float> upGrad, View<float> outputGrad, View<float> gate, View<float> up) =>
        FastSwiGlu.Backward(gateGrad.Memory, upGrad.Memory, outputGrad.Memory, gate.Memory, up.Memory);

    public void Add(View<float> output, View<float> a, View<float> b) => FastElementwise.Add(output.Memory, a.Memory, b.Memory);

    public void LogSoftmaxAtLabels(View<float> logProb, View<float> logSumExp, View<float> logits, View<int> labels, int vocab) =>
        FastLogSoftmaxAtLabels.Forward(logProb.Memory, logSumExp.Memory, logits.Memory, labels.Memory, vocab);

    public void LogSoftmaxAtLabelsBackward(View<float> logitsGrad, View<float> logits, View<float> logSumExp, View<int> labels,
        View<float> logProbGrad, int vocab) =>
        FastLogSoftmaxAtLabels.Backward(logitsGrad.Memory, logits.Memory, logSumExp.Memory, labels.Memory, logProbGrad.Memory, vocab);

    public void LogSoftmax(View<float> output, View<float> logits, int vocab) => FastLogSoftmax.Forward(output.Memory, logits.Memory, vocab);

    public void KlDivergence(View<float> kl, View<float> logSumExp, View<float> logits, View<float> targetLogProbs, int vocab) =>
        FastKlDivergence.Forward(kl.Memory, logSumExp.Memory, logits.Memory, targetLogProbs.Memory, vocab);

    public void KlDivergenceBackward(View<float> logitsGrad, View<float> logits, View<float> logSumExp, View<float> targetLogProbs,
        View<float> rowWeight, int vocab) =>
        FastKlDivergence.Backward(logitsGrad.Memory, logits.Memory, logSumExp.Memory, targetLogProbs.Memory, rowWeight.Memory, vocab);

    public void ChunkedOutputLoss(View<float> logProb, View<float> logSumExp, View<float> logitsScratch, View<float> hidden, View<float> weight,
        View<int> labels, int rows, int dim, int vocab, int chunk) =>
        outputLoss.Forward(logProb.Memory, logSumExp.Memory, logitsScratch.Memory, hidden.Memory, weight.Memory, labels.Memory,
            rows, dim, vocab, chunk);

    public void ChunkedOutputLossBackward(View<float> hiddenGrad, View<float> weightGrad, View<float> logitsScratch, View<float> hidden,
        View<float> weight, View<float> logSumExp, View<int> labels, View<float> logProbGrad, int rows, int dim, int vocab, int chunk) =>
        FastOutputLoss.Backward(hiddenGrad.Memory, weightGrad.Memory, logitsScratch.Memory, hidden.Memory, weight.Memory,
            logSumExp.Memory, labels.Memory, logProbGrad.Memory, rows, dim, vocab, chunk);

    public double SumOfSquares(View<float> x) => sumOfSquares.Compute(x.Memory);

    public void Scale(View<float> x, float factor) => FastElementwise.Scale(x.Memory, factor);

    public void AdamW(View<float> parameters, View<float> gradients, View<float> firstMoment, View<float> secondMoment, AdamWStep step,
        View<float>? masterWeights = null) =>
        FastAdamW.Step(parameters, gradients, firstMoment, secondMoment, step, masterWeights);
}
