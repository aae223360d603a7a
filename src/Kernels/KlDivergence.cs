using System.Numerics;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using SimNpo.Kernels.Ilgpu;
using Floats = ILGPU.ArrayView<float>;

namespace SimNpo.Kernels;

/// <summary>
/// KL(target ‖ softmax(logits)) per row, the retain term that keeps a model's next-token distributions near a frozen
/// reference's. The target comes as log-probabilities (the reference's log-softmax); like <see cref="LogSoftmaxAtLabels"/>, the
/// backward writes the logits' gradient over the logits and the model's softmax is never stored.
/// </summary>
public static class KlDivergence
{
    /// <summary>The CPU reference: the specification every device kernel of this op is held to. Rows run in parallel.</summary>
    public static class Reference
    {
        /// <summary>
        /// kl[r] = Σ_v exp(t_v)·(t_v − (logits_v − logSumExp[r])) in float64, with the log-sum-exp kept for the backward.
        /// A target probability of 0 adds nothing (0·log 0 = 0), even for t = −∞.
        /// </summary>
        public static void Forward<T>(Memory<T> kl, Memory<T> logSumExp, ReadOnlyMemory<T> logits, ReadOnlyMemory<T> targetLogProbs, int vocab)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rows = CheckShapes(logits.Length, targetLogProbs.Length, logSumExp.Length, vocab);
            ShapeCheck.Length(kl.Length, rows, nameof(kl));
            Parallel.For(0, rows, r =>
            {
                var row = logits.Span.Slice(r * vocab, vocab);
                var target = targetLogProbs.Span.Slice(r * vocab, vocab);
                var lse = LogSoftmaxAtLabels.Reference.LogSumExp(row);
                var sum = 0.0;
                for (var v = 0; v < vocab; v++)
                {
                    var t = double.CreateTruncating(target[v]);
                    var p = Math.Exp(t);
                    if (p > 0) sum += p * (t - double.CreateTruncating(row[v]) + lse);
                }
                logSumExp.Span[r] = T.CreateTruncating(lse);
                kl.Span[r] = T.CreateTruncating(sum);
            });
        }

        /// <summary>
        /// logitsGrad[r, v] = rowWeight[r]·(softmax_v − exp(t_v)), overwriting, not adding: logitsGrad may be the logits
        /// themselves, each element being read just before it is replaced.
        /// </summary>
        public static void Backward<T>(Memory<T> logitsGrad, ReadOnlyMemory<T> logits, ReadOnlyMemory<T> logSumExp, ReadOnlyMemory<T> targetLogProbs,
            ReadOnlyMemory<T> rowWeight, int vocab)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rows = CheckShapes(logits.Length, targetLogProbs.Length, logSumExp.Length, vocab);
            ShapeCheck.Length(logitsGrad.Length, logits.Length, nameof(logitsGrad));
            ShapeCheck.Length(rowWeight.Length, rows, nameof(rowWeight));
            Parallel.For(0, rows, r =>
            {
                var row = logits.Span.Slice(r * vocab, vocab);
                var target = targetLogProbs.Span.Slice(r * vocab, vocab);
                var gradRow = logitsGrad.Span.Slice(r * vocab, vocab);
                var lse = double.CreateTruncating(logSumExp.Span[r]);
                var weight = double.CreateTruncating(rowWeight.Span[r]);
                for (var v = 0; v < vocab; v++)
                {
                    var probability = Math.Exp(double.CreateTruncating(row[v]) - lse);
                    gradRow[v] = T.CreateTruncating(weight * (probability - Math.Exp(double.CreateTruncating(target[v]))));
                }
            });
        }
    }

    internal static int CheckShapes(int logitsLength, int targetLength, int logSumExpLength, int vocab)
    {
        var rows = ShapeCheck.Rows(logitsLength, vocab, "logits");
        ShapeCheck.Length(targetLength, logitsLength, "targetLogProbs");
        ShapeCheck.Length(logSumExpLength, rows, "logSumExp");
        return rows;
    }

    /// <summary>
    /// The device kernels, one group per row. The forward reads logits and targets once: with p = exp(t), the divergence
    /// Σ p·(t − x + lse) is gathered as Σ p·(t − (x − x₀)) + (lse − x₀)·Σ p, both sums in float32 per thread next to the
    /// online softmax. The pivot x₀ (the row's first logit) keeps the terms the size of the logits' spread rather than of
    /// their offset, which would otherwise cancel between the two sums.
    /// </summary>
    public static class Ilgpu
    {
        /// <summary>The float32 kernels.</summary>
        public sealed class Launcher(Accelerator accelerator) : Launcher<float, Float32Words>(accelerator);

        public class Launcher<TWord, TStored>(Accelerator accelerator)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            private readonly Action<KernelConfig, Floats, Floats, ArrayView<TWord>, ArrayView<TWord>, int> _forward =
                accelerator.LoadStreamKernel<Floats, Floats, ArrayView<TWord>, ArrayView<TWord>, int>(ForwardKernel<TWord, TStored>);

            private readonly Action<KernelConfig, ArrayView<TWord>, ArrayView<TWord>, Floats, ArrayView<TWord>, Floats, int> _backward =
                accelerator.LoadStreamKernel<ArrayView<TWord>, ArrayView<TWord>, Floats, ArrayView<TWord>, Floats, int>(BackwardKernel<TWord, TStored>);

            /// <inheritdoc cref="Reference.Forward{T}"/>
            public void Forward(Floats kl, Floats logSumExp, ArrayView<TWord> logits, ArrayView<TWord> targetLogProbs, int vocab)
            {
                var rows = CheckShapes((int)logits.Length, (int)targetLogProbs.Length, (int)logSumExp.Length, vocab);
                ShapeCheck.Length((int)kl.Length, rows, nameof(kl));
                if (rows > 0) _forward(new KernelConfig(rows, LossReduction.RowGroupSize(accelerator, vocab)), kl, logSumExp, logits, targetLogProbs, vocab);
            }

            /// <inheritdoc cref="Reference.Backward{T}"/>
            public void Backward(ArrayView<TWord> logitsGrad, ArrayView<TWord> logits, Floats logSumExp, ArrayView<TWord> targetLogProbs, Floats rowWeight,
                int vocab)
            {
                var rows = CheckShapes((int)logits.Length, (int)targetLogProbs.Length, (int)logSumExp.Length, vocab);
                ShapeCheck.Length((int)logitsGrad.Length, (int)logits.Length, nameof(logitsGrad));
                ShapeCheck.Length((int)rowWeight.Length, rows, nameof(rowWeight));
                if (rows > 0)
                    _backward(new KernelConfig(rows, LossReduction.RowGroupSize(accelerator, vocab)), logitsGrad, logits, logSumExp, targetLogProbs, rowWeight,
                        vocab);
            }
        }

        /// <summary>One thread's share of a row: the online softmax of the logits, Σ p·(t − x) and the target mass Σ p.</summary>
        private struct Partial(OnlineSoftmax softmax, float cross, float mass) : IGroupMergeable<Partial>
        {
            public OnlineSoftmax Softmax = softmax;
            public float Cross = cross;
            public float Mass = mass;

            public readonly Partial Merge(Partial other) => new(Softmax.Merge(other.Softmax), Cross + other.Cross, Mass + other.Mass);

            public readonly Partial ShuffleXor(int laneMask) =>
                new(Softmax.ShuffleXor(laneMask), Warp.ShuffleXor(Cross, laneMask), Warp.ShuffleXor(Mass, laneMask));
        }

        /// <summary>A target probability of 0 adds nothing, even for t = −∞ (where p·(t − x) would be 0·−∞).</summary>
        private static void ForwardKernel<TWord, TStored>(Floats kl, Floats logSumExp, ArrayView<TWord> logits, ArrayView<TWord> targetLogProbs, int vocab)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var stored = default(TStored);
            var row = Grid.IdxX;
            var start = (long)row * vocab;
            var pivot = stored.Load(logits, start);
            var partial = new Partial(OnlineSoftmax.Empty, 0, 0);
            for (var j = Group.IdxX; j < vocab; j += Group.DimX)
            {
                var (x, t) = (stored.Load(logits, start + j), stored.Load(targetLogProbs, start + j));
                partial.Softmax.Add(x);
                var p = XMath.Exp(t);
                if (p > 0)
                {
                    partial.Cross += p * (t - (x - pivot));
                    partial.Mass += p;
                }
            }
            var total = LossReduction.AllReduce(partial);
            if (Group.IsFirstThread)
            {
                logSumExp[row] = total.Softmax.LogSumExp;
                kl[row] = total.Cross - total.Softmax.LogSoftmax(pivot) * total.Mass;
            }
        }

        /// <summary>Each thread reads an element just before it replaces it, so logitsGrad may be the logits.</summary>
        private static void BackwardKernel<TWord, TStored>(ArrayView<TWord> logitsGrad, ArrayView<TWord> logits, Floats logSumExp,
            ArrayView<TWord> targetLogProbs,
            Floats rowWeight, int vocab)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var stored = default(TStored);
            var row = Grid.IdxX;
            var start = (long)row * vocab;
            var (lse, weight) = (logSumExp[row], rowWeight[row]);
            for (var j = Group.IdxX; j < vocab; j += Group.DimX)
                stored.Store(logitsGrad, start + j,
                    weight * (XMath.Exp(stored.Load(logits, start + j) - lse) - XMath.Exp(stored.Load(targetLogProbs, start + j))));
        }
    }
}
