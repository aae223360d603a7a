using ILGPU;
using ILGPU.Runtime;
using static SimNpo.Kernels.BulkStorage;

namespace SimNpo.Kernels.Ilgpu;

/// <summary>
/// <see cref="IOps{T}"/> on an ILGPU accelerator: buffers in device memory, each op a kernel launched on the default
/// stream. Owns its context and accelerator; each op's kernels are compiled the first time the op runs, then reused.
/// Nothing returns to the host inside an op except SumOfSquares' one scalar.
/// </summary>
public sealed class IlgpuOps : IOps<float>, IDisposable
{
    private readonly Context _context;
    private readonly Lazy<MatMul.Ilgpu.Launcher> _matMul;
    private readonly Lazy<IBFloat16Gemm> _bf16Gemm;
    private readonly Lazy<Attention.Ilgpu.Launcher> _attention;
    private readonly PerStorage<GatherRows.Ilgpu.Launcher<float, Float32Words>, GatherRows.Ilgpu.Launcher<ushort, BFloat16Words>> _gatherRows;
    private readonly PerStorage<RmsNorm.Ilgpu.Launcher<float, Float32Words>, RmsNorm.Ilgpu.Launcher<ushort, BFloat16Words>> _rmsNorm;
    private readonly PerStorage<LayerNorm.Ilgpu.Launcher<float, Float32Words>, LayerNorm.Ilgpu.Launcher<ushort, BFloat16Words>> _layerNorm;
    private readonly PerStorage<Bias.Ilgpu.Launcher<float, Float32Words>, Bias.Ilgpu.Launcher<ushort, BFloat16Words>> _bias;
    private readonly PerStorage<Rope.Ilgpu.Launcher<float, Float32Words>, Rope.Ilgpu.Launcher<ushort, BFloat16Words>> _rope;
    private readonly PerStorage<GatedActivation.Ilgpu.Launcher<float, Float32Words>, GatedActivation.Ilgpu.Launcher<ushort, BFloat16Words>> _gatedActivation;
    private readonly PerStorage<Activate.Ilgpu.Launcher<float, Float32Words>, Activate.Ilgpu.Launcher<ushort, BFloat16Words>> _activate;
    private readonly PerStorage<Residual.Ilgpu.Launcher<float, Float32Words>, Residual.Ilgpu.Launcher<ushort, BFloat16Words>> _residual;
    private readonly PerStorage<Scale.Ilgpu.Launcher<float, Float32Words>, Scale.Ilgpu.Launcher<ushort, BFloat16Words>> _scale;
    private readonly PerStorage<SumOfSquares.Ilgpu.Launcher<float, Float32Words>, SumOfSquares.Ilgpu.Launcher<ushort, BFloat16Words>> _sumOfSquares;
    private readonly Lazy<AttentionBf16.Launcher> _attentionBf16;
    private readonly Lazy<AdamW.Ilgpu.Launcher> _adamW;
    private readonly Lazy<Conversion.Ilgpu.Launcher> _conversion;
    private readonly PerStorage<LogSoftmaxAtLabels.Ilgpu.Launcher<float, Float32Words>,
        LogSoftmaxAtLabels.Ilgpu.Launcher<ushort, BFloat16Words>> _logSoftmaxAtLabels;
    private readonly Lazy<ChunkedOutputLoss.Ilgpu.Launcher> _chunkedOutputLoss;
    private readonly PerStorage<LogSoftmax.Ilgpu.Launcher<float, Float32Words>, LogSoftmax.Ilgpu.Launcher<ushort, BFloat16Words>> _logSoftmax;
    private readonly PerStorage<KlDivergence.Ilgpu.Launcher<float, Float32Words>, KlDivergence.Ilgpu.Launcher<ushort, BFloat16Words>> _klDivergence;

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
        _matMul = new(() => new MatMul.Ilgpu.Launcher(accelerator));
        _conversion = new(() => new Conversion.Ilgpu.Launcher(accelerator));
        // mma needs warps of 32; elsewhere (the default CPU simulator) the bfloat16 products widen onto the SGEMM.
        _bf16Gemm = new(() => accelerator.WarpSize == TensorCoreGemm.MmaWarpSize
            ? new TensorCoreGemm.Launcher(accelerator)
            : new WidenedGemm(accelerator, _matMul.Value, _conversion.Value, Allocated));
        _attention = new(() => new Attention.Ilgpu.Launcher(accelerator));
        _gatherRows = new(() => new(accelerator), () => new(accelerator));
        _rmsNorm = new(() => new(accelerator), () => new(accelerator));
        _layerNorm = new(() => new(accelerator), () => new(accelerator));
        _bias = new(() => new(accelerator), () => new(accelerator));
        _rope = new(() => new(accelerator), () => new(accelerator));
        _gatedActivation = new(() => new(accelerator), () => new(accelerator));
        _activate = new(() => new(accelerator), () => new(accelerator));
        _residual = new(() => new(accelerator), () => new(accelerator));
        _scale = new(() => new(accelerator), () => new(accelerator));
        _sumOfSquares = new(() => new(accelerator), () => new(accelerator));
        _attentionBf16 = new(() => new AttentionBf16.Launcher(accelerator, _attention.Value, _conversion.Value));
        _adamW = new(() => new AdamW.Ilgpu.Launcher(accelerator));
        _logSoftmaxAtLabels = new(() => new(accelerator), () => new(accelerator));
        _chunkedOutputLoss = new(() => new ChunkedOutputLoss.Ilgpu.Launcher(accelerator, _matMul.Value, _bf16Gemm, Allocated));
        _logSoftmax = new(() => new(accelerator), () => new(accelerator));
        _klDivergence = new(() => new(accelerator), () => new(accelerator));
    }

    /// <summary>
    /// Ops on a device of the given type that <paramref name="selectDevices"/> registers (e.g. <c>b => b.Cuda()</c>, or
    /// <c>b => b.CPU(CPUDevice.Nvidia)</c> for the simulated NVIDIA-like device), or null when there is none: the
    /// <paramref name="index"/>th of them modulo their count (<see cref="Runtime.LocalRank.DeviceIndex"/>), the first by default.
    /// </summary>
    public static IlgpuOps? Create(AcceleratorType type, Func<Context.Builder, Context.Builder> selectDevices, int index = 0)
    {
        // Algorithms supply XMath and the reduction operations the kernels use.
        var context = Context.Create(builder => selectDevices(builder).EnableAlgorithms());
        // A context always lists a CPU device too: look for the type asked for.
        var devices = context.Devices.Where(d => d.AcceleratorType == type).ToArray();
        if (devices.Length == 0)
        {
            context.Dispose();
            return null;
        }
        var device = devices[Runtime.LocalRank.DeviceIndex(index, devices.Length)];
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

    void IOps<float>.Zero(View<float> x)
    {
        if (x.Storage == Storage.BFloat16) x.Words().MemSetToZero();
        else x.ArrayView().MemSetToZero();
    }

    void IOps<float>.Copy(View<float> destination, View<float> source) => _conversion.Value.Copy(destination, source);

    // The ops below run on bulk views of either storage (all of one call's the same, BulkStorage.IsBFloat16), statistics float32.
    void IOps<float>.GatherRows(View<float> output, View<int> indices, View<float> table, int dim)
    {
        if (IsBFloat16(nameof(IOps<float>.GatherRows), [output, table])) _gatherRows.BFloat16.Gather(output.Words(), indices.ArrayView(), table.Words(), dim);
        else _gatherRows.Float32.Gather(output.ArrayView(), indices.ArrayView(), table.ArrayView(), dim);
    }

    void IOps<float>.ScatterAddRows(View<float> table, View<int> indices, View<float> rows, int dim)
    {
        if (IsBFloat16(nameof(IOps<float>.ScatterAddRows), [table, rows]))
            _gatherRows.BFloat16.ScatterAdd(table.Words(), indices.ArrayView(), rows.Words(), dim);
        else _gatherRows.Float32.ScatterAdd(table.ArrayView(), indices.ArrayView(), rows.ArrayView(), dim);
    }

    void IOps<float>.RmsNorm(View<float> output, View<float> invRms, View<float> input, View<float> weight, int dim, float eps, float weightOffset)
    {
        if (IsBFloat16(nameof(IOps<float>.RmsNorm), [output, input, weight], [invRms]))
            _rmsNorm.BFloat16.Forward(output.Words(), invRms.ArrayView(), input.Words(), weight.Words(), dim, eps, weightOffset);
        else _rmsNorm.Float32.Forward(output.ArrayView(), invRms.ArrayView(), input.ArrayView(), weight.ArrayView(), dim, eps, weightOffset);
    }

    void IOps<float>.RmsNormBackward(View<float> inputGrad, View<float> weightGrad, View<float> outputGrad, View<float> input, View<float> weight,
        View<float> invRms, int dim, float weightOffset)
    {
        if (IsBFloat16(nameof(IOps<float>.RmsNormBackward), [inputGrad, weightGrad, outputGrad, input, weight], [invRms]))
            _rmsNorm.BFloat16.Backward(inputGrad.Words(), weightGrad.Words(), outputGrad.Words(), input.Words(), weight.Words(), invRms.ArrayView(), dim,
                weightOffset);
        else
            _rmsNorm.Float32.Backward(inputGrad.ArrayView(), weightGrad.ArrayView(), outputGrad.ArrayView(), input.ArrayView(), weight.ArrayView(),
                invRms.ArrayView(), dim, weightOffset);
    }

    void IOps<float>.LayerNorm(View<float> output, View<float> mean, View<float> invStd, View<float> input, View<float> weight, View<float> bias, int dim,
        float eps)
    {
        if (IsBFloat16(nameof(IOps<float>.LayerNorm), [output, input, weight, bias], [mean, invStd]))
            _layerNorm.BFloat16.Forward(output.Words(), mean.ArrayView(), invStd.ArrayView(), input.Words(), weight.Words(), bias.Words(), dim, eps);
        else _layerNorm.Float32.Forward(output.ArrayView(), mean.ArrayView(), invStd.ArrayView(), input.ArrayView(), weight.ArrayView(), bias.ArrayView(), dim,
                eps);
    }

    void IOps<float>.LayerNormBackward(View<float> inputGrad, View<float> weightGrad, View<float> biasGrad, View<float> outputGrad, View<float> input,
        View<float> weight, View<float> mean, View<float> invStd, int dim)
    {
        if (IsBFloat16(nameof(IOps<float>.LayerNormBackward), [inputGrad, weightGrad, biasGrad, outputGrad, input, weight], [mean, invStd]))
            _layerNorm.BFloat16.Backward(inputGrad.Words(), weightGrad.Words(), biasGrad.Words(), outputGrad.Words(), input.Words(), weight.Words(),
                mean.ArrayView(), invStd.ArrayView(), dim);
        else
            _layerNorm.Float32.Backward(inputGrad.ArrayView(), weightGrad.ArrayView(), biasGrad.ArrayView(), outputGrad.ArrayView(), input.ArrayView(),
                weight.ArrayView(), mean.ArrayView(), invStd.ArrayView(), dim);
    }

    void IOps<float>.AddBias(View<float> x, View<float> bias, int dim)
    {
        if (IsBFloat16(nameof(IOps<float>.AddBias), [x, bias])) _bias.BFloat16.Forward(x.Words(), bias.Words(), dim);
        else _bias.Float32.Forward(x.ArrayView(), bias.ArrayView(), dim);
    }

    void IOps<float>.AddBiasBackward(View<float> biasGrad, View<float> outputGrad, int dim)
    {
        if (IsBFloat16(nameof(IOps<float>.AddBiasBackward), [biasGrad, outputGrad])) _bias.BFloat16.Backward(biasGrad.Words(), outputGrad.Words(), dim);
        else _bias.Float32.Backward(biasGrad.ArrayView(), outputGrad.ArrayView(), dim);
    }

    void IOps<float>.MatMul(View<float> output, View<float> input, View<float> weight, int rows, int inDim, int outDim)
    {
        if (IsBFloat16(nameof(IOps<float>.MatMul), [output, input, weight]))
            _bf16Gemm.Value.Forward(output.Words(), input.Words(), weight.Words(), rows, inDim, outDim);
        else _matMul.Value.Forward(output.ArrayView(), input.ArrayView(), weight.ArrayView(), rows, inDim, outDim);
    }

    void IOps<float>.MatMulBackward(View<float> inputGrad, View<float> weightGrad, View<float> outputGrad, View<float> input, View<float> weight, int rows,
        int inDim, int outDim)
    {
        if (IsBFloat16(nameof(IOps<float>.MatMulBackward), [inputGrad, weightGrad, outputGrad, input, weight]))
            _bf16Gemm.Value.Backward(inputGrad.Words(), weightGrad.Words(), outputGrad.Words(), input.Words(), weight.Words(), rows, inDim, outDim);
        else
            _matMul.Value.Backward(inputGrad.ArrayView(), weightGrad.ArrayView(), outputGrad.ArrayView(), input.ArrayView(), weight.ArrayView(), rows, inDim,
                outDim);
    }

    void IOps<float>.Rope(View<float> x, View<int> positions, View<float> inverseFrequencies, int heads, int headDim, int rotaryDim)
    {
        if (IsBFloat16(nameof(IOps<float>.Rope), [x], [inverseFrequencies]))
            _rope.BFloat16.Forward(x.Words(), positions.ArrayView(), inverseFrequencies.ArrayView(), heads, headDim, rotaryDim);
        else _rope.Float32.Forward(x.ArrayView(), positions.ArrayView(), inverseFrequencies.ArrayView(), heads, headDim, rotaryDim);
    }

    void IOps<float>.RopeBackward(View<float> xGrad, View<int> positions, View<float> inverseFrequencies, int heads, int headDim, int rotaryDim)
    {
        if (IsBFloat16(nameof(IOps<float>.RopeBackward), [xGrad], [inverseFrequencies]))
            _rope.BFloat16.Backward(xGrad.Words(), positions.ArrayView(), inverseFrequencies.ArrayView(), heads, headDim, rotaryDim);
        else _rope.Float32.Backward(xGrad.ArrayView(), positions.ArrayView(), inverseFrequencies.ArrayView(), heads, headDim, rotaryDim);
    }

    void IOps<float>.Attention(View<float> output, View<float> logSumExp, View<float> q, View<float> k, View<float> v, View<int> lengths, AttentionShape shape)
    {
        if (IsBFloat16(nameof(IOps<float>.Attention), [output, q, k, v], [logSumExp]))
            _attentionBf16.Value.Forward(output.Words(), logSumExp.ArrayView(), q.Words(), k.Words(), v.Words(), lengths.ArrayView(), shape);
        else
            _attention.Value.Forward(output.ArrayView(), logSumExp.ArrayView(), q.ArrayView(), k.ArrayView(), v.ArrayView(), lengths.ArrayView(), shape);
    }

    void IOps<float>.AttentionBackward(View<float> qGrad, View<float> kGrad, View<float> vGrad, View<float> outputGrad,
        View<float> q, View<float> k, View<float> v, View<float> output, View<float> logSumExp, View<int> lengths, AttentionShape shape)
    {
        if (IsBFloat16(nameof(IOps<float>.AttentionBackward), [qGrad, kGrad, vGrad, outputGrad, q, k, v, output], [logSumExp]))
            _attentionBf16.Value.Backward(qGrad.Words(), kGrad.Words(), vGrad.Words(), outputGrad.Words(), q.Words(), k.Words(), v.Words(),
                output.Words(), logSumExp.ArrayView(), lengths.ArrayView(), shape);
        else
            _attention.Value.Backward(qGrad.ArrayView(), kGrad.ArrayView(), vGrad.ArrayView(), outputGrad.ArrayView(),
                q.ArrayView(), k.ArrayView(), v.ArrayView(), output.ArrayView(), logSumExp.ArrayView(), lengths.ArrayView(), shape);
    }

    void IOps<float>.GatedActivation(View<float> output, View<float> gate, View<float> up, Activation activation)
    {
        if (IsBFloat16(nameof(IOps<float>.GatedActivation), [output, gate, up]))
            _gatedActivation.BFloat16.Forward(output.Words(), gate.Words(), up.Words(), activation);
        else _gatedActivation.Float32.Forward(output.ArrayView(), gate.ArrayView(), up.ArrayView(), activation);
    }

    void IOps<float>.GatedActivationBackward(View<float> gateGrad, View<float> upGrad, View<float> outputGrad, View<float> gate, View<float> up,
        Activation activation)
    {
        if (IsBFloat16(nameof(IOps<float>.GatedActivationBackward), [gateGrad, upGrad, outputGrad, gate, up]))
            _gatedActivation.BFloat16.Backward(gateGrad.Words(), upGrad.Words(), outputGrad.Words(), gate.Words(), up.Words(), activation);
        else _gatedActivation.Float32.Backward(gateGrad.ArrayView(), upGrad.ArrayView(), outputGrad.ArrayView(), gate.ArrayView(), up.ArrayView(), activation);
    }

    void IOps<float>.Activate(View<float> output, View<float> input, Activation activation)
    {
        if (IsBFloat16(nameof(IOps<float>.Activate), [output, input])) _activate.BFloat16.Forward(output.Words(), input.Words(), activation);
        else _activate.Float32.Forward(output.ArrayView(), input.ArrayView(), activation);
    }

    void IOps<float>.ActivateBackward(View<float> inputGrad, View<float> outputGrad, View<float> input, Activation activation)
    {
        if (IsBFloat16(nameof(IOps<float>.ActivateBackward), [inputGrad, outputGrad, input]))
            _activate.BFloat16.Backward(inputGrad.Words(), outputGrad.Words(), input.Words(), activation);
        else _activate.Float32.Backward(inputGrad.ArrayView(), outputGrad.ArrayView(), input.ArrayView(), activation);
    }

    void IOps<float>.Add(View<float> output, View<float> a, View<float> b)
    {
        if (IsBFloat16(nameof(IOps<float>.Add), [output, a, b])) _residual.BFloat16.Forward(output.Words(), a.Words(), b.Words());
        else _residual.Float32.Forward(output.ArrayView(), a.ArrayView(), b.ArrayView());
    }

    void IOps<float>.ChunkedOutputLoss(View<float> logProb, View<float> logSumExp, View<float> logitsScratch, View<float> hidden, View<float> weight,
        View<float>? bias, View<int> labels, int rows, int dim, int vocab, int chunk)
    {
        if (IsBFloat16(nameof(IOps<float>.ChunkedOutputLoss), [hidden, weight, .. Present(bias)], [logProb, logSumExp, logitsScratch]))
            _chunkedOutputLoss.Value.Forward(logProb.ArrayView(), logSumExp.ArrayView(), logitsScratch.ArrayView(), hidden.Words(), weight.Words(),
                bias?.Words(), labels.ArrayView(), rows, dim, vocab, chunk);
        else _chunkedOutputLoss.Value.Forward(logProb.ArrayView(), logSumExp.ArrayView(), logitsScratch.ArrayView(), hidden.ArrayView(), weight.ArrayView(),
                bias?.ArrayView(), labels.ArrayView(), rows, dim, vocab, chunk);
    }

    void IOps<float>.ChunkedOutputLossBackward(View<float> hiddenGrad, View<float> weightGrad, View<float> logitsScratch, View<float> hidden,
        View<float> weight, View<float>? bias, View<float>? biasGrad, View<float> logSumExp, View<int> labels, View<float> logProbGrad, int rows, int dim,
        int vocab, int chunk)
    {
        if (IsBFloat16(nameof(IOps<float>.ChunkedOutputLossBackward), [hiddenGrad, weightGrad, hidden, weight, .. Present(bias, biasGrad)],
                [logitsScratch, logSumExp, logProbGrad]))
            _chunkedOutputLoss.Value.Backward(hiddenGrad.Words(), weightGrad.Words(), logitsScratch.ArrayView(), hidden.Words(), weight.Words(), bias?.Words(),
                biasGrad?.Words(), logSumExp.ArrayView(), labels.ArrayView(), logProbGrad.ArrayView(), rows, dim, vocab, chunk);
        else
            _chunkedOutputLoss.Value.Backward(hiddenGrad.ArrayView(), weightGrad.ArrayView(), logitsScratch.ArrayView(), hidden.ArrayView(), weight.ArrayView(),
                bias?.ArrayView(), biasGrad?.ArrayView(), logSumExp.ArrayView(), labels.ArrayView(), logProbGrad.ArrayView(), rows, dim, vocab, chunk);
    }

    void IOps<float>.LogSoftmaxAtLabels(View<float> logProb, View<float> logSumExp, View<float> logits, View<int> labels, int vocab)
    {
        if (IsBFloat16(nameof(IOps<float>.LogSoftmaxAtLabels), [logits], [logProb, logSumExp]))
            _logSoftmaxAtLabels.BFloat16.Forward(logProb.ArrayView(), logSumExp.ArrayView(), logits.Words(), labels.ArrayView(), vocab);
        else _logSoftmaxAtLabels.Float32.Forward(logProb.ArrayView(), logSumExp.ArrayView(), logits.ArrayView(), labels.ArrayView(), vocab);
    }

    void IOps<float>.LogSoftmaxAtLabelsBackward(View<float> logitsGrad, View<float> logits, View<float> logSumExp, View<int> labels, View<float> logProbGrad,
        int vocab)
    {
        if (IsBFloat16(nameof(IOps<float>.LogSoftmaxAtLabelsBackward), [logitsGrad, logits], [logSumExp, logProbGrad]))
            _logSoftmaxAtLabels.BFloat16.Backward(logitsGrad.Words(), logits.Words(), logSumExp.ArrayView(), labels.ArrayView(), logProbGrad.ArrayView(),
                vocab);
        else
            _logSoftmaxAtLabels.Float32.Backward(logitsGrad.ArrayView(), logits.ArrayView(), logSumExp.ArrayView(), labels.ArrayView(), logProbGrad.ArrayView(),
                vocab);
    }

    void IOps<float>.LogSoftmax(View<float> output, View<float> logits, int vocab)
    {
        if (IsBFloat16(nameof(IOps<float>.LogSoftmax), [output, logits])) _logSoftmax.BFloat16.Forward(output.Words(), logits.Words(), vocab);
        else _logSoftmax.Float32.Forward(output.ArrayView(), logits.ArrayView(), vocab);
    }

    void IOps<float>.KlDivergence(View<float> kl, View<float> logSumExp, View<float> logits, View<float> targetLogProbs, int vocab)
    {
        if (IsBFloat16(nameof(IOps<float>.KlDivergence), [logits, targetLogProbs], [kl, logSumExp]))
            _klDivergence.BFloat16.Forward(kl.ArrayView(), logSumExp.ArrayView(), logits.Words(), targetLogProbs.Words(), vocab);
        else _klDivergence.Float32.Forward(kl.ArrayView(), logSumExp.ArrayView(), logits.ArrayView(), targetLogProbs.ArrayView(), vocab);
    }

    void IOps<float>.KlDivergenceBackward(View<float> logitsGrad, View<float> logits, View<float> logSumExp, View<float> targetLogProbs, View<float> rowWeight,
        int vocab)
    {
        if (IsBFloat16(nameof(IOps<float>.KlDivergenceBackward), [logitsGrad, logits, targetLogProbs], [logSumExp, rowWeight]))
            _klDivergence.BFloat16.Backward(logitsGrad.Words(), logits.Words(), logSumExp.ArrayView(), targetLogProbs.Words(), rowWeight.ArrayView(), vocab);
        else
            _klDivergence.Float32.Backward(logitsGrad.ArrayView(), logits.ArrayView(), logSumExp.ArrayView(), targetLogProbs.ArrayView(), rowWeight.ArrayView(),
                vocab);
    }

    double IOps<float>.SumOfSquares(View<float> x) =>
        x.Storage == Storage.BFloat16 ? _sumOfSquares.BFloat16.Compute(x.Words()) : _sumOfSquares.Float32.Compute(x.ArrayView());

    void IOps<float>.Scale(View<float> x, double factor)
    {
        if (x.Storage == Storage.BFloat16) _scale.BFloat16.Apply(x.Words(), (float)factor);
        else _scale.Float32.Apply(x.ArrayView(), (float)factor);
    }

    void IOps<float>.AdamW(View<float> parameters, View<float> gradients, View<float> firstMoment, View<float> secondMoment, AdamWStep step,
        View<float>? masterWeights)
    {
        Kernels.AdamW.CheckOperands(parameters, gradients, firstMoment, secondMoment, masterWeights);
        _adamW.Value.Step(AdamWOperand(parameters), AdamWOperand(gradients), AdamWOperand(firstMoment), AdamWOperand(secondMoment),
            masterWeights?.ArrayView(), parameters.Length, step);
    }

    private static AdamW.Ilgpu.Operand AdamWOperand(View<float> view) =>
        view.Storage == Storage.BFloat16 ? AdamW.Ilgpu.Operand.OfWords(view.Words()) : AdamW.Ilgpu.Operand.OfFloats(view.ArrayView());

    public void Dispose()
    {
        // Every per-storage pair, so that a launcher which comes to own device memory cannot leak it.
        _gatherRows.Dispose();
        _rmsNorm.Dispose();
        _layerNorm.Dispose();
        _bias.Dispose();
        _rope.Dispose();
        _gatedActivation.Dispose();
        _activate.Dispose();
        _residual.Dispose();
        _scale.Dispose();
        _sumOfSquares.Dispose();
        _logSoftmaxAtLabels.Dispose();
        _logSoftmax.Dispose();
        _klDivergence.Dispose();
        if (_attentionBf16.IsValueCreated) _attentionBf16.Value.Dispose();
        if (_chunkedOutputLoss.IsValueCreated) _chunkedOutputLoss.Value.Dispose();
        if (_bf16Gemm is { IsValueCreated: true, Value: IDisposable gemm }) gemm.Dispose();
        Accelerator.Dispose();
        _context.Dispose();
    }
}
