using System.Numerics;
using System.Numerics.Tensors;

namespace SimNpo.Kernels.Cpu;

/// <summary>
/// <see cref="Attention"/> on the CPU in float32, flash-attention style: queries and keys go in tiles of <see cref="Tile"/>,
/// the scores of one query tile against one key tile are the only scores that exist (no T×T matrix), the softmax is
/// online (a running maximum and sum per row, the output rescaled when the maximum grows), and the log-sum-exp is kept
/// for the backward, which recomputes the probabilities from it. Every tile product runs on the GEMM's micro-kernel with
/// the A operand read in place through its strides (query rows, probability tiles and their transposes) and the B operand
/// packed: keys and values once per head, queries and output gradients once per query tile. Parallel over (batch, head)
/// forward and (batch, kv head) backward, as the reference: each iteration owns everything it writes and sums in a fixed
/// order, so results do not depend on the schedule. Scratch is per thread (<see cref="ThreadScratch"/>).
/// q, k, v, the output and the gradients are float32 or bfloat16 (<typeparamref name="TFormat"/>), the log-sum-exps
/// float32: packing widens keys, values, queries and output gradients into the float32 panels, query and output-gradient
/// tiles read in place as A operands are widened into scratch first (read in place when float32), and each output row
/// and each gradient row (summed in float32 scratch over every tile and head that adds to it) is rounded once.
/// </summary>
internal static unsafe class FastAttention<TWord, TFormat> where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
{
    /// <summary>Query rows and keys per tile: whole micro-tiles both as rows (6) and as columns (16) of the tile products.</summary>
    private const int Tile = 48;

    private const int Panel = MicroKernel.Columns;

    /// <summary>The memory pinned for one call, released together at its end.</summary>
    private sealed class Pins : IDisposable
    {
        private readonly List<System.Buffers.MemoryHandle> _handles = [];

        public T* Of<T>(ReadOnlyMemory<T> memory) where T : unmanaged
        {
            var handle = memory.Pin();
            _handles.Add(handle);
            return (T*)handle.Pointer;
        }

        public void Dispose() => _handles.ForEach(handle => handle.Dispose());
    }

    /// <summary>The call's tensors, pinned for its duration; the gradients only for the backward.</summary>
    private readonly struct Tensors(AttentionShape shape, int* lengths, TWord* q, TWord* k, TWord* v, TWord* output, float* logSumExp,
        TWord* outputGrad = null, TWord* qGrad = null, TWord* kGrad = null, TWord* vGrad = null)
    {
        public AttentionShape Shape { get; } = shape;
        public int* Lengths { get; } = lengths;
        public TWord* Q { get; } = q;
        public TWord* K { get; } = k;
        public TWord* V { get; } = v;
        public TWord* Output { get; } = output;
        public float* LogSumExp { get; } = logSumExp;
        public TWord* OutputGrad { get; } = outputGrad;
        public TWord* QGrad { get; } = qGrad;
        public TWord* KGrad { get; } = kGrad;
        public TWord* VGrad { get; } = vGrad;

        public int HeadDim => Shape.HeadDim;

        /// <summary>The head dimension padded to whole B panels: the row length of every tile that the micro-kernel writes by panel.</summary>
        public int PaddedDim => RoundUp(Shape.HeadDim, Panel);

        public float Scale => (float)(1 / Math.Sqrt(Shape.HeadDim));

        /// <summary>Rows [0, RowEnd) of sequence b are not padding; keys [0, KeyEnd) are all that they see.</summary>
        public (int RowEnd, int KeyEnd) Extent(int b) =>
            (Math.Clamp(Lengths[b] - Shape.QueryStart, 0, Shape.QueryLength), Math.Min(Lengths[b], Shape.QueryStart + Shape.QueryLength));

        public TWord* QueryRow(TWord* tensor, int b, int i, int h) => tensor + Attention.QueryOffset(Shape, b, i, h);

        public TWord* KeyRow(TWord* tensor, int b, int j, int kvHead) => tensor + Attention.KeyOffset(Shape, b, j, kvHead);

        public int LogSumExpIndex(int b, int h, int i) => (b * Shape.Heads + h) * Shape.QueryLength + i;
    }

    /// <summary>output and logSumExp are overwritten, as <see cref="Attention.Reference.Forward{T}"/> defines them.</summary>
    public static void Forward(Memory<TWord> output, Memory<float> logSumExp, ReadOnlyMemory<TWord> q, ReadOnlyMemory<TWord> k, ReadOnlyMemory<TWord> v,
        ReadOnlyMemory<int> lengths, AttentionShape shape)
    {
        Attention.CheckShapes(output.Length, logSumExp.Length, q.Length, k.Length, v.Length, lengths.Length, shape);
        Attention.CheckSequenceLengths(lengths.Span, shape);
        using var pins = new Pins();
        var tensors = new Tensors(shape, pins.Of(lengths), pins.Of(q), pins.Of(k), pins.Of(v), pins.Of<TWord>(output), pins.Of<float>(logSumExp));
        Parallel.For(0, shape.Batch * shape.Heads, CpuThreads.Options, bh => ForwardHead(tensors, bh / shape.Heads, bh % shape.Heads));
    }

    /// <summary>qGrad, kGrad and vGrad are added to, as <see cref="Attention.Reference.Backward{T}"/> defines them.</summary>
    public static void Backward(Memory<TWord> qGrad, Memory<TWord> kGrad, Memory<TWord> vGrad, ReadOnlyMemory<TWord> outputGrad, ReadOnlyMemory<TWord> q,
        ReadOnlyMemory<TWord> k, ReadOnlyMemory<TWord> v, ReadOnlyMemory<TWord> output, ReadOnlyMemory<float> logSumExp, ReadOnlyMemory<int> lengths,
        AttentionShape shape)
    {
        Attention.CheckShapes(output.Length, logSumExp.Length, q.Length, k.Length, v.Length, lengths.Length, shape);
        Attention.CheckGradientShapes(qGrad.Length, kGrad.Length, vGrad.Length, outputGrad.Length, shape);
        Attention.CheckSequenceLengths(lengths.Span, shape);
        using var pins = new Pins();
        var tensors = new Tensors(shape, pins.Of(lengths), pins.Of(q), pins.Of(k), pins.Of(v), pins.Of(output), pins.Of(logSumExp), pins.Of(outputGrad),
            pins.Of<TWord>(qGrad), pins.Of<TWord>(kGrad), pins.Of<TWord>(vGrad));
        Parallel.For(0, shape.Batch * shape.KvHeads, CpuThreads.Options, bkv => BackwardKvHead(tensors, bkv / shape.KvHeads, bkv % shape.KvHeads));
    }

    /// <summary>
    /// One (sequence, head): its keys packed as the B operand of q·kᵀ (panels of 16 keys along the head dimension) and its
    /// values as that of p·v (per key tile, panels of 16 dimensions along the keys), then each query tile against the key
    /// tiles its rows see, the last one masked causally (and, with a window, the first ones at the window's start).
    /// </summary>
    private static void ForwardHead(Tensors t, int b, int h)
    {
        var shape = t.Shape;
        int dim = t.HeadDim, paddedDim = t.PaddedDim, kvHead = h / (shape.Heads / shape.KvHeads);
        var (rowEnd, keyEnd) = t.Extent(b);
        for (var i = rowEnd; i < shape.QueryLength; i++)
        {
            new Span<TWord>(t.QueryRow(t.Output, b, i, h), dim).Clear();
            t.LogSumExp[t.LogSumExpIndex(b, h, i)] = 0;
        }
        if (rowEnd == 0) return;
        var keyTiles = Tiles(keyEnd);
        var scratch = ThreadScratch.Reserve((long)RoundUp(keyEnd, Panel) * dim + (long)keyTiles * Tile * paddedDim + Tile * Tile + Tile * paddedDim + 2 * Tile
            + Tile * dim, 7);
        var keys = PackKeys(scratch, t.KeyRow(t.K, b, 0, kvHead), shape.KvWidth, keyEnd, dim);
        var values = PackKeyTiles(scratch, t.KeyRow(t.V, b, 0, kvHead), shape.KvWidth, keyEnd, dim, paddedDim);
        float* probabilities = scratch.Take(Tile * Tile), weighted = scratch.Take(Tile * paddedDim);
        float* rowMax = scratch.Take(Tile), rowSum = scratch.Take(Tile), queryTile = scratch.Take(Tile * dim);
        for (var i0 = 0; i0 < rowEnd; i0 += Tile)
        {
            var rows = Math.Min(Tile, rowEnd - i0);
            var queryStride = shape.QueryWidth;
            var query = AsFloat32Rows(t.QueryRow(t.Q, b, i0, h), ref queryStride, rows, dim, queryTile);
            new Span<float>(rowMax, rows).Fill(float.NegativeInfinity);
            new Span<float>(rowSum, rows).Clear();
            new Span<float>(weighted, rows * paddedDim).Clear();
            var keysSeen = KeysSeen(t, i0, rows, keyEnd);
            for (var j0 = FirstKeyTile(t, i0); j0 < keysSeen; j0 += Tile)
            {
                var width = Math.Min(Tile, keyEnd - j0);
                Multiply(probabilities, Tile, query, queryStride, 1, keys + j0 * dim, rows, RoundUp(width, Panel), dim, overwrite: true);
                for (var r = 0; r < rows; r++)
                {
                    var row = new Span<float>(probabilities + r * Tile, width);
                    var (first, end) = Visible(t, i0 + r, j0, width);
                    if (first == end) row.Clear();
                    else MergeTile(row, first, end, t.Scale, ref rowMax[r], ref rowSum[r], new Span<float>(weighted + r * paddedDim, paddedDim));
                }
                Multiply(weighted, paddedDim, probabilities, Tile, 1, values + j0 * paddedDim, rows, paddedDim, width, overwrite: false);
            }
            for (var r = 0; r < rows; r++)
            {
                var sums = new ReadOnlySpan<float>(weighted + r * paddedDim, dim);
                var output = new Span<TWord>(t.QueryRow(t.Output, b, i0 + r, h), dim);
                for (var i = 0; i < dim; i += Vectors.Width) TFormat.Store(Vectors.Load(sums, i) / rowSum[r], output, i);
                t.LogSumExp[t.LogSumExpIndex(b, h, i0 + r)] = rowMax[r] + MathF.Log(rowSum[r]);
            }
        }
    }

    /// <summary>
    /// Turns one row of scores into probabilities relative to the row's new running maximum, in place (zero outside the
    /// visible keys [first, end)), and folds them into the running sum, rescaling the row's weighted sum of values if the maximum grew.
    /// </summary>
    private static void MergeTile(Span<float> row, int first, int end, float scale, ref float runningMax, ref float runningSum, Span<float> weighted)
    {
        var scores = row[first..end];
        // x ↦ x·scale is monotonic, so the scaled maximum is the maximum scaled.
        var max = Math.Max(runningMax, TensorPrimitives.Max(scores) * scale);
        var shift = new Vector<float>(max);
        var sum = Vector<float>.Zero;
        for (var i = 0; i < scores.Length; i += Vectors.Width)
        {
            var probability = Vector.Exp(Vectors.Load(scores, i, float.NegativeInfinity) * scale - shift);
            sum += probability;
            Vectors.Store(probability, scores, i);
        }
        row[..first].Clear();
        row[end..].Clear();
        var rescale = MathF.Exp(runningMax - max); // 0 on the row's first tile, where the running maximum is −∞
        if (rescale != 1) TensorPrimitives.Multiply(weighted, rescale, weighted);
        runningSum = runningSum * rescale + Vector.Sum(sum);
        runningMax = max;
    }

    /// <summary>
    /// One (sequence, kv head): its keys and values packed once for every query head that reads them, the key and value
    /// gradients of all its keys summed in scratch over those heads' query tiles, and each query tile's gradient summed over
    /// its key tiles. Per pair of tiles: S = q·kᵀ and dP = dO·vᵀ, then P = exp(S·scale − lse) and
    /// dS = P∘(dP − D)·scale with D_i = dO_i·O_i, then dv += Pᵀ·dO, dk += dSᵀ·q and dq += dS·k.
    /// </summary>
    private static void BackwardKvHead(Tensors t, int b, int kvHead)
    {
        var shape = t.Shape;
        int dim = t.HeadDim, paddedDim = t.PaddedDim, group = shape.Heads / shape.KvHeads;
        var (rowEnd, keyEnd) = t.Extent(b);
        if (rowEnd == 0) return; // every row is padding: nothing has a gradient
        var paddedKeys = Tiles(keyEnd) * Tile;
        var scratch = ThreadScratch.Reserve(2L * RoundUp(keyEnd, Panel) * dim + 3L * paddedKeys * paddedDim + 3 * Tile * paddedDim + 2 * Tile * Tile + Tile
            + 2 * Tile * dim, 13);
        var keys = PackKeys(scratch, t.KeyRow(t.K, b, 0, kvHead), shape.KvWidth, keyEnd, dim);
        var values = PackKeys(scratch, t.KeyRow(t.V, b, 0, kvHead), shape.KvWidth, keyEnd, dim);
        var keyTiles = PackKeyTiles(scratch, t.KeyRow(t.K, b, 0, kvHead), shape.KvWidth, keyEnd, dim, paddedDim);
        float* keyGrad = scratch.Take((long)paddedKeys * paddedDim), valueGrad = scratch.Take((long)paddedKeys * paddedDim);
        float* queryPanels = scratch.Take(Tile * paddedDim), outputGradPanels = scratch.Take(Tile * paddedDim), queryGrad = scratch.Take(Tile * paddedDim);
        float* probabilities = scratch.Take(Tile * Tile), scoreGrads = scratch.Take(Tile * Tile), delta = scratch.Take(Tile);
        float* queryTile = scratch.Take(Tile * dim), outputGradTile = scratch.Take(Tile * dim);
        new Span<float>(keyGrad, paddedKeys * paddedDim).Clear();
        new Span<float>(valueGrad, paddedKeys * paddedDim).Clear();
        for (var h = kvHead * group; h < (kvHead + 1) * group; h++)
            for (var i0 = 0; i0 < rowEnd; i0 += Tile)
            {
                var rows = Math.Min(Tile, rowEnd - i0);
                TWord* queryRows = t.QueryRow(t.Q, b, i0, h), outputGradRows = t.QueryRow(t.OutputGrad, b, i0, h);
                for (var r = 0; r < rows; r++)
                    delta[r] = (float)Vectors.Dot<TWord, TFormat>(new ReadOnlySpan<TWord>(outputGradRows + r * shape.QueryWidth, dim),
                        new ReadOnlySpan<TWord>(t.QueryRow(t.Output, b, i0 + r, h), dim));
                // q and dO as B operands of the key-side products, k running over the tile's rows.
                Gemm.Pack(queryPanels, Gemm.Operand.Of<TWord, TFormat>(queryRows, shape.QueryWidth, 1), 0, dim, 0, rows, Panel, transposed: true);
                Gemm.Pack(outputGradPanels, Gemm.Operand.Of<TWord, TFormat>(outputGradRows, shape.QueryWidth, 1), 0, dim, 0, rows, Panel, transposed: true);
                var (queryStride, outputGradStride) = (shape.QueryWidth, shape.QueryWidth);
                float* query = AsFloat32Rows(queryRows, ref queryStride, rows, dim, queryTile),
                    outputGrad = AsFloat32Rows(outputGradRows, ref outputGradStride, rows, dim, outputGradTile);
                new Span<float>(queryGrad, rows * paddedDim).Clear();
                var keysSeen = KeysSeen(t, i0, rows, keyEnd);
                for (var j0 = FirstKeyTile(t, i0); j0 < keysSeen; j0 += Tile)
                {
                    var width = Math.Min(Tile, keyEnd - j0);
                    Multiply(probabilities, Tile, query, queryStride, 1, keys + j0 * dim, rows, RoundUp(width, Panel), dim, overwrite: true);
                    Multiply(scoreGrads, Tile, outputGrad, outputGradStride, 1, values + j0 * dim, rows, RoundUp(width, Panel), dim, overwrite: true);
                    for (var r = 0; r < rows; r++)
                    {
                        var row = new Span<float>(probabilities + r * Tile, width);
                        var gradRow = new Span<float>(scoreGrads + r * Tile, width);
                        var (first, end) = Visible(t, i0 + r, j0, width);
                        ProbabilitiesAndScoreGrads(row[first..end], gradRow[first..end], t.LogSumExp[t.LogSumExpIndex(b, h, i0 + r)], delta[r],
                            t.Scale);
                        row[..first].Clear();
                        row[end..].Clear();
                        gradRow[..first].Clear();
                        gradRow[end..].Clear();
                    }
                    // dv[j] += Σ_i P_ij dO_i and dk[j] += Σ_i dS_ij q_i: A = Pᵀ and dSᵀ, read down the tiles' columns.
                    Multiply(valueGrad + j0 * paddedDim, paddedDim, probabilities, 1, Tile, outputGradPanels, width, paddedDim, rows, overwrite: false);
                    Multiply(keyGrad + j0 * paddedDim, paddedDim, scoreGrads, 1, Tile, queryPanels, width, paddedDim, rows, overwrite: false);
                    Multiply(queryGrad, paddedDim, scoreGrads, Tile, 1, keyTiles + j0 * paddedDim, rows, paddedDim, width, overwrite: false);
                }
                for (var r = 0; r < rows; r++) AddRow(t.QueryRow(t.QGrad, b, i0 + r, h), queryGrad + r * paddedDim, dim);
            }
        for (var j = 0; j < keyEnd; j++)
        {
            AddRow(t.KeyRow(t.KGrad, b, j, kvHead), keyGrad + j * paddedDim, dim);
            AddRow(t.KeyRow(t.VGrad, b, j, kvHead), valueGrad + j * paddedDim, dim);
        }
    }

    /// <summary>P = exp(S·scale − lse) over S in place, and dS = P∘(dP − D)·scale over dP in place, for one row's visible keys.</summary>
    private static void ProbabilitiesAndScoreGrads(Span<float> scores, Span<float> outputGradDotValues, float logSumExp, float delta, float scale)
    {
        var (shift, rowDelta) = (new Vector<float>(logSumExp), new Vector<float>(delta));
        for (var i = 0; i < scores.Length; i += Vectors.Width)
        {
            var probability = Vector.Exp(Vectors.Load(scores, i) * scale - shift);
            Vectors.Store(probability, scores, i);
            Vectors.Store(probability * (Vectors.Load(outputGradDotValues, i) - rowDelta) * scale, outputGradDotValues, i);
        }
    }

    /// <summary>
    /// A head's first keyEnd keys as the B operand of q·kᵀ: panels of 16 keys, each the keys' head vectors dimension by
    /// dimension (kc = dim), zero past the last key; the keys of tile j0 start at j0·dim.
    /// </summary>
    private static float* PackKeys(ThreadScratch scratch, TWord* keys, int rowStride, int keyEnd, int dim)
    {
        var packed = scratch.Take((long)RoundUp(keyEnd, Panel) * dim);
        Gemm.Pack(packed, Gemm.Operand.Of<TWord, TFormat>(keys, rowStride, 1), 0, keyEnd, 0, dim, Panel, transposed: false);
        return packed;
    }

    /// <summary>
    /// A head's first keyEnd rows as the B operand of a product over keys (p·v, dS·k), one key tile at a time: per tile,
    /// panels of 16 dimensions, each its keys' values in key order (kc = the tile's keys). Tile j0 starts at j0·paddedDim.
    /// </summary>
    private static float* PackKeyTiles(ThreadScratch scratch, TWord* rows, int rowStride, int keyEnd, int dim, int paddedDim)
    {
        var packed = scratch.Take((long)Tiles(keyEnd) * Tile * paddedDim);
        for (var j0 = 0; j0 < keyEnd; j0 += Tile)
            Gemm.Pack(packed + j0 * paddedDim, Gemm.Operand.Of<TWord, TFormat>(rows, rowStride, 1), 0, dim, j0, Math.Min(Tile, keyEnd - j0), Panel,
                transposed: true);
        return packed;
    }

    /// <summary>
    /// c (+)= A·B with A [m, kc] read through its strides and B packed as n/16 micro-panels of kc × 16 (n a multiple of 16):
    /// whole micro-tiles but for the last rows. Column panels outside, so one B panel stays in L1 across the rows.
    /// </summary>
    private static void Multiply(float* c, int ldc, float* a, int aRowStride, int aColumnStride, float* b, int m, int n, int kc, bool overwrite)
    {
        for (var j = 0; j < n; j += Panel)
            for (var i = 0; i < m; i += MicroKernel.Rows)
                MicroKernel.Run(kc, a + (long)i * aRowStride, aRowStride, aColumnStride, b + (long)j * kc, c + (long)i * ldc + j, ldc,
                    Math.Min(MicroKernel.Rows, m - i), Panel, overwrite);
    }

    /// <summary>How many keys the last row of the query tile at i0 sees: the key tiles to visit end there.</summary>
    private static int KeysSeen(Tensors t, int i0, int rows, int keyEnd) => Math.Min(keyEnd, t.Shape.QueryStart + i0 + rows);

    /// <summary>Where the key tiles to visit for the query tile at i0 start: the tile holding its first row's earliest key.</summary>
    private static int FirstKeyTile(Tensors t, int i0) => Attention.FirstVisibleKey(t.Shape, t.Shape.QueryStart + i0) / Tile * Tile;

    /// <summary>
    /// Which of the key tile's width keys at j0 query row i sees (it is no padding row), as [first, end) within the tile:
    /// causal and within the window, empty up to all.
    /// </summary>
    private static (int First, int End) Visible(Tensors t, int i, int j0, int width)
    {
        var position = t.Shape.QueryStart + i;
        var end = Math.Clamp(position + 1 - j0, 0, width);
        return (Math.Clamp(Attention.FirstVisibleKey(t.Shape, position) - j0, 0, end), end);
    }

    /// <summary>A gradient row of the tensor += its float32 sum, rounded once.</summary>
    private static void AddRow(TWord* destination, float* values, int dim) =>
        Vectors.AddInto<TWord, TFormat>(new Span<TWord>(destination, dim), new ReadOnlySpan<float>(values, dim));

    /// <summary>
    /// Rows of a query-shaped tensor as the micro-kernel's A operand, which it reads as float32 in place: the rows
    /// themselves when so stored, else widened into <paramref name="scratch"/> (rows × dim), whose stride is then dim.
    /// </summary>
    private static float* AsFloat32Rows(TWord* rows, ref int stride, int count, int dim, float* scratch)
    {
        if (TFormat.Storage == Storage.Native) return (float*)rows;
        for (var r = 0; r < count; r++) TFormat.Widen(new ReadOnlySpan<TWord>(rows + (long)r * stride, dim), new Span<float>(scratch + r * dim, dim));
        stride = dim;
        return scratch;
    }

    private static int Tiles(int keys) => (keys + Tile - 1) / Tile;

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}
