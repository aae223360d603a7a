using ILGPU;
using ILGPU.Runtime;

namespace SimNpo.Kernels.Ilgpu;

/// <summary>
/// <see cref="IOps{T}"/> on an ILGPU accelerator: buffers in device memory, each op a kernel launched on the default
/// stream. Owns its context and accelerator; each op's kernels are compiled the first time the op runs, then reused.
/// Nothing returns to the host inside an op except SumOfSquares' one scalar.
/// </summary>
public sealed class IlgpuOps : IOps<float>, IDisposable
{
    private readonly Context _context;
    private readonly Lazy<MatMul.Ilgpu.Kernels> _matMul;
    private readonly Lazy<Attention.Ilgpu.Kernels> _attention;
    private readonly Lazy<AttentionBf16.Kernels> _attentionBf16;
    private readonly Lazy<Embedding.Ilgpu.Launcher> _embedding;
    private readonly Lazy<RmsNorm.Ilgpu.Launcher> _rmsNorm;
    private readonly Lazy<Rope.Ilgpu.Launcher> _rope;
    private readonly Lazy<SwiGlu.Ilgpu.Launcher> _swiGlu;
    private readonly Lazy<Residual.Ilgpu.Launcher> _residual;
    private readonly Lazy<Scale.Ilgpu.Launcher> _scale;
    private readonly Lazy<SumOfSquares.Ilgpu.Launcher> _sumOfSquares;
    private readonly Lazy<AdamW.Ilgpu.Launcher> _adamW;
    private readonly Lazy<LogSoftmaxAtLabels.Ilgpu.Launcher> _logSoftmaxAtLabels;
    private readonly Lazy<ChunkedOutputLoss.Ilgpu.Launcher> _chunkedOutputLoss;
    private readonly Lazy<LogSoftmax.Ilgpu.Launcher> _logSoftmax;
    private readonly Lazy<KlDivergence.Ilgpu.Launcher> _klDivergence;

    private IlgpuOps(Context context, Accelerator accelerator)
    {
        _context = context;
        Accelerator = accelerator;
        Name = accelerator.AcceleratorType switch
        {
            AcceleratorType.Cuda => $"cuda: {accelerator.Name}",
            AcceleratorType.OpenCL => $"opencl: {accelerator.Name}",
            _ => $"ilgpu-cpu (warp {accelerator.WarpSize}, groups {accelerator.MaxNumThreadsPerGroup})",
        };
        _matMul = new(() => new MatMul.Ilgpu.Kernels(accelerator));
        _attention = new(() => new Attention.Ilgpu.Kernels(accelerator));
        _attentionBf16 = new(() => new AttentionBf16.Kernels(accelerator, _attention.Value));
        _embedding = new(() => new Embedding.Ilgpu.Launcher(accelerator));
        _rmsNorm = new(() => new RmsNorm.Ilgpu.Launcher(accelerator));
        _rope = new(() => new Rope.Ilgpu.Launcher(accelerator));
        _swiGlu = new(() => new SwiGlu.Ilgpu.Launcher(accelerator));
        _residual = new(() => new Residual.Ilgpu.Launcher(accelerator));
        _scale = new(() => new Scale.Ilgpu.Launcher(accelerator));
        _sumOfSquares = new(() => new SumOfSquares.Ilgpu.Launcher(accelerator));
        _adamW = new(() => new AdamW.Ilgpu.Launcher(accelerator));
        _logSoftmaxAtLabels = new(() => new LogSoftmaxAtLabels.Ilgpu.Launcher(accelerator));
        _chunkedOutputLoss = new(() => new ChunkedOutputLoss.Ilgpu.Launcher(accelerator, _matMul.Value));
        _logSoftmax = new(() => new LogSoftmax.Ilgpu.Launcher(accelerator));
        _klDivergence = new(() => new KlDivergence.Ilgpu.Launcher(accelerator));
    }

    /// <summary>
    /// Ops on the first device of the given type that <paramref name="selectDevices"/> registers (e.g. <c>b => b.Cuda()</c>,
    /// or <c>b => b.CPU(CPUDevice.Nvidia)</c> for the simulated NVIDIA-like device), or null when there is none.
    /// </summary>
    public static IlgpuOps? Create(AcceleratorType type, Func<Context.Builder, Context.Builder> selectDevices)
    {
        // Algorithms supply XMath and the reduction operations the kernels use.
        var context = Context.Create(builder => selectDevices(builder).EnableAlgorithms());
        // A context always lists a CPU device too: look for the type asked for.
        var device = context.Devices.FirstOrDefault(d => d.AcceleratorType == type);
        if (device is null)
        {
            context.Dispose();
            return null;
        }
        return new IlgpuOps(context, device.CreateAccelerator(context));
    }

    public Accelerator Accelerator { get; }

    /// <summary>Device memory held by the buffers these ops allocated, and its peak.</summary>
    public AllocatedBytes Allocated { get; } = new();

    public string Name { get; }

    public DeviceBuffer<float> Allocate(int length, Storage storage = Storage.Native) => storage switch
    {
        Storage.Native => new IlgpuBuffer<float>(Accelerator, length, Allocated),
        Storage.BFloat16 => new IlgpuBFloat16Buffer(Accelerator, length, Allocated),
        _ => throw new NotSupportedException($"the ILGPU path stores no {storage}"),
    };

    public bool Supports(Storage storage) => storage is Storage.Native or Storage.BFloat16;

    public DeviceBuffer<int> AllocateInts(int length) => new IlgpuBuffer<int>(Accelerator, length, Allocated);

    public void Synchronize() => Accelerator.Synchronize();

    void IOps<float>.Zero(View<float> x) => x.ArrayView().MemSetToZero();

    void IOps<float>.Copy(View<float> destination, View<float> source)
    {
        ShapeCheck.Length(source.Length, destination.Length, nameof(source));
        destination.ArrayView().CopyFrom(source.ArrayView());
    }

    void IOps<float>.Embedding(View<float> output, View<int> tokens, View<float> table, int dim) =>
        _embedding.Value.Forward(output.ArrayView(), tokens.ArrayView(), table.ArrayView(), dim);

    void IOps<float>.EmbeddingBackward(View<float> tableGrad, View<int> tokens, View<float> outputGrad, int dim) =>
        _embedding.Value.Backward(tableGrad.ArrayView(), tokens.ArrayView(), outputGrad.ArrayView(), dim);

    void IOps<float>.RmsNorm(View<float> output, View<float> invRms, View<float> input, View<float> weight, int dim, float eps) =>
        _rmsNorm.Value.Forward(output.ArrayView(), invRms.ArrayView(), input.ArrayView(), weight.ArrayView(), dim, eps);

    void IOps<float>.RmsNormBackward(View<float> inputGrad, View<float> weightGrad, View<float> outputGrad, View<float> input, View<float> weight, View<float> invRms, int dim) =>
        _rmsNorm.Value.Backward(inputGrad.ArrayView(), weightGrad.ArrayView(), outputGrad.ArrayView(), input.ArrayView(), weight.ArrayView(), invRms.ArrayView(), dim);

    void IOps<float>.MatMul(View<float> output, View<float> input, View<float> weight, int rows, int inDim, int outDim) =>
        _matMul.Value.Forward(output.ArrayView(), input.ArrayView(), weight.ArrayView(), rows, inDim, outDim);

    void IOps<float>.MatMulBackward(View<float> inputGrad, View<float> weightGrad, View<float> outputGrad, View<float> input, View<float> weight, int rows, int inDim, int outDim) =>
        _matMul.Value.Backward(inputGrad.ArrayView(), weightGrad.ArrayView(), outputGrad.ArrayView(), input.ArrayView(), weight.ArrayView(), rows, inDim, outDim);

    void IOps<float>.Rope(View<float> x, View<int> positions, View<float> inverseFrequencies, int heads, int headDim) =>
        _rope.Value.Forward(x.ArrayView(), positions.ArrayView(), inverseFrequencies.ArrayView(), heads, headDim);

    void IOps<float>.RopeBackward(View<float> xGrad, View<int> positions, View<float> inverseFrequencies, int heads, int headDim) =>
        _rope.Value.Backward(xGrad.ArrayView(), positions.ArrayView(), inverseFrequencies.ArrayView(), heads, headDim);

    void IOps<float>.Attention(View<float> output, View<float> logSumExp, View<float> q, View<float> k, View<float> v, View<int> lengths, AttentionShape shape)
    {
        if (AttentionBf16.StoresBf16(nameof(IOps<float>.Attention), output, q, k, v))
            _attentionBf16.Value.Forward(output.Words(), logSumExp.ArrayView(), q.Words(), k.Words(), v.Words(), lengths.ArrayView(), shape);
        else
            _attention.Value.Forward(output.ArrayView(), logSumExp.ArrayView(), q.ArrayView(), k.ArrayView(), v.ArrayView(), lengths.ArrayView(), shape);
    }

    void IOps<float>.AttentionBackward(View<float> qGrad, View<float> kGrad, View<float> vGrad, View<float> outputGrad,
        View<float> q, View<float> k, View<float> v, View<float> output, View<float> logSumExp, View<int> lengths, AttentionShape shape)
    {
        if (AttentionBf16.StoresBf16(nameof(IOps<float>.AttentionBackward), qGrad, kGrad, vGrad, outputGrad, q, k, v, output))
            _attentionBf16.Value.Backward(qGrad.Words(), kGrad.Words(), vGrad.Words(), outputGrad.Words(), q.Words(), k.Words(), v.Words(),
                output.Words(), logSumExp.ArrayView(), lengths.ArrayView(), shape);
        else
            _attention.Value.Backward(qGrad.ArrayView(), kGrad.ArrayView(), vGrad.ArrayView(), outputGrad.ArrayView(),
                q.ArrayView(), k.ArrayView(), v.ArrayView(), output.ArrayView(), logSumExp.ArrayView(), lengths.ArrayView(), shape);
    }

    void IOps<float>.SwiGlu(View<float> output, View<float> gate, View<float> up) =>
        _swiGlu.Value.Forward(output.ArrayView(), gate.ArrayView(), up.ArrayView());

    void IOps<float>.SwiGluBackward(View<float> gateGrad, View<float> upGrad, View<float> outputGrad, View<float> gate, View<float> up) =>
        _swiGlu.Value.Backward(gateGrad.ArrayView(), upGrad.ArrayView(), outputGrad.ArrayView(), gate.ArrayView(), up.ArrayView());

    void IOps<float>.Add(View<float> output, View<float> a, View<float> b) =>
        _residual.Value.Forward(output.ArrayView(), a.ArrayView(), b.ArrayView());

    void IOps<float>.ChunkedOutputLoss(View<float> logProb, View<float> logSumExp, View<float> logitsScratch, View<float> hidden, View<float> weight,
        View<int> labels, int rows, int dim, int vocab, int chunk) =>
        _chunkedOutputLoss.Value.Forward(logProb.ArrayView(), logSumExp.ArrayView(), logitsScratch.ArrayView(), hidden.ArrayView(), weight.ArrayView(),
            labels.ArrayView(), rows, dim, vocab, chunk);

    void IOps<float>.ChunkedOutputLossBackward(View<float> hiddenGrad, View<float> weightGrad, View<float> logitsScratch, View<float> hidden,
        View<float> weight, View<float> logSumExp, View<int> labels, View<float> logProbGrad, int rows, int dim, int vocab, int chunk) =>
        _chunkedOutputLoss.Value.Backward(hiddenGrad.ArrayView(), weightGrad.ArrayView(), logitsScratch.ArrayView(), hidden.ArrayView(), weight.ArrayView(),
            logSumExp.ArrayView(), labels.ArrayView(), logProbGrad.ArrayView(), rows, dim, vocab, chunk);

    void IOps<float>.LogSoftmaxAtLabels(View<float> logProb, View<float> logSumExp, View<float> logits, View<int> labels, int vocab) =>
        _logSoftmaxAtLabels.Value.Forward(logProb.ArrayView(), logSumExp.ArrayView(), logits.ArrayView(), labels.ArrayView(), vocab);

    void IOps<float>.LogSoftmaxAtLabelsBackward(View<float> logitsGrad, View<float> logits, View<float> logSumExp, View<int> labels, View<float> logProbGrad, int vocab) =>
        _logSoftmaxAtLabels.Value.Backward(logitsGrad.ArrayView(), logits.ArrayView(), logSumExp.ArrayView(), labels.ArrayView(), logProbGrad.ArrayView(), vocab);

    void IOps<float>.LogSoftmax(View<float> output, View<float> logits, int vocab) =>
        _logSoftmax.Value.Forward(output.ArrayView(), logits.ArrayView(), vocab);

    void IOps<float>.KlDivergence(View<float> kl, View<float> logSumExp, View<float> logits, View<float> targetLogProbs, int vocab) =>
        _klDivergence.Value.Forward(kl.ArrayView(), logSumExp.ArrayView(), logits.ArrayView(), targetLogProbs.ArrayView(), vocab);

    void IOps<float>.KlDivergenceBackward(View<float> logitsGrad, View<float> logits, View<float> logSumExp, View<float> targetLogProbs, View<float> rowWeight, int vocab) =>
        _klDivergence.Value.Backward(logitsGrad.ArrayView(), logits.ArrayView(), logSumExp.ArrayView(), targetLogProbs.ArrayView(), rowWeight.ArrayView(), vocab);

    double IOps<float>.SumOfSquares(View<float> x) => _sumOfSquares.Value.Compute(x.ArrayView());

    void IOps<float>.Scale(View<float> x, float factor) => _scale.Value.Apply(x.ArrayView(), factor);

    void IOps<float>.AdamW(View<float> parameters, View<float> gradients, View<float> firstMoment, View<float> secondMoment, AdamWStep step) =>
        _adamW.Value.Step(parameters.ArrayView(), gradients.ArrayView(), firstMoment.ArrayView(), secondMoment.ArrayView(), step);

    public void Dispose()
    {
        if (_sumOfSquares.IsValueCreated) _sumOfSquares.Value.Dispose();
        if (_attentionBf16.IsValueCreated) _attentionBf16.Value.Dispose();
        Accelerator.Dispose();
        _context.Dispose();
    }
}
