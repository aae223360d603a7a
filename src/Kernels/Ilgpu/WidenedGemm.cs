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
public sealed class WidenedGemm(Accelerator accelerator, MatMul.Ilgpu.Launcher sgemm, Conversion.Ilgpu.Launcher conversion, AllocatedBytes allocated)
    : IBFloat16Gemm, IDisposable
{
    private readonly Scratch<float>[] _scratch = [.. Enumerable.Range(0, 5).Select(_ => new Scratch<float>(accelerator, allocated))];

    public void Forward(ArrayView<ushort> output, ArrayView<ushort> input, ArrayView<ushort> weight, int rows, int inDim, int outDim)
    {
        MatMul.CheckShapes((int)output.Length, (int)input.Length, (int)weight.Length, rows, inDim, outDim);
        var sums = _scratch[2].View(output.Length);
        Forward(sums, input, weight, rows, inDim, outDim);
        conversion.Narrow(output, sums);
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
        conversion.Narrow(inputGrad, inputGradFloats);
        conversion.Narrow(weightGrad, weightGradFloats);
    }

    private ArrayView<float> Widened(int slot, ArrayView<ushort> words)
    {
        var floats = _scratch[slot].View(words.Length);
        conversion.Widen(floats, words);
        return floats;
    }

    public void Dispose()
    {
        foreach (var scratch in _scratch) scratch.Dispose();
    }
}
