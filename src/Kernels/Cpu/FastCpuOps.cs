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

    public DeviceBuffer<float> Allocate(int length) => new HostBuffer<float>(length);

    public DeviceBuffer<int> AllocateInts(int length) => new HostBuffer<int>(length);

    public void Zero(View<float> x) => FastElementwise.Zero(HostMemory(x));

    public void Copy(View<float> destination, View<float> source) => FastElementwise.Copy(HostMemory(destination), HostMemory(source));

    public void Embedding(View<float> output, View<int> tokens, View<float> table, int dim) =>
        FastEmbedding.Forward(HostMemory(output), HostMemory(tokens), HostMemory(table), dim);

    public void EmbeddingBackward(View<float> tableGrad, View<int> tokens, View<float> outputGrad, int dim) =>
        FastEmbedding.Backward(HostMemory(tableGrad), HostMemory(tokens), HostMemory(outputGrad), dim);

    public void RmsNorm(View<float> output, View<float> invRms, View<float> input, View<float> weight, int dim, float eps) =>
        FastRmsNorm.Forward(HostMemory(output), HostMemory(invRms), HostMemory(input), HostMemory(weight), dim, eps);

    public void RmsNormBackward(View<float> inputGrad, View<float> weightGrad, View<float> outputGrad, View<float> input, View<float> weight,
        View<float> invRms, int dim) =>
        rmsNorm.Backward(HostMemory(inputGrad), HostMemory(weightGrad), HostMemory(outputGrad), HostMemory(input), HostMemory(weight), HostMemory(invRms), dim);

    public void Synchronize() { }

    public void MatMul(View<float> output, View<float> input, View<float> weight, int rows, int inDim, int outDim) =>
        FastMatMul.Forward(HostMemory(output), HostMemory(input), HostMemory(weight), rows, inDim, outDim);

    public void MatMulBackward(View<float> inputGrad, View<float> weightGrad, View<float> outputGrad, View<float> input, View<float> weight,
        int rows, int inDim, int outDim) =>
        FastMatMul.Backward(HostMemory(inputGrad), HostMemory(weightGrad), HostMemory(outputGrad), HostMemory(input), HostMemory(weight), rows, inDim, outDim);

    public void Rope(View<float> x, View<int> positions, View<float> inverseFrequencies, int heads, int headDim) =>
        rope.Forward(HostMemory(x), HostMemory(positions), HostMemory(inverseFrequencies), heads, headDim);

    public void RopeBackward(View<float> xGrad, View<int> positions, View<float> inverseFrequencies, int heads, int headDim) =>
        rope.Backward(HostMemory(xGrad), HostMemory(positions), HostMemory(inverseFrequencies), heads, headDim);

    public void Attention(View<float> output, View<float> logSumExp, View<float> q, View<float> k, View<float> v, View<int> lengths, AttentionShape shape) =>
        FastAttention.Forward(HostMemory(output), HostMemory(logSumExp), HostMemory(q), HostMemory(k), HostMemory(v), HostMemory(lengths), shape);

    public void AttentionBackward(View<float> qGrad, View<float> kGrad, View<float> vGrad, View<float> outputGrad, View<float> q, View<float> k,
        View<float> v, View<float> output, View<float> logSumExp, View<int> lengths, AttentionShape shape) =>
        FastAttention.Backward(HostMemory(qGrad), HostMemory(kGrad), HostMemory(vGrad), HostMemory(outputGrad), HostMemory(q), HostMemory(k),
            HostMemory(v), HostMemory(output), HostMemory(logSumExp), HostMemory(lengths), shape);

    public void SwiGlu(View<float> output, View<float> gate, View<float> up) => FastSwiGlu.Forward(HostMemory(output), HostMemory(gate), HostMemory(up));

    public void SwiGluBackward(View<float> gateGrad, View<float> upGrad, View<float> outputGrad, View<float> gate, View<float> up) =>
        FastSwiGlu.Backward(HostMemory(gateGrad), HostMemory(upGrad), HostMemory(outputGrad), HostMemory(gate), HostMemory(up));

    public void Add(View<float> output, View<float> a, View<float> b) => FastElementwise.Add(HostMemory(output), HostMemory(a), HostMemory(b));

    public void LogSoftmaxAtLabels(View<float> logProb, View<float> logSumExp, View<float> logits, View<int> labels, int vocab) =>
        FastLogSoftmaxAtLabels.Forward(HostMemory(logProb), HostMemory(logSumExp), HostMemory(logits), HostMemory(labels), vocab);

    public void LogSoftmaxAtLabelsBackward(View<float> logitsGrad, View<float> logits, View<float> logSumExp, View<int> labels,
        View<float> logProbGrad, int vocab) =>
        FastLogSoftmaxAtLabels.Backward(HostMemory(logitsGrad), HostMemory(logits), HostMemory(logSumExp), HostMemory(labels), HostMemory(logProbGrad), vocab);

    public void LogSoftmax(View<float> output, View<float> logits, int vocab) => FastLogSoftmax.Forward(HostMemory(output), HostMemory(logits), vocab);

    public void KlDivergence(View<float> kl, View<float> logSumExp, View<float> logits, View<float> targetLogProbs, int vocab) =>
        FastKlDivergence.Forward(HostMemory(kl), HostMemory(logSumExp), HostMemory(logits), HostMemory(targetLogProbs), vocab);

    public void KlDivergenceBackward(View<float> logitsGrad, View<float> logits, View<float> logSumExp, View<float> targetLogProbs,
        View<float> rowWeight, int vocab) =>
        FastKlDivergence.Backward(HostMemory(logitsGrad), HostMemory(logits), HostMemory(logSumExp), HostMemory(targetLogProbs), HostMemory(rowWeight), vocab);

    public void ChunkedOutputLoss(View<float> logProb, View<float> logSumExp, View<float> logitsScratch, View<float> hidden, View<float> weight,
        View<int> labels, int rows, int dim, int vocab, int chunk) =>
        outputLoss.Forward(HostMemory(logProb), HostMemory(logSumExp), HostMemory(logitsScratch), HostMemory(hidden), HostMemory(weight), HostMemory(labels),
            rows, dim, vocab, chunk);

    public void ChunkedOutputLossBackward(View<float> hiddenGrad, View<float> weightGrad, View<float> logitsScratch, View<float> hidden,
        View<float> weight, View<float> logSumExp, View<int> labels, View<float> logProbGrad, int rows, int dim, int vocab, int chunk) =>
        FastOutputLoss.Backward(HostMemory(hiddenGrad), HostMemory(weightGrad), HostMemory(logitsScratch), HostMemory(hidden), HostMemory(weight),
            HostMemory(logSumExp), HostMemory(labels), HostMemory(logProbGrad), rows, dim, vocab, chunk);

    public double SumOfSquares(View<float> x) => sumOfSquares.Compute(HostMemory(x));

    public void Scale(View<float> x, float factor) => FastElementwise.Scale(HostMemory(x), factor);

    public void AdamW(View<float> parameters, View<float> gradients, View<float> firstMoment, View<float> secondMoment, AdamWStep step) =>
        FastAdamW.Step(HostMemory(parameters), HostMemory(gradients), HostMemory(firstMoment), HostMemory(secondMoment), step);

    private static Memory<T> HostMemory<T>(View<T> view) where T : unmanaged =>
        view.Buffer is HostBuffer<T> host
            ? host.Array.AsMemory(view.Offset, view.Length)
            : throw new InvalidOperationException("the fast CPU ops run on host buffers only");
}
