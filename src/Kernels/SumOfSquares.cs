using System.Numerics;
using ILGPU;
using ILGPU.Algorithms.ScanReduceOperations;
using ILGPU.Runtime;
using SimNpo.Kernels.Ilgpu;

namespace SimNpo.Kernels;

/// <summary>Σ x², the square of a gradient's norm (global clipping) and of a row's norm (RMSNorm).</summary>
public static class SumOfSquares
{
    /// <summary>The CPU reference: the specification every device kernel of this op is held to.</summary>
    public static class Reference
    {
        /// <summary>Accumulated in float64: a float32 sum over millions of parameters would lose the small ones.</summary>
        public static double Compute<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var sum = 0.0;
            foreach (var value in x)
            {
                var d = double.CreateTruncating(value);
                sum += d * d;
            }
            return sum;
        }
    }

    /// <summary>
    /// The device reduction, over either storage (widened to float32 on load). Each thread sums the squares of at most <see cref="ElementsPerThread"/> elements
    /// in float32
    /// (all terms are positive, so that partial is within 64·2⁻²⁴ ≈ 4e-6 of its exact value, relative); from there on
    /// everything is float64: the group reduction and one Atomic.Add per group into a single scalar, the only value
    /// copied back to the host.
    /// </summary>
    public static class Ilgpu
    {
        private const int ElementsPerThread = 64;

        public sealed class Launcher<TWord, TStored>(Accelerator accelerator) : IDisposable
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            private readonly Action<KernelConfig, ArrayView<TWord>, ArrayView<double>> _partialSums =
                accelerator.LoadStreamKernel<ArrayView<TWord>, ArrayView<double>>(PartialSumsKernel<TWord, TStored>);

            private readonly MemoryBuffer1D<double, Stride1D.Dense> _total = accelerator.Allocate1D<double>(1);

            public double Compute(ArrayView<TWord> x)
            {
                if (x.Length == 0) return 0;
                var group = GroupReduce.GroupSize(accelerator, (x.Length + ElementsPerThread - 1) / ElementsPerThread);
                var groups = (x.Length + (long)group * ElementsPerThread - 1) / ((long)group * ElementsPerThread);
                _total.View.MemSetToZero();
                _partialSums(new KernelConfig((int)groups, group), x, _total.View);
                var total = new double[1];
                _total.View.CopyToCPU(total);
                return total[0];
            }

            public void Dispose() => _total.Dispose();
        }

        /// <summary>Group g covers elements [g·DimX·K, (g+1)·DimX·K); consecutive threads read consecutive elements.</summary>
        private static void PartialSumsKernel<TWord, TStored>(ArrayView<TWord> x, ArrayView<double> total)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var stored = default(TStored);
            var start = (long)Grid.IdxX * Group.DimX * ElementsPerThread + Group.IdxX;
            var sum = 0f;
            for (var k = 0; k < ElementsPerThread; k++)
            {
                var i = start + (long)k * Group.DimX;
                if (i >= x.Length) continue;
                var value = stored.Load(x, i);
                sum += value * value;
            }
            var groupSum = GroupReduce.AllReduce<double, AddDouble>(sum);
            if (Group.IsFirstThread) Atomic.Add(ref total[0], groupSum);
        }
    }
}
