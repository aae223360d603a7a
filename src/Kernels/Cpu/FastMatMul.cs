using System.Buffers;

namespace SimNpo.Kernels.Cpu;

/// <summary>
/// The linear layer's three products on the CPU through one packed, cache-blocked float32 GEMM, C (+)= A·B, each operand
/// read through its own row and column strides so a transpose costs nothing but the packing. Same semantics as
/// <see cref="MatMul.Reference"/>, but the weight gradient is summed in float32 like the other two products. Operands are
/// float32 arrays, or host views stored as float32 or bfloat16 (each its own: the fused loss multiplies float32 logits by
/// bfloat16 weights); a bfloat16 result is rounded once from its float32 sum.
/// </summary>
public static unsafe class FastMatMul
{
    /// <summary>"AVX2+FMA" where the register-blocked micro-kernel runs, else "portable".</summary>
    public static string InstructionSet => MicroKernel.InstructionSet;

    /// <summary>output[rows, outDim] = input[rows, inDim] · weightᵀ, weight [outDim, inDim].</summary>
    public static void Forward(Memory<float> output, ReadOnlyMemory<float> input, ReadOnlyMemory<float> weight, int rows, int inDim, int outDim)
    {
        MatMul.CheckShapes(output.Length, input.Length, weight.Length, rows, inDim, outDim);
        using Pinned y = new(output), x = new(input), w = new(weight);
        Forward(y, x, w, rows, inDim, outDim);
    }

    /// <summary><see cref="Forward(Memory{float}, ReadOnlyMemory{float}, ReadOnlyMemory{float}, int, int, int)"/> on host views of any storage.</summary>
    public static void Forward(View<float> output, View<float> input, View<float> weight, int rows, int inDim, int outDim)
    {
        MatMul.CheckShapes(output.Length, input.Length, weight.Length, rows, inDim, outDim);
        using Pinned y = new(output), x = new(input), w = new(weight);
        Forward(y, x, w, rows, inDim, outDim);
    }

    /// <summary>inputGrad += outputGrad · weight; weightGrad += outputGradᵀ · input.</summary>
    public static void Backward(Memory<float> inputGrad, Memory<float> weightGrad, ReadOnlyMemory<float> outputGrad, ReadOnlyMemory<float> input,
        ReadOnlyMemory<float> weight, int rows, int inDim, int outDim)
    {
        MatMul.CheckBackwardShapes(inputGrad.Length, weightGrad.Length, outputGrad.Length, input.Length, weight.Length, rows, inDim, outDim);
        using Pinned dx = new(inputGrad), dw = new(weightGrad), dy = new(outputGrad), x = new(input), w = new(weight);
        Backward(dx, dw, dy, x, w, rows, inDim, outDim);
    }

    /// <summary>The backward on host views of any storage.</summary>
    public static void Backward(View<float> inputGrad, View<float> weightGrad, View<float> outputGrad, View<float> input, View<float> weight,
        int rows, int inDim, int outDim)
    {
        MatMul.CheckBackwardShapes(inputGrad.Length, weightGrad.Length, outputGrad.Length, input.Length, weight.Length, rows, inDim, outDim);
        using Pinned dx = new(inputGrad), dw = new(weightGrad), dy = new(outputGrad), x = new(input), w = new(weight);
        Backward(dx, dw, dy, x, w, rows, inDim, outDim);
    }

    private static void Forward(Pinned output, Pinned input, Pinned weight, int rows, int inDim, int outDim) =>
        // A = input [M = rows, K = inDim]; B[k, n] = weight[n, k].
        Gemm.Multiply(output.Operand(outDim, 1), input.Operand(inDim, 1), weight.Operand(1, inDim), rows, outDim, inDim, accumulate: false);

    private static void Backward(Pinned inputGrad, Pinned weightGrad, Pinned outputGrad, Pinned input, Pinned weight, int rows, int inDim, int outDim)
    {
        // A = outputGrad [M = rows, K = outDim]; B = weight [K = outDim, N = inDim].
        Gemm.Multiply(inputGrad.Operand(inDim, 1), outputGrad.Operand(outDim, 1), weight.Operand(inDim, 1), rows, inDim, outDim, accumulate: true);
        // A[o, r] = outputGrad[r, o], [M = outDim, K = rows]; B = input [K = rows, N = inDim].
        Gemm.Multiply(weightGrad.Operand(inDim, 1), outputGrad.Operand(1, outDim), input.Operand(inDim, 1), outDim, inDim, rows, accumulate: true);
    }

    /// <summary>A matrix's words pinned for one call, with their storage.</summary>
    private readonly struct Pinned : IDisposable
    {
        private readonly MemoryHandle _handle;
        private readonly Storage _storage;

        public Pinned(ReadOnlyMemory<float> floats) => (_handle, _storage) = (floats.Pin(), Storage.Native);

        public Pinned(View<float> view) => (_handle, _storage) = view.Storage == Storage.Native
            ? (view.Memory.Pin(), Storage.Native)
            : (view.Bits().Pin(), Storage.BFloat16);

        public Gemm.Operand Operand(int rowStride, int columnStride) => new(_handle.Pointer, _storage, rowStride, columnStride);

        public void Dispose() => _handle.Dispose();
    }
}
