using ILGPU;
using ILGPU.Runtime;

namespace SimNpo.Kernels.Ilgpu;

/// <summary>
/// <see cref="Attention"/> for bfloat16 q, k, v, output and gradients (log-sum-exp float32), with
/// <see cref="Attention.Reference"/> as the specification: causal, right padding, GQA, QueryStart, sliding window.
/// On warps of 32 with head dimensions that are multiples of 16 up to 128 (Llama's 64 and 128 among them) it runs
/// FlashAttention-2 on the tensor cores (bf16 mma.sync m16n8k16, float32 accumulation, online softmax in float32;
/// AttentionBf16Forward.cs, AttentionBf16Backward.cs). Every other shape widens its tensors into private float32
/// scratch, runs the float32 kernels of <see cref="Attention.Ilgpu"/> and rounds the results back: the same arithmetic
/// in float32 with one rounding per stored value.
/// </summary>
public static partial class AttentionBf16
{
    /// <summary>Keys per block of the forward and dQ passes up to head dimension 64.</summary>
    private const int NarrowKeys = 64;

    /// <summary>The same from head dimension 80 to 128, where two 16×64 output tiles per warp and 48 KB of shared memory leave room for 32.</summary>
    private const int WideKeys = 32;

    /// <summary>Query rows per block of the dK/dV pass from head dimension 80 on: 16 keeps its four 16×128 gradient tiles, Sᵀ and dPᵀ within 255
    /// registers.</summary>
    private const int WideQueries = 16;

    /// <summary>The same up to head dimension 64: with 64 rows its Sᵀ and dPᵀ (16×64 each) beside the dK and dV tiles spilled 80 bytes (ptxas sm_90); 32
    /// spill none.</summary>
    private const int NarrowQueries = 32;

    private const int MaxWarps = 4;

    /// <summary>The <see cref="PtxTiles"/> register tiles of the kernels: scores (S or Sᵀ), dP, the output or gradient tiles (dims 0–63, 64–127),
    /// dV's.</summary>
    private const int ScoreRegisters = 0, ProductRegisters = 1, LowRegisters = 2, HighRegisters = 3, ValueLowRegisters = 4, ValueHighRegisters = 5;

    /// <summary>Whether a shape runs on the tensor cores of an accelerator (otherwise: float32 kernels on widened copies).</summary>
    public static bool UsesTensorCores(Accelerator accelerator, int headDim) =>
        accelerator.WarpSize == 32 && headDim > 0 && headDim % 16 == 0 && headDim <= 128;

    /// <summary>The kernels of one accelerator, compiled once: create one per accelerator and keep it.</summary>
    public sealed class Launcher(Accelerator accelerator, Attention.Ilgpu.Launcher float32, Conversion.Ilgpu.Launcher conversion) : IDisposable
    {
        private delegate void Forwards(AcceleratorStream stream, KernelConfig config, ArrayView<ushort> output, ArrayView<float> logSumExp,
            ArrayView<ushort> q, ArrayView<ushort> k, ArrayView<ushort> v, ArrayView<int> lengths, AttentionShape shape, float scale);

        private delegate void QueryGrads(AcceleratorStream stream, KernelConfig config, ArrayView<ushort> qGrad, ArrayView<ushort> outputGrad,
            ArrayView<ushort> q, ArrayView<ushort> k, ArrayView<ushort> v, ArrayView<float> logSumExp, ArrayView<float> delta, ArrayView<int> lengths,
            AttentionShape shape, float scale);

        private delegate void KeyValueGrads(AcceleratorStream stream, KernelConfig config, ArrayView<ushort> kGrad, ArrayView<ushort> vGrad,
            ArrayView<ushort> outputGrad, ArrayView<ushort> q, ArrayView<ushort> k, ArrayView<ushort> v, ArrayView<float> logSumExp,
            ArrayView<float> delta, ArrayView<int> lengths, AttentionShape shape, float scale);

        private readonly Lazy<Forwards> _forward = new(() => Load<Forwards>(accelerator, ForwardKernel));
        private readonly Lazy<Forwards> _forwardWide = new(() => Load<Forwards>(accelerator, ForwardWideKernel));
        private readonly Lazy<QueryGrads> _queryGrad = new(() => Load<QueryGrads>(accelerator, QueryGradKernel));
        private readonly Lazy<QueryGrads> _queryGradWide = new(() => Load<QueryGrads>(accelerator, QueryGradWideKernel));
        private readonly Lazy<KeyValueGrads> _keyValueGrad = new(() => Load<KeyValueGrads>(accelerator, KeyValueGradKernel));
        private readonly Lazy<KeyValueGrads> _keyValueGradWide = new(() => Load<KeyValueGrads>(accelerator, KeyValueGradWideKernel));
        private readonly Lazy<Action<Index1D, ArrayView<float>, ArrayView<ushort>, ArrayView<ushort>, AttentionShape>> _rowDelta = new(() =>
            accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<ushort>, ArrayView<ushort>, AttentionShape>(RowDeltaKernel));
        private readonly Scratch<float> _scratch = new(accelerator);

        /// <summary>See <see cref="IOps{T}.Attention"/>: output and logSumExp are overwritten.</summary>
        public void Forward(ArrayView<ushort> output, ArrayView<float> logSumExp, ArrayView<ushort> q, ArrayView<ushort> k, ArrayView<ushort> v,
            ArrayView<int> lengths, AttentionShape shape)
        {
            Attention.CheckShapes((int)output.Length, (int)logSumExp.Length, (int)q.Length, (int)k.Length, (int)v.Length, (int)lengths.Length, shape);
            if (shape.Batch == 0 || shape.QueryLength == 0) return;
            if (!UsesTensorCores(accelerator, shape.HeadDim))
            {
                var (q32, k32, v32, output32) = Carve(Scratch(2 * q.Length + 2 * k.Length), q.Length, k.Length, k.Length, q.Length);
                Widen(q32, q);
                Widen(k32, k);
                Widen(v32, v);
                float32.Forward(output32, logSumExp, q32, k32, v32, lengths, shape);
                conversion.Narrow(output, output32);
                return;
            }
            var wide = shape.HeadDim > NarrowKeys;
            var keyTile = wide ? WideKeys : NarrowKeys;
            var warps = Warps(w => (16 * w + 2 * keyTile) * PaddedTile.Stride(shape.HeadDim), shape.QueryLength);
            (wide ? _forwardWide : _forward).Value(accelerator.DefaultStream, Config(shape.QueryLength, shape.Heads, shape.Batch, warps,
                (16 * warps + 2 * keyTile) * PaddedTile.Stride(shape.HeadDim)), output, logSumExp, q, k, v, lengths, shape, Scale(shape));
        }

        /// <summary>See <see cref="IOps{T}.AttentionBackward"/>: qGrad, kGrad and vGrad are added to.</summary>
        public void Backward(ArrayView<ushort> qGrad, ArrayView<ushort> kGrad, ArrayView<ushort> vGrad, ArrayView<ushort> outputGrad,
            ArrayView<ushort> q, ArrayView<ushort> k, ArrayView<ushort> v, ArrayView<ushort> output, ArrayView<float> logSumExp,
            ArrayView<int> lengths, AttentionShape shape)
        {
            Attention.CheckShapes((int)output.Length, (int)logSumExp.Length, (int)q.Length, (int)k.Length, (int)v.Length, (int)lengths.Length, shape);
            Attention.CheckGradientShapes((int)qGrad.Length, (int)kGrad.Length, (int)vGrad.Length, (int)outputGrad.Length, shape);
            if (shape.Batch == 0 || shape.QueryLength == 0 || shape.KeyLength == 0) return;
            if (!UsesTensorCores(accelerator, shape.HeadDim))
            {
                BackwardInFloat32(qGrad, kGrad, vGrad, outputGrad, q, k, v, output, logSumExp, lengths, shape);
                return;
            }
            var delta = Scratch(logSumExp.Length).SubView(0, logSumExp.Length);
            _rowDelta.Value((int)delta.Length, delta, outputGrad, output, shape);
            var (wide, stride, scale) = (shape.HeadDim > NarrowKeys, PaddedTile.Stride(shape.HeadDim), Scale(shape));
            var tile = wide ? WideKeys : NarrowKeys;

            var queryTile = wide ? WideQueries : NarrowQueries;
            var keyWarps = Warps(w => 2 * (16 * w + queryTile) * stride + 2 * queryTile, shape.KeyLength);
            var keyConfig = new KernelConfig(new Index3D((shape.KeyLength + 16 * keyWarps - 1) / (16 * keyWarps), shape.KvHeads, shape.Batch),
                new Index3D(keyWarps * 32, 1, 1), SharedMemoryConfig.RequestDynamic<uint>(2 * (16 * keyWarps + queryTile) * stride + 2 * queryTile));
            (wide ? _keyValueGradWide : _keyValueGrad).Value(accelerator.DefaultStream, keyConfig, kGrad, vGrad, outputGrad, q, k, v, logSumExp,
                delta, lengths, shape, scale);

            var queryWarps = Warps(w => 2 * (16 * w + tile) * stride, shape.QueryLength);
            (wide ? _queryGradWide : _queryGrad).Value(accelerator.DefaultStream, Config(shape.QueryLength, shape.Heads, shape.Batch, queryWarps,
                2 * (16 * queryWarps + tile) * stride), qGrad, outputGrad, q, k, v, logSumExp, delta, lengths, shape, scale);
        }

        /// <summary>Head dimensions the tensor-core kernels do not take: the float32 kernels on widened copies, gradients rounded once at the end.</summary>
        private void BackwardInFloat32(ArrayView<ushort> qGrad, ArrayView<ushort> kGrad, ArrayView<ushort> vGrad, ArrayView<ushort> outputGrad,
            ArrayView<ushort> q, ArrayView<ushort> k, ArrayView<ushort> v, ArrayView<ushort> output, ArrayView<float> logSumExp,
            ArrayView<int> lengths, AttentionShape shape)
        {
            var queryViews = Scratch(4 * q.Length + 4 * k.Length);
            var (q32, output32, outputGrad32, qGrad32) = Carve(queryViews, q.Length, q.Length, q.Length, q.Length);
            var (k32, v32, kGrad32, vGrad32) = Carve(queryViews.SubView(4 * q.Length), k.Length, k.Length, k.Length, k.Length);
            foreach (var (wide, words) in new[] { (q32, q), (output32, output), (outputGrad32, outputGrad), (qGrad32, qGrad), (k32, k), (v32, v),
                         (kGrad32, kGrad), (vGrad32, vGrad) })
                Widen(wide, words);
            float32.Backward(qGrad32, kGrad32, vGrad32, outputGrad32, q32, k32, v32, output32, logSumExp, lengths, shape);
            foreach (var (words, wide) in new[] { (qGrad, qGrad32), (kGrad, kGrad32), (vGrad, vGrad32) })
                conversion.Narrow(words, wide);
        }

        private void Widen(ArrayView<float> wide, ArrayView<ushort> words) => conversion.Widen(wide, words);

        /// <summary>Private float32 scratch, grown when a call needs more; its contents do not outlive a call.</summary>
        private ArrayView<float> Scratch(long length) => _scratch.View(length);

        private static (ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>) Carve(ArrayView<float> scratch,
            long first, long second, long third, long fourth) =>
            (scratch.SubView(0, first), scratch.SubView(first, second), scratch.SubView(first + second, third),
                scratch.SubView(first + second + third, fourth));

        /// <summary>
        /// Four warps of 16 rows each, or fewer where the shared memory (in words) of four does not fit, or where fewer
        /// cover all <paramref name="rows"/> (decoding: one).
        /// </summary>
        private int Warps(Func<int, int> sharedWords, int rows)
        {
            var most = Math.Min(Math.Min(MaxWarps, accelerator.MaxNumThreadsPerGroup / 32), (rows + 15) / 16);
            for (var warps = most; warps > 0; warps--)
                if (sharedWords(warps) * sizeof(uint) <= accelerator.MaxSharedMemoryPerGroup) return warps;
            throw new NotSupportedException(
                $"bf16 attention needs more than the {accelerator.MaxSharedMemoryPerGroup} bytes of shared memory of {accelerator.Name}");
        }

        /// <summary>A group per (16·warps query rows, head, sequence).</summary>
        private static KernelConfig Config(int queryLength, int heads, int batch, int warps, int sharedWords) =>
            new(new Index3D((queryLength + 16 * warps - 1) / (16 * warps), heads, batch), new Index3D(warps * 32, 1, 1),
                SharedMemoryConfig.RequestDynamic<uint>(sharedWords));

        private static float Scale(AttentionShape shape) => (float)(1 / Math.Sqrt(shape.HeadDim));

        private static TDelegate Load<TDelegate>(Accelerator accelerator, Delegate kernel) where TDelegate : Delegate =>
            accelerator.LoadKernel(kernel.Method).CreateLauncherDelegate<TDelegate>();

        public void Dispose() => _scratch.Dispose();
    }
}
