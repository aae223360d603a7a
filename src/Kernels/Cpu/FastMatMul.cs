namespace SimNpo.Kernels.Cpu;

/// <summary>
/// The linear layer's three products on the CPU through one packed, cache-blocked float32 GEMM, C (+)= A·B, each operand
/// read through its own row and column strides so a transpose costs nothing but the packing. Same semantics as
/// <see cref="MatMul.Reference"/>, but the weight gradient is summed in float32 like the other two products.
/// </summary>
public static unsafe class FastMatMul
{
    /// <summary>"AVX2+FMA" where the register-blocked micro-kernel runs, else "portable".</summary>
    public static string InstructionSet => MicroKernel.InstructionSet;

    /// <summary>output[rows, outDim] = input[rows, inDim] · weightᵀ, weight [outDim, inDim].</summary>
    public static void Forward(Memory<float> output, ReadOnlyMemory<float> input, ReadOnlyMemory<float> weight, int rows, int inDim, int outDim)
    {
        MatMul.CheckShapes(output.Length, input.Length, weight.Length, rows, inDim, outDim);
        using var y = output.Pin();
        using var x = input.Pin();
        using var w = weight.Pin();
        // A = input [M = rows, K = inDim]; B[k, n] = weight[n, k].
        Gemm.Multiply((float*)y.Pointer, outDim, new Gemm.Operand((float*)x.Pointer, inDim, 1), new Gemm.Operand((float*)w.Pointer, 1, inDim),
            rows, outDim, inDim, accumulate: false);
    }

    /// <summary>inputGrad += outputGrad · weight; weightGrad += outputGradᵀ · input.</summary>
    public static void Backward(Memory<float> inputGrad, Memory<float> weightGrad, ReadOnlyMemory<float> outputGrad, ReadOnlyMemory<float> input,
        ReadOnlyMemory<float> weight, int rows, int inDim, int outDim)
    {
        MatMul.CheckBackwardShapes(inputGrad.Length, weightGrad.Length, outputGrad.Length, input.Length, weight.Length, rows, inDim, outDim);
        using var dx = inputGrad.Pin();
        using var dw = weightGrad.Pin();
        using var dy = outputGrad.Pin();
        using var x = input.Pin();
        using var w = weight.Pin();
        // A = outputGrad [M = rows, K = outDim]; B = weight [K = outDim, N = inDim].
        Gemm.Multiply((float*)dx.Pointer, inDim, new Gemm.Operand((float*)dy.Pointer, outDim, 1), new Gemm.Operand((float*)w.Pointer, inDim, 1),
            rows, inDim, outDim, accumulate: true);
        // A[o, r] = outputGrad[r, o], [M = outDim, K = rows]; B = input [K = rows, N = inDim].
        Gemm.Multiply((float*)dw.Pointer, inDim, new Gemm.Operand((float*)dy.Pointer, 1, outDim), new Gemm.Operand((float*)x.Pointer, inDim, 1),
            outDim, inDim, rows, accumulate: true);
    }
}
