namespace SimNpo.Kernels.Cpu;

/// <summary>
/// The fast CPU backend: the linear layers through <see cref="FastMatMul"/>, every other op still through the plain
/// reference, which it will replace op by op. Host buffers, so its views are interchangeable with the reference's.
/// </summary>
public sealed class FastCpuOps : IOps<float>
{
    private readonly IOps<float> reference = new ReferenceOps<float>();

    public string Name => $"cpu ({FastMatMul.InstructionSet}, {Environment.ProcessorCount} threads)";

    public DeviceBuffer<float> Allocate(int length) => reference.Allocate(length);

    public DeviceBuffer<int> AllocateInts(int length) => reference.AllocateInts(length);

    public void Synchronize() { }

    public void MatMul(View<float> output, View<float> input, View<float> weight, int rows, int inDim, int outDim) =>
        FastMatMul.Forward(HostMemory(output), HostMemory(input), HostMemory(weight), rows, inDim, outDim);

    public void MatMulBackward(View<float> inputGrad, View<float> weightGrad, View<float> outputGrad, View<float> input, View<float> weight,
        int rows, int inDim, int outDim) =>
        FastMatMul.Backward(HostMemory(inputGrad), HostMemory(weightGrad), HostMemory(outputGrad), HostMemory(input), HostMemory(weight), rows, inDim, outDim);

    public void Zero(View<float> x) => reference.Zero(x);

    public void Copy(View<float> destination, View<float> source) => reference.Copy(destination, source);

    public void Embedding(View<float> output, View<int> tokens, View<float> table, int dim) => reference.Embedding(output, tokens, table, dim);

    public void EmbeddingBackward(View<float> tableGrad, View<int> tokens, View<float> outputGrad, int dim) =>
        reference.EmbeddingBackward(tableGrad, tokens, outputGrad, dim);

    public void RmsNorm(View<float> output, View<float> invRms, View<float> input, View<float> weight, int dim, float eps) =>
        reference.RmsNorm(output, invRms, input, weight, dim, eps);

    public void RmsNormBackward(View<float> inputGrad, View<float> weightGrad, View<float> outputGrad, View<float> input, View<float> weight,
        View<float> invRms, int dim) =>
        reference.RmsNormBackward(inputGrad, weightGrad, outputGrad, input, weight, invRms, dim);

    public void Rope(View<float> x, View<int> positions, View<float> inverseFrequencies, int heads, int headDim) =>
        reference.Rope(x, positions, inverseFrequencies, heads, headDim);

    public void RopeBackward(View<float> xGrad, View<int> positions, View<float> inverseFrequencies, int heads, int headDim) =>
        reference.RopeBackward(xGrad, positions, inverseFrequencies, heads, headDim);

    public void Attention(View<float> output, View<float> logSumExp, View<float> q, View<float> k, View<float> v, View<int> lengths, AttentionShape shape) =>
        reference.Attention(output, logSumExp, q, k, v, lengths, shape);

    public void AttentionBackward(View<float> qGrad, View<float> kGrad, View<float> vGrad, View<float> outputGrad, View<float> q, View<float> k,
        View<float> v, View<float> output, View<float> logSumExp, View<int> lengths, AttentionShape shape) =>
        reference.AttentionBackward(qGrad, kGrad, vGrad, outputGrad, q, k, v, output, logSumExp, lengths, shape);

    public void SwiGlu(View<float> output, View<float> gate, View<float> up) => reference.SwiGlu(output, gate, up);

    public void SwiGluBackward(View<float> gateGrad, View<float> upGrad, View<float> outputGrad, View<float> gate, View<float> up) =>
        reference.SwiGluBackward(gateGrad, upGrad, outputGrad, gate, up);

    public void Add(View<float> output, View<float> a, View<float> b) => reference.Add(output, a, b);

    public void LogSoftmaxAtLabels(View<float> logProb, View<float> logSumExp, View<float> logits, View<int> labels, int vocab) =>
        reference.LogSoftmaxAtLabels(logProb, logSumExp, logits, labels, vocab);

    public void LogSoftmaxAtLabelsBackward(View<float> logitsGrad, View<float> logits, View<float> logSumExp, View<int> labels,
        View<float> logProbGrad, int vocab) =>
        reference.LogSoftmaxAtLabelsBackward(logitsGrad, logits, logSumExp, labels, logProbGrad, vocab);

    public void LogSoftmax(View<float> output, View<float> logits, int vocab) => reference.LogSoftmax(output, logits, vocab);

    public void KlDivergence(View<float> kl, View<float> logSumExp, View<float> logits, View<float> targetLogProbs, int vocab) =>
        reference.KlDivergence(kl, logSumExp, logits, targetLogProbs, vocab);

    public void KlDivergenceBackward(View<float> logitsGrad, View<float> logits, View<float> logSumExp, View<float> targetLogProbs,
        View<float> rowWeight, int vocab) =>
        reference.KlDivergenceBackward(logitsGrad, logits, logSumExp, targetLogProbs, rowWeight, vocab);

    public void ChunkedOutputLoss(View<float> logProb, View<float> logSumExp, View<float> logitsScratch, View<float> hidden, View<float> weight,
        View<int> labels, int rows, int dim, int vocab, int chunk) =>
        reference.ChunkedOutputLoss(logProb, logSumExp, logitsScratch, hidden, weight, labels, rows, dim, vocab, chunk);

    public void ChunkedOutputLossBackward(View<float> hiddenGrad, View<float> weightGrad, View<float> logitsScratch, View<float> hidden,
        View<float> weight, View<float> logSumExp, View<int> labels, View<float> logProbGrad, int rows, int dim, int vocab, int chunk) =>
        reference.ChunkedOutputLossBackward(hiddenGrad, weightGrad, logitsScratch, hidden, weight, logSumExp, labels, logProbGrad, rows, dim, vocab, chunk);

    public double SumOfSquares(View<float> x) => reference.SumOfSquares(x);

    public void Scale(View<float> x, float factor) => reference.Scale(x, factor);

    public void AdamW(View<float> parameters, View<float> gradients, View<float> firstMoment, View<float> secondMoment, AdamWStep step) =>
        reference.AdamW(parameters, gradients, firstMoment, secondMoment, step);

    private static Memory<float> HostMemory(View<float> view) =>
        view.Buffer is HostBuffer<float> host
            ? host.Array.AsMemory(view.Offset, view.Length)
            : throw new InvalidOperationException("the fast CPU ops run on host buffers only");
}
