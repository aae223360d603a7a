using System.Numerics;
using ILGPU;
using ILGPU.Runtime;
using SimNpo.Kernels.Ilgpu;
using Floats = ILGPU.ArrayView<float>;

namespace SimNpo.Kernels;

/// <summary>
/// The whole log-softmax of each row: a frozen reference model's next-token distributions, kept as the targets of the
/// KL retain term. Written over the logits in place when output is the logits view.
/// </summary>
public static class LogSoftmax
{
    /// <summary>The CPU reference: the specification every device kernel of this op is held to. Rows run in parallel.</summary>
    public static class Reference
    {
        /// <summary>output[r, v] = logits[r, v] − logsumexp(logits[r, :]), the log-sum-exp in float64 and taken before any write.</summary>
        public static void Forward<T>(Memory<T> output, ReadOnlyMemory<T> logits, int vocab) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rows = ShapeCheck.Rows(logits.Length, vocab, nameof(logits));
            ShapeCheck.Length(output.Length, logits.Length, nameof(output));
            Parallel.For(0, rows, r =>
            {
                var row = logits.Span.Slice(r * vocab, vocab);
                var outputRow = output.Span.Slice(r * vocab, vocab);
                var lse = LogSoftmaxAtLabels.Reference.LogSumExp(row);
                for (var v = 0; v < vocab; v++) outputRow[v] = T.CreateTruncating(double.CreateTruncating(row[v]) - lse);
            });
        }
    }

    /// <summary>The device kernel, one group per row: the online softmax of <see cref="LogSoftmaxAtLabels.Ilgpu"/>, then a second pass that writes.</summary>
    public static class Ilgpu
    {
        /// <summary>The float32 kernel.</summary>
        public sealed class Launcher(Accelerator accelerator) : Launcher<float, Float32Words>(accelerator);

        public class Launcher<TWord, TStored>(Accelerator accelerator)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            private readonly Action<KernelConfig, ArrayView<TWord>, ArrayView<TWord>, int> _forward =
                accelerator.LoadStreamKernel<ArrayView<TWord>, ArrayView<TWord>, int>(ForwardKernel<TWord, TStored>);

            /// <inheritdoc cref="Reference.Forward{T}"/>
            public void Forward(ArrayView<TWord> output, ArrayView<TWord> logits, int vocab)
            {
                var rows = ShapeCheck.Rows((int)logits.Length, vocab, nameof(logits));
                ShapeCheck.Length((int)output.Length, (int)logits.Length, nameof(output));
                if (rows > 0) _forward(new KernelConfig(rows, LossReduction.RowGroupSize(accelerator, vocab)), output, logits, vocab);
            }
        }

        /// <summary>
        /// In place is safe: every read of the first pass happens before the reduction's barrier, and in the second pass each
        /// thread rewrites only the elements it reads.
        /// </summary>
        private static void ForwardKernel<TWord, TStored>(ArrayView<TWord> output, ArrayView<TWord> logits, int vocab)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var stored = default(TStored);
            var start = (long)Grid.IdxX * vocab;
            var softmax = OnlineSoftmax.Empty;
            for (var j = Group.IdxX; j < vocab; j += Group.DimX) softmax.Add(stored.Load(logits, start + j));
            var total = LossReduction.AllReduce(softmax);
            for (var j = Group.IdxX; j < vocab; j += Group.DimX) stored.Store(output, start + j, total.LogSoftmax(stored.Load(logits, start + j)));
        }
    }
}
