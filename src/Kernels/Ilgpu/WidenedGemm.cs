using ILGPU;
using ILGPU.Runtime;

namespace SimNpo.Kernels.Ilgpu;

/// <summary>The linear layer's products on bfloat16 words, summed in float32: on tensor cores, or widened onto the SGEMM.</summary>
public interface IBFloat16Gemm
{
    /// <summary>output[rows, outDim] = round(input[rows, inDim] · weightᵀ), weight [outDim, inDim].</summary>
    void Forward(ArrayView<ushort> output, ArrayView<ushort> input, ArrayView<ushort> weight, int rows, int inDim, int outDim);

    /// <summary>The same product kept in float32 (the fused loss's logits).</summary>
    void Forward(ArrayView<float> output, ArrayView<ushort> input, ArrayView<ushort> weight, int rows, int inDim, int outDim);

    /// <summary>inputGrad = round(inputGrad + outputGrad · weight); weightGrad = round(weightGrad + outputGradᵀ · input).</summary>
    void Backward(ArrayView<ushort> inputGrad, ArrayView<ushort> weightGrad, ArrayView<ushort> outputGrad, ArrayView<ushort> input,
        ArrayView<ushort> weight, int rows, int inDim, int outDim);
}

/// <summary>
/// The bfloat16 products where the tensor-core GEMM cannot run: its mma fragments need warps of 32, which ILGPU's default
/// CPU simulator (warps of 4) and some OpenCL devices lack. Operands are widened (exactly) into float32 scratch, multiplied
/// by <see cref="MatMul.Ilgpu"/>'s SGEMM, and the result rounded once: the same arithmetic as the tensor-core path (exact
/// products, float32 sums, one rounding), in another summation order. Its five float32 scratch buffers grow to the largest call and stay.
/// </summary>
public sealed class WidenedGemm(Accelerator accelerator, MatMul.Ilgpu.Launcher sgemm, AllocatedBytes allocated) : IBFloat16Gemm
{
    private readonly Action<Index1D, ArrayView<ushort>, ArrayView<float>> _widen =
        accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<ushort>, ArrayView<float>>(WidenKernel);

    private readonly Action<Index1D, ArrayView<float>, ArrayView<ushort>> _narrow =
        accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<ushort>>(NarrowKernel);

    private readonly IlgpuBuffer<float>?[] _scratch = new IlgpuBuffer<float>?[5];

    public void Forward(ArrayView<ushort> output, ArrayView<ushort> input, ArrayView<ushort> weight, int rows, int inDim, int outDim)
    {
        MatMul.CheckShapes((int)output.Length, (int)input.Length, (int)weight.Length, rows, inDim, outDim);
        var sums = Scratch(2, output.Length);
        Forward(sums, input, weight, rows, inDim, outDim);
        if (sums.Length > 0) _narrow((int)sums.Length, sums, output);
    }

    public void Forward(ArrayView<float> output, ArrayView<ushort> input, ArrayView<ushort> weight, int rows, int inDim, int outDim)
    {
        MatMul.CheckShapes((int)output.Length, (int)input.Length, (int)weight.Length, rows, inDim, outDim);
        sgemm.Forward(output, Widened(0, input), Widened(1, weight), rows, inDim, outDim);
    }

    public void Backward(ArrayView<ushort> inputGrad, ArrayView<ushort> weightGrad, ArrayView<ushort> outputGrad, ArrayView<ushort> input,
        ArrayView<ushort> weight, int rows, int inDim, int outDim)
    {
        MatMul.CheckBackwardShapes((int)inputGrad.Length, (int)weightGrad.Length, (int)outputGrad.Length, (int)input.Length, (int)weight.Length,
            rows, inDim, outDim);
        var (inputGradFloats, weightGradFloats) = (Widened(0, inputGrad), Widened(1, weightGrad));
        sgemm.Backward(inputGradFloats, weightGradFloats, Widened(2, outputGrad), Widened(3, input), Widened(4, weight), rows, inDim, outDim);
        if (inputGradFloats.Length > 0) _narrow((int)inputGradFloats.Length, inputGradFloats, inputGrad);
        if (weightGradFloats.Length > 0) _narrow((int)weightGradFloats.Length, weightGradFloats, weightGrad);
    }

    private ArrayView<float> Widened(int slot, ArrayView<ushort> words)
    {
        var floats = Scratch(slot, words.Length);
        if (words.Length > 0) _widen((int)words.Length, words, floats);
        return floats;
    }

    private ArrayView<float> Scratch(int slot, long length)
    {
        if (_scratch[slot] is not { } buffer || buffer.Length < length)
        {
            _scratch[slot]?.Dispose();
            _scratch[slot] = buffer = new IlgpuBuffer<float>(accelerator, (int)length, allocated);
        }
        return buffer.View.SubView(0, length);
    }

    private static void WidenKernel(Index1D i, ArrayView<ushort> words, ArrayView<float> floats) => floats[i] = BFloat16.ToFloat(words[i]);

    private static void NarrowKernel(Index1D i, ArrayView<float> floats, ArrayView<ushort> words) => words[i] = BFloat16.FromFloat(floats[i]);
}
