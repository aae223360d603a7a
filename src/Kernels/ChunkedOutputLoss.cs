using System.Numerics;
using ILGPU;
using ILGPU.Runtime;
using SimNpo.Kernels.Ilgpu;
using Floats = ILGPU.ArrayView<float>;
using Ints = ILGPU.ArrayView<int>;
using Words = ILGPU.ArrayView<ushort>;

namespace SimNpo.Kernels;

/// <summary>
/// The output projection fused with the log-softmax at the labels, in vocabulary chunks, so the [rows, vocab] logits are
/// never stored: for hidden states [rows, dim] and the output weight [vocab, dim], a chunk's logits [rows, chunk] live in a
/// scratch only while that chunk is merged into each row's log-sum-exp (forward), or turned into its logit gradient and
/// multiplied back into the hidden states' and the chunk's weight gradients (backward, which recomputes them). It equals
/// <see cref="MatMul"/> followed by <see cref="LogSoftmaxAtLabels"/>; a chunk of the vocabulary is a contiguous block of the
/// weight's rows, so each chunk is one matmul. For 8×512 scored rows and a 128256 vocabulary the logits take 2 GiB in
/// float32; chunks of 4096 take 64 MiB.
/// </summary>
public static class ChunkedOutputLoss
{
    /// <summary>The scratch a call needs: one chunk's logits for every row, and a running sum per row (the device's).</summary>
    public static int ScratchLength(int rows, int vocab, int chunk) => rows * (ChunkWidth(vocab, chunk) + 1);

    internal static int ChunkWidth(int vocab, int chunk) =>
        chunk > 0 ? Math.Min(chunk, vocab) : throw new ArgumentOutOfRangeException(nameof(chunk), $"chunk {chunk} is not positive");

    internal static void CheckShapes(int logitsScratchLength, int hiddenLength, int weightLength, int labelsLength, int logSumExpLength,
        int rows, int dim, int vocab, int chunk)
    {
        ShapeCheck.Length(hiddenLength, rows * dim, "hidden");
        ShapeCheck.Length(weightLength, vocab * dim, "weight");
        ShapeCheck.Length(labelsLength, rows, "labels");
        ShapeCheck.Length(logSumExpLength, rows, "logSumExp");
        ShapeCheck.Length(logitsScratchLength, ScratchLength(rows, vocab, chunk), "logitsScratch");
    }

    /// <summary>The lm_head bias, if any, has one element per logit; the backward takes it and its gradient together or neither.</summary>
    internal static void CheckBias(int? bias, int? biasGrad, int vocab, bool backward)
    {
        if (bias is { } length) ShapeCheck.Length(length, vocab, "bias");
        if (!backward) return;
        if (bias.HasValue != biasGrad.HasValue)
            throw new ArgumentException("bias and biasGrad are given together (a head with a bias) or both null", nameof(biasGrad));
        if (biasGrad is { } gradLength) ShapeCheck.Length(gradLength, vocab, "biasGrad");
    }

    internal static void CheckLabels(ReadOnlySpan<int> labels, int vocab)
    {
        foreach (var label in labels)
            if (label >= vocab) throw new ArgumentOutOfRangeException(nameof(labels), $"label {label} outside a vocabulary of {vocab}");
    }

    /// <summary>
    /// The CPU reference: the specification the device kernels are held to. Each chunk is <see cref="MatMul.Reference"/> on a
    /// slice of the weight (the same dot products as the unfused matmul), the log-sum-exps and gradients in float64 as in
    /// <see cref="LogSoftmaxAtLabels.Reference"/>; the running state stays in float64 across chunks.
    /// </summary>
    public static class Reference
    {
        /// <summary>
        /// logProb[r] = (hidden[r] · weightᵀ + bias)[labels[r]] − logSumExp[r], the log-sum-exp kept for the backward; both 0 for
        /// rows with a negative label. A null bias is none.
        /// </summary>
        public static void Forward<T>(Memory<T> logProb, Memory<T> logSumExp, Memory<T> logitsScratch, ReadOnlyMemory<T> hidden, ReadOnlyMemory<T> weight,
            ReadOnlyMemory<T>? bias, ReadOnlyMemory<int> labels, int rows, int dim, int vocab, int chunk)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            CheckShapes(logitsScratch.Length, hidden.Length, weight.Length, labels.Length, logSumExp.Length, rows, dim, vocab, chunk);
            CheckBias(bias?.Length, null, vocab, backward: false);
            ShapeCheck.Length(logProb.Length, rows, nameof(logProb));
            CheckLabels(labels.Span, vocab);
            var lse = Enumerable.Repeat(double.NegativeInfinity, rows).ToArray();
            var labelLogit = new double[rows];
            ForEachChunk(logitsScratch, hidden, weight, bias, rows, dim, vocab, chunk, (logits, first, width) => Parallel.For(0, rows, r =>
            {
                var label = labels.Span[r];
                if (label < 0) return;
                var row = logits.Span.Slice(r * width, width);
                lse[r] = LogAddExp(lse[r], LogSoftmaxAtLabels.Reference.LogSumExp<T>(row));
                if (label >= first && label < first + width) labelLogit[r] = double.CreateTruncating(row[label - first]);
            }));
            for (var r = 0; r < rows; r++)
            {
                var ignored = labels.Span[r] < 0;
                logSumExp.Span[r] = ignored ? T.Zero : T.CreateTruncating(lse[r]);
                logProb.Span[r] = ignored ? T.Zero : T.CreateTruncating(labelLogit[r] - lse[r]);
            }
        }

        /// <summary>
        /// hiddenGrad += dLogits · weight and weightGrad += dLogitsᵀ · hidden (adding, like every backward but the fused
        /// classifier's), with dLogits[r] = logProbGrad[r]·(onehot(labels[r]) − softmax) recomputed chunk by chunk, 0 for
        /// ignored rows; with a bias, biasGrad += Σ_r dLogits[r] (<see cref="Bias.Reference.Backward{T}"/> on the chunk).
        /// </summary>
        public static void Backward<T>(Memory<T> hiddenGrad, Memory<T> weightGrad, Memory<T> logitsScratch, ReadOnlyMemory<T> hidden, ReadOnlyMemory<T> weight,
            ReadOnlyMemory<T>? bias, Memory<T>? biasGrad, ReadOnlyMemory<T> logSumExp, ReadOnlyMemory<int> labels, ReadOnlyMemory<T> logProbGrad, int rows,
            int dim, int vocab, int chunk)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            CheckShapes(logitsScratch.Length, hidden.Length, weight.Length, labels.Length, logSumExp.Length, rows, dim, vocab, chunk);
            CheckBias(bias?.Length, biasGrad?.Length, vocab, backward: true);
            ShapeCheck.Length(hiddenGrad.Length, rows * dim, nameof(hiddenGrad));
            ShapeCheck.Length(weightGrad.Length, vocab * dim, nameof(weightGrad));
            ShapeCheck.Length(logProbGrad.Length, rows, nameof(logProbGrad));
            CheckLabels(labels.Span, vocab);
            ForEachChunk(logitsScratch, hidden, weight, bias, rows, dim, vocab, chunk, (logits, first, width) =>
            {
                Parallel.For(0, rows, r =>
                {
                    var gradRow = logits.Span.Slice(r * width, width);
                    var label = labels.Span[r];
                    if (label < 0) gradRow.Clear();
                    else LogSoftmaxAtLabels.Reference.RowGradient<T>(gradRow, gradRow, logSumExp.Span[r], logProbGrad.Span[r], label - first);
                });
                if (biasGrad is { } grad) Bias.Reference.Backward(grad.Span.Slice(first, width), logits.Span, width);
                MatMul.Reference.Backward(hiddenGrad, weightGrad.Slice(first * dim, width * dim), logits, hidden, weight.Slice(first * dim, width * dim),
                    rows, dim, width);
            });
        }

        /// <summary>
        /// Computes each chunk's logits [rows, width] into the scratch (the matmul, then the bias added as
        /// <see cref="Bias.Reference.Forward{T}"/> adds it, so they equal the unfused ops' bits), then hands them to
        /// <paramref name="useChunk"/> with the chunk's first column.
        /// </summary>
        private static void ForEachChunk<T>(Memory<T> logitsScratch, ReadOnlyMemory<T> hidden, ReadOnlyMemory<T> weight, ReadOnlyMemory<T>? bias, int rows,
            int dim, int vocab, int chunk, Action<Memory<T>, int, int> useChunk)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var chunkWidth = ChunkWidth(vocab, chunk);
            for (var first = 0; first < vocab; first += chunkWidth)
            {
                var width = Math.Min(chunkWidth, vocab - first);
                var logits = logitsScratch[..(rows * width)];
                MatMul.Reference.Forward(logits, hidden, weight.Slice(first * dim, width * dim), rows, dim, width);
                if (bias is { } b) Bias.Reference.Forward(logits.Span, b.Span.Slice(first, width), width);
                useChunk(logits, first, width);
            }
        }

        /// <summary>log(eᵃ + eᵇ) without overflow; a = −∞ (no chunk merged yet) gives b.</summary>
        private static double LogAddExp(double a, double b)
        {
            var max = Math.Max(a, b);
            return max + Math.Log(Math.Exp(a - max) + Math.Exp(b - max));
        }
    }

    /// <summary>
    /// The device version: per chunk, the linear layer's GEMM (the float32 SGEMM of <see cref="MatMul.Ilgpu"/>, or on bfloat16
    /// views <see cref="TensorCoreGemm"/>) into the float32 scratch, then one group per row merges the chunk into the row's
    /// running online softmax (forward) or writes the chunk's logit gradient over it (backward, <see cref="LogSoftmaxAtLabels"/>'s kernel
    /// restricted to the chunk's columns), which the SGEMM's two backward products carry into the gradients. Between chunks a row's
    /// state is its maximum (in logSumExp), its sum of exponentials (the scratch's last rows elements) and its label's logit
    /// (in logProb); the last chunk turns them into the results. Labels are trusted as in <see cref="LogSoftmaxAtLabels.Ilgpu"/>.
    /// An lm_head bias is added to each chunk's float32 logits after the GEMM (<see cref="Bias.Ilgpu"/>, the bias in the
    /// bulk storage), and its gradient is the column sum of the chunk's float32 logit gradient.
    /// </summary>
    public static class Ilgpu
    {
        /// <summary>
        /// The chunk's three products go through the linear layers' GEMMs, compiled once for the accelerator: the float32 SGEMM
        /// for float32 views, the bfloat16 one (<see cref="TensorCoreGemm"/> unless told otherwise) for bfloat16 views (logits
        /// kept in float32, the logit gradient stored in bfloat16 in a scratch of this launcher's own, as the backward products read it).
        /// </summary>
        public sealed class Launcher(Accelerator accelerator, MatMul.Ilgpu.Launcher matMul, Lazy<IBFloat16Gemm>? bf16Gemm = null,
            AllocatedBytes? allocated = null) : IDisposable
        {
            private readonly LogSoftmaxAtLabels.Ilgpu.Launcher _logSoftmaxAtLabels = new(accelerator);
            private readonly Lazy<IBFloat16Gemm> _bf16Gemm = bf16Gemm ?? new(() => new TensorCoreGemm.Launcher(accelerator));
            private readonly Scratch<ushort> _logitsGradWords = new(accelerator, allocated);

            private readonly Lazy<Bias.Ilgpu.Launcher<float, Float32Words>> _biasFloats = new(() => new(accelerator));
            private readonly Lazy<Bias.Ilgpu.Launcher<ushort, BFloat16Words>> _biasWords = new(() => new(accelerator));

            public void Dispose()
            {
                _logitsGradWords.Dispose();
                if (_biasFloats.IsValueCreated) _biasFloats.Value.Dispose();
                if (_biasWords.IsValueCreated) _biasWords.Value.Dispose();
            }

            private readonly Action<KernelConfig, Floats, Floats, Floats, Floats, Ints, int, int, int> _mergeChunk =
                accelerator.LoadStreamKernel<Floats, Floats, Floats, Floats, Ints, int, int, int>(MergeChunkKernel);

            private readonly Action<KernelConfig, Words, Floats, Floats, Ints, Floats, int, int> _chunkGradientWords =
                accelerator.LoadStreamKernel<Words, Floats, Floats, Ints, Floats, int, int>(ChunkGradientWordsKernel);

            /// <inheritdoc cref="Reference.Forward{T}"/>
            public void Forward(Floats logProb, Floats logSumExp, Floats logitsScratch, Floats hidden, Floats weight, Floats? bias, Ints labels, int rows,
                int dim, int vocab, int chunk)
            {
                CheckShapes((int)logitsScratch.Length, (int)hidden.Length, (int)weight.Length, (int)labels.Length, (int)logSumExp.Length, rows, dim, vocab,
                    chunk);
                CheckBias((int?)bias?.Length, null, vocab, backward: false);
                Merge(logProb, logSumExp, logitsScratch, labels, rows, vocab, chunk, FloatLogits(hidden, weight, bias, rows, dim));
            }

            /// <summary>The forward on bfloat16 hidden states and weight, the chunk's logits summed and kept in float32.</summary>
            public void Forward(Floats logProb, Floats logSumExp, Floats logitsScratch, Words hidden, Words weight, Words? bias, Ints labels, int rows,
                int dim, int vocab, int chunk)
            {
                CheckShapes((int)logitsScratch.Length, (int)hidden.Length, (int)weight.Length, (int)labels.Length, (int)logSumExp.Length, rows, dim, vocab,
                    chunk);
                CheckBias((int?)bias?.Length, null, vocab, backward: false);
                Merge(logProb, logSumExp, logitsScratch, labels, rows, vocab, chunk, WordLogits(hidden, weight, bias, rows, dim));
            }

            /// <summary>A chunk's float32 logits from float32 views: the SGEMM, then the bias.</summary>
            private Action<Floats, int, int> FloatLogits(Floats hidden, Floats weight, Floats? bias, int rows, int dim) => (logits, first, width) =>
            {
                matMul.Forward(logits, hidden, weight.SubView((long)first * dim, (long)width * dim), rows, dim, width);
                if (bias is { } b) _biasFloats.Value.ForwardOnFloats(logits, b.SubView(first, width), width);
            };

            /// <summary>A chunk's float32 logits from bfloat16 views: the bfloat16 GEMM, then the bias.</summary>
            private Action<Floats, int, int> WordLogits(Words hidden, Words weight, Words? bias, int rows, int dim) => (logits, first, width) =>
            {
                _bf16Gemm.Value.Forward(logits, hidden, weight.SubView((long)first * dim, (long)width * dim), rows, dim, width);
                if (bias is { } b) _biasWords.Value.ForwardOnFloats(logits, b.SubView(first, width), width);
            };

            /// <inheritdoc cref="Reference.Backward{T}"/>
            public void Backward(Floats hiddenGrad, Floats weightGrad, Floats logitsScratch, Floats hidden, Floats weight, Floats? bias, Floats? biasGrad,
                Floats logSumExp, Ints labels, Floats logProbGrad, int rows, int dim, int vocab, int chunk)
            {
                CheckBackwardShapes((int)hiddenGrad.Length, (int)weightGrad.Length, (int)logitsScratch.Length, (int)hidden.Length, (int)weight.Length,
                    (int)logSumExp.Length, (int)labels.Length, (int)logProbGrad.Length, rows, dim, vocab, chunk);
                CheckBias((int?)bias?.Length, (int?)biasGrad?.Length, vocab, backward: true);
                if (rows == 0) return;
                ForEachChunk(logitsScratch, rows, vocab, chunk, FloatLogits(hidden, weight, bias, rows, dim),
                    (logits, first, width) =>
                    {
                        _logSoftmaxAtLabels.BackwardColumns(logits, logits, logSumExp, labels, logProbGrad, width, first);
                        if (biasGrad is { } grad) _biasFloats.Value.BackwardFromFloats(grad.SubView(first, width), logits, width);
                        var (offset, length) = ((long)first * dim, (long)width * dim);
                        matMul.Backward(hiddenGrad, weightGrad.SubView(offset, length), logits, hidden, weight.SubView(offset, length), rows, dim, width);
                    });
            }

            /// <summary>
            /// The backward on bfloat16 views: each chunk's logit gradient is computed in float32 from the float32 logits and
            /// stored once in bfloat16, then both products accumulate into the bfloat16 gradients with float32 sums. The float32
            /// gradient is also written over the logits, where the bias's column sums read it.
            /// </summary>
            public void Backward(Words hiddenGrad, Words weightGrad, Floats logitsScratch, Words hidden, Words weight, Words? bias, Words? biasGrad,
                Floats logSumExp, Ints labels, Floats logProbGrad, int rows, int dim, int vocab, int chunk)
            {
                CheckBackwardShapes((int)hiddenGrad.Length, (int)weightGrad.Length, (int)logitsScratch.Length, (int)hidden.Length, (int)weight.Length,
                    (int)logSumExp.Length, (int)labels.Length, (int)logProbGrad.Length, rows, dim, vocab, chunk);
                CheckBias((int?)bias?.Length, (int?)biasGrad?.Length, vocab, backward: true);
                if (rows == 0) return;
                var gradWords = LogitsGradWords(rows * ChunkWidth(vocab, chunk));
                ForEachChunk(logitsScratch, rows, vocab, chunk, WordLogits(hidden, weight, bias, rows, dim),
                    (logits, first, width) =>
                    {
                        var logitsGrad = gradWords.SubView(0, (long)rows * width);
                        _chunkGradientWords(new KernelConfig(rows, LossReduction.RowGroupSize(accelerator, width)), logitsGrad, logits, logSumExp, labels,
                            logProbGrad, width, first);
                        if (biasGrad is { } grad) _biasWords.Value.BackwardFromFloats(grad.SubView(first, width), logits, width);
                        var (offset, length) = ((long)first * dim, (long)width * dim);
                        _bf16Gemm.Value.Backward(hiddenGrad, weightGrad.SubView(offset, length), logitsGrad, hidden, weight.SubView(offset, length), rows, dim,
                            width);
                    });
            }

            /// <summary>Per chunk: its logits into the scratch (<paramref name="multiply"/>), then one group per row merges them into the row's running
            /// softmax.</summary>
            private void Merge(Floats logProb, Floats logSumExp, Floats logitsScratch, Ints labels, int rows, int vocab, int chunk,
                Action<Floats, int, int> multiply)
            {
                ShapeCheck.Length((int)logProb.Length, rows, nameof(logProb));
                if (rows == 0) return;
                var runningSum = logitsScratch.SubView((long)rows * ChunkWidth(vocab, chunk), rows);
                ForEachChunk(logitsScratch, rows, vocab, chunk, multiply, (logits, first, width) =>
                    _mergeChunk(new KernelConfig(rows, LossReduction.RowGroupSize(accelerator, width)), logProb, logSumExp, runningSum, logits, labels,
                        first, width, vocab));
            }

            /// <summary>The bfloat16 logit gradient's scratch, grown to the largest chunk asked for and kept.</summary>
            private Words LogitsGradWords(int length) => _logitsGradWords.View(length);

            private static void ForEachChunk(Floats logitsScratch, int rows, int vocab, int chunk, Action<Floats, int, int> multiply,
                Action<Floats, int, int> useChunk)
            {
                var chunkWidth = ChunkWidth(vocab, chunk);
                for (var first = 0; first < vocab; first += chunkWidth)
                {
                    var width = Math.Min(chunkWidth, vocab - first);
                    var logits = logitsScratch.SubView(0, (long)rows * width);
                    multiply(logits, first, width);
                    useChunk(logits, first, width);
                }
            }

            private static void CheckBackwardShapes(int hiddenGrad, int weightGrad, int logitsScratch, int hidden, int weight, int logSumExp, int labels,
                int logProbGrad, int rows, int dim, int vocab, int chunk)
            {
                CheckShapes(logitsScratch, hidden, weight, labels, logSumExp, rows, dim, vocab, chunk);
                ShapeCheck.Length(hiddenGrad, rows * dim, nameof(hiddenGrad));
                ShapeCheck.Length(weightGrad, vocab * dim, nameof(weightGrad));
                ShapeCheck.Length(logProbGrad, rows, nameof(logProbGrad));
            }
        }

        /// <summary>
        /// The chunk's logit gradient (<see cref="LogSoftmaxAtLabels.Ilgpu"/>'s, over columns [first, first + width)), computed in
        /// float32 and stored as bfloat16 words for the tensor-core products, and as float32 over the logits (each thread
        /// overwrites only the logits it has read).
        /// </summary>
        private static void ChunkGradientWordsKernel(Words logitsGrad, Floats logits, Floats logSumExp, Ints labels, Floats logProbGrad, int width, int first)
        {
            var row = Grid.IdxX;
            var start = (long)row * width;
            var label = labels[row];
            var (lse, g) = (logSumExp[row], logProbGrad[row]);
            for (var j = Group.IdxX; j < width; j += Group.DimX)
            {
                var gradient = label < 0 ? 0f : LogSoftmaxAtLabels.Ilgpu.LogitGradient(logits[start + j], lse, g, j == label - first);
                logitsGrad[start + j] = BFloat16.FromFloat(gradient);
                logits[start + j] = gradient;
            }
        }

        /// <summary>
        /// Merges the chunk of columns [first, first + width) of the vocabulary, logits [rows, width]. The whole group skips an
        /// ignored row together, as in <see cref="LogSoftmaxAtLabels"/>'s forward.
        /// </summary>
        private static void MergeChunkKernel(Floats logProb, Floats logSumExp, Floats runningSum, Floats logits, Ints labels, int first, int width, int vocab)
        {
            var row = Grid.IdxX;
            var label = labels[row];
            if (label < 0)
            {
                if (Group.IsFirstThread) logProb[row] = logSumExp[row] = 0;
                return;
            }
            var start = (long)row * width;
            var softmax = OnlineSoftmax.Empty;
            for (var j = Group.IdxX; j < width; j += Group.DimX) softmax.Add(logits[start + j]);
            var chunk = LossReduction.AllReduce(softmax);
            if (!Group.IsFirstThread) return;
            var running = first == 0 ? chunk : new OnlineSoftmax(logSumExp[row], runningSum[row]).Merge(chunk);
            if (label >= first && label < first + width) logProb[row] = logits[start + label - first];
            if (first + width == vocab)
            {
                logSumExp[row] = running.LogSumExp;
                logProb[row] = running.LogSoftmax(logProb[row]);
            }
            else (logSumExp[row], runningSum[row]) = (running.Max, running.SumExp);
        }
    }
}
