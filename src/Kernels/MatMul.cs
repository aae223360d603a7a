using System.Numerics;
using System.Numerics.Tensors;
using ILGPU;
using ILGPU.Runtime;

namespace SimNpo.Kernels;

/// <summary>
/// The linear layer without bias: output[rows, outDim] = input[rows, inDim] · weightᵀ, the weight stored [outDim, inDim]
/// as Hugging Face does, so every output element is a dot product of two contiguous rows.
/// </summary>
public static class MatMul
{
    /// <summary>The CPU reference: the specification every device kernel of this op is held to.</summary>
    public static class Reference
    {
        /// <summary>
        /// Parallel over the weight's rows (output columns), so a single decoding row still uses every core. Dot products
        /// are summed in the element type, as a float32 GEMM does.
        /// </summary>
        public static void Forward<T>(Memory<T> output, ReadOnlyMemory<T> input, ReadOnlyMemory<T> weight, int rows, int inDim, int outDim)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            CheckShapes(output.Length, input.Length, weight.Length, rows, inDim, outDim);
            Parallel.For(0, outDim, o =>
            {
                var x = input.Span;
                var y = output.Span;
                var weightRow = weight.Span.Slice(o * inDim, inDim);
                for (var r = 0; r < rows; r++)
                    y[r * outDim + o] = TensorPrimitives.Dot(x.Slice(r * inDim, inDim), weightRow);
            });
        }

        /// <summary>
        /// inputGrad[r, :] += Σ_o outputGrad[r, o] · weight[o, :], parallel over rows, summed in the element type like the
        /// forward; weightGrad[o, :] += Σ_r outputGrad[r, o] · input[r, :], parallel over the weight's rows and summed in
        /// float64 because it runs over every token of the batch.
        /// </summary>
        public static void Backward<T>(Memory<T> inputGrad, Memory<T> weightGrad, ReadOnlyMemory<T> outputGrad, ReadOnlyMemory<T> input,
            ReadOnlyMemory<T> weight, int rows, int inDim, int outDim)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            CheckBackwardShapes(inputGrad.Length, weightGrad.Length, outputGrad.Length, input.Length, weight.Length, rows, inDim, outDim);
            Parallel.For(0, rows, r =>
            {
                var inputGradRow = inputGrad.Span.Slice(r * inDim, inDim);
                var outputGradRow = outputGrad.Span.Slice(r * outDim, outDim);
                var w = weight.Span;
                for (var o = 0; o < outDim; o++)
                    TensorPrimitives.MultiplyAdd(w.Slice(o * inDim, inDim), outputGradRow[o], inputGradRow, inputGradRow);
            });
            Parallel.For(0, outDim, o =>
            {
                var sums = new double[inDim];
                var g = outputGrad.Span;
                var x = input.Span;
                for (var r = 0; r < rows; r++)
                {
                    var gradient = double.CreateTruncating(g[r * outDim + o]);
                    var inputRow = x.Slice(r * inDim, inDim);
                    for (var i = 0; i < inDim; i++) sums[i] += gradient * double.CreateTruncating(inputRow[i]);
                }
                var weightGradRow = weightGrad.Span.Slice(o * inDim, inDim);
                for (var i = 0; i < inDim; i++) weightGradRow[i] += T.CreateTruncating(sums[i]);
            });
        }
    }

    /// <summary>
    /// The ILGPU kernel: one shared-memory tiled SGEMM, C (+)= A·B, serves all three products of the layer, each operand
    /// described by which of its dimensions is contiguous in memory. A group of tx × ty threads computes a
    /// (8·ty) × (8·tx) block of C, each thread an 8×8 register tile, stepping through K in slices of
    /// <see cref="SliceDepth"/> staged in shared memory.
    /// </summary>
    public static class Ilgpu
    {
        /// <summary>The depth of the K slice staged per step: two 16-byte loads along a k-contiguous row.</summary>
        private const int SliceDepth = 8;

        /// <summary>Each thread computes RegisterTile × RegisterTile elements of C: 16 FMAs per 16-byte shared load.</summary>
        private const int RegisterTile = 8;

        /// <summary>256 threads with 8×8 register tiles give the classic 128×128 block of C per group.</summary>
        private const int MaxGroupThreads = 256;

        /// <summary>The matmul kernels of one accelerator, compiled once: create one per accelerator and keep it.</summary>
        public sealed class Launcher
        {
            private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape> _gemm;
            private readonly Index2D _groupSize;

            public Launcher(Accelerator accelerator)
            {
                _groupSize = GroupSize(accelerator);
                _gemm = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(GemmKernel);
            }

            /// <summary>output[rows, outDim] = input[rows, inDim] · weightᵀ, weight [outDim, inDim].</summary>
            public void Forward(ArrayView<float> output, ArrayView<float> input, ArrayView<float> weight, int rows, int inDim, int outDim)
            {
                CheckShapes((int)output.Length, (int)input.Length, (int)weight.Length, rows, inDim, outDim);
                // A = input [M = rows, K = inDim]; B[k, n] = weight[n, k], so both operands run along K.
                Launch(output, input, weight, new GemmShape(rows, outDim, inDim,
                    GemmLayout.ASpansK | GemmLayout.BSpansK | Wide(input, inDim, GemmLayout.AWide) | Wide(weight, inDim, GemmLayout.BWide)));
            }

            /// <summary>inputGrad += outputGrad · weight; weightGrad += outputGradᵀ · input.</summary>
            public void Backward(ArrayView<float> inputGrad, ArrayView<float> weightGrad, ArrayView<float> outputGrad, ArrayView<float> input,
                ArrayView<float> weight, int rows, int inDim, int outDim)
            {
                CheckBackwardShapes((int)inputGrad.Length, (int)weightGrad.Length, (int)outputGrad.Length, (int)input.Length, (int)weight.Length,
                    rows, inDim, outDim);
                // A = outputGrad [M = rows, K = outDim] along K; B = weight [K = outDim, N = inDim] along N.
                Launch(inputGrad, outputGrad, weight, new GemmShape(rows, inDim, outDim,
                    GemmLayout.Accumulate | GemmLayout.ASpansK | Wide(outputGrad, outDim, GemmLayout.AWide) | Wide(weight, inDim, GemmLayout.BWide)));
                // A[m, k] = outputGrad[k, m], [K = rows, M = outDim] along M; B = input [K = rows, N = inDim] along N.
                Launch(weightGrad, outputGrad, input, new GemmShape(outDim, inDim, rows,
                    GemmLayout.Accumulate | Wide(outputGrad, outDim, GemmLayout.AWide) | Wide(input, inDim, GemmLayout.BWide)));
            }

            private void Launch(ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, GemmShape shape)
            {
                if (shape.M == 0 || shape.N == 0) return;
                var (tileM, tileN) = (_groupSize.Y * RegisterTile, _groupSize.X * RegisterTile);
                var grid = new Index2D((shape.N + tileN - 1) / tileN, (shape.M + tileM - 1) / tileM);
                _gemm(new KernelConfig(grid, _groupSize, SharedMemoryConfig.RequestDynamic<float>(SharedFloats(_groupSize))), c, a, b, shape);
            }

            /// <summary>
            /// The most threads up to <see cref="MaxGroupThreads"/> whose slices fit the accelerator's shared memory, as a
            /// power of two split as squarely as possible (16×16 on a GPU, 4×4 on the default CPU simulator).
            /// </summary>
            private static Index2D GroupSize(Accelerator accelerator)
            {
                for (var threads = 1 << BitOperations.Log2((uint)Math.Min(MaxGroupThreads, accelerator.MaxNumThreadsPerGroup)); threads > 0; threads /= 2)
                {
                    var y = 1 << (BitOperations.Log2((uint)threads) / 2);
                    var size = new Index2D(threads / y, y);
                    if (SharedFloats(size) * sizeof(float) <= accelerator.MaxSharedMemoryPerGroup) return size;
                }
                throw new NotSupportedException($"{accelerator.Name} has too little shared memory for an {RegisterTile}×{RegisterTile} tile");
            }

            private static int SharedFloats(Index2D _groupSize) => SliceDepth * RegisterTile * (_groupSize.X + _groupSize.Y);

            /// <summary>
            /// 16-byte loads need a contiguous extent in whole Float4s and a view starting 16 bytes into its buffer (device
            /// buffers themselves are allocated at least that aligned).
            /// </summary>
            private static GemmLayout Wide(ArrayView<float> view, int contiguousExtent, GemmLayout flag) =>
                contiguousExtent % 4 == 0 && ((IContiguousArrayView)view).IndexInBytes % 16 == 0 ? flag : GemmLayout.None;
        }

        /// <summary>
        /// C[M, N] (+)= A[M, K] · B[K, N], all row-major views, laid out as <see cref="GemmLayout"/> says. Public only because
        /// ILGPU's CPU accelerator needs kernel parameter types it can see.
        /// </summary>
        public readonly record struct GemmShape(int M, int N, int K, GemmLayout Layout)
        {
            public bool Has(GemmLayout flag) => (Layout & flag) != 0;
        }

        /// <summary>Flags rather than bools: kernel parameters must be blittable.</summary>
        [Flags]
        public enum GemmLayout
        {
            None = 0,
            /// <summary>A[m, k] lies at m·K + k; otherwise at k·M + m.</summary>
            ASpansK = 1,
            /// <summary>B[k, n] lies at n·K + k; otherwise at k·N + n.</summary>
            BSpansK = 2,
            /// <summary>A is read 16 bytes at a time.</summary>
            AWide = 4,
            BWide = 8,
            /// <summary>C += A·B instead of C = A·B.</summary>
            Accumulate = 16,
        }


        /// <summary>
        /// One group per (8·ty) × (8·tx) block of C. A thread owns rows ty·4.. and tileM/2 + ty·4.. of the block and columns
        /// tx·4.. and tileN/2 + tx·4.., so neighbouring threads read neighbouring 16-byte words of shared memory and
        /// write neighbouring words of C.
        /// </summary>
        private static void GemmKernel(ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, GemmShape shape)
        {
            int tileM = Group.DimY * RegisterTile, tileN = Group.DimX * RegisterTile;
            var shared = SharedMemory.GetDynamic<float>();
            var aSlice = shared.SubView(0, SliceDepth * tileM);
            var bSlice = shared.SubView(SliceDepth * tileM, SliceDepth * tileN);
            var aQuads = aSlice.Cast<Float4>();
            var bQuads = bSlice.Cast<Float4>();
            var accumulator = default(Accumulator);
            for (var k0 = 0; k0 < shape.K; k0 += SliceDepth)
            {
                LoadSlice(aSlice, a, Grid.IdxY * tileM, tileM, shape.M, k0, shape.K, shape.Has(GemmLayout.ASpansK), shape.Has(GemmLayout.AWide));
                LoadSlice(bSlice, b, Grid.IdxX * tileN, tileN, shape.N, k0, shape.K, shape.Has(GemmLayout.BSpansK), shape.Has(GemmLayout.BWide));
                Group.Barrier();
                for (var k = 0; k < SliceDepth; k++)
                {
                    int aRow = k * tileM / 4 + Group.IdxY, bRow = k * tileN / 4 + Group.IdxX;
                    accumulator.AddOuterProduct(aQuads[aRow], aQuads[aRow + tileM / 8], bQuads[bRow], bQuads[bRow + tileN / 8]);
                }
                Group.Barrier();
            }
            var m = Grid.IdxY * tileM + Group.IdxY * 4;
            var n = Grid.IdxX * tileN + Group.IdxX * 4;
            accumulator.Store(c, shape, m, m + tileM / 2, n, n + tileN / 2);
        }

        /// <summary>
        /// Stages the operand's SliceDepth × tile slice at (x0, k0) in shared memory as slice[k·tile + x], zero outside the
        /// matrix; x is m for A and n for B. The contiguous dimension varies fastest between threads, so loads coalesce.
        /// </summary>
        private static void LoadSlice(ArrayView<float> slice, ArrayView<float> source, int x0, int tile, int extent, int k0, int depth,
            bool spansK, bool wide)
        {
            int threads = Group.DimX * Group.DimY, thread = Group.LinearIndex;
            if (wide && spansK)
            {
                // 4 consecutive k of row x, transposed into 4 slice rows. K and k0 are multiples of 4: all in or all out.
                var quads = source.Cast<Float4>().AsAligned16();
                for (var e = thread; e < tile * SliceDepth / 4; e += threads)
                {
                    int x = e / (SliceDepth / 4), k = e % (SliceDepth / 4) * 4;
                    var quad = x0 + x < extent && k0 + k < depth ? quads[((x0 + x) * depth + k0 + k) / 4] : default;
                    slice[k * tile + x] = quad.X;
                    slice[(k + 1) * tile + x] = quad.Y;
                    slice[(k + 2) * tile + x] = quad.Z;
                    slice[(k + 3) * tile + x] = quad.W;
                }
            }
            else if (wide)
            {
                // 4 consecutive x of row k, copied as they lie. The extent is a multiple of 4: all in or all out.
                var quads = source.Cast<Float4>().AsAligned16();
                var sliceQuads = slice.Cast<Float4>();
                for (var e = thread; e < tile * SliceDepth / 4; e += threads)
                {
                    int k = e / (tile / 4), x = e % (tile / 4) * 4;
                    sliceQuads[e] = x0 + x < extent && k0 + k < depth ? quads[((k0 + k) * extent + x0 + x) / 4] : default;
                }
            }
            else
            {
                for (var e = thread; e < tile * SliceDepth; e += threads)
                {
                    int k = spansK ? e % SliceDepth : e / tile, x = spansK ? e / SliceDepth : e % tile;
                    var inside = x0 + x < extent && k0 + k < depth;
                    slice[k * tile + x] = inside ? source[spansK ? (x0 + x) * depth + k0 + k : (k0 + k) * extent + x0 + x] : 0;
                }
            }
        }

        /// <summary>Four floats: one 16-byte load from global or shared memory, or a quarter row of a register tile.</summary>
        private struct Float4
        {
            public float X, Y, Z, W;

            public void MultiplyAdd(float a, Float4 b)
            {
                X += a * b.X;
                Y += a * b.Y;
                Z += a * b.Z;
                W += a * b.W;
            }
        }

        /// <summary>
        /// A thread's 8×8 block of C in registers, unrolled by hand (ILGPU 1.5 does not unroll loops, and an array would live
        /// in local memory): rows 0–3 at mLo.., rows 4–7 at mHi.., each row split into columns nLo.. (Lo) and nHi.. (Hi).
        /// </summary>
        private struct Accumulator
        {
            private Float4 _r0Lo, _r0Hi, _r1Lo, _r1Hi, _r2Lo, _r2Hi, _r3Lo, _r3Hi, _r4Lo, _r4Hi, _r5Lo, _r5Hi, _r6Lo, _r6Hi, _r7Lo, _r7Hi;

            /// <summary>Adds a column of A (aLo, aHi: the thread's 8 rows at one k) times a row of B (its 8 columns).</summary>
            public void AddOuterProduct(Float4 aLo, Float4 aHi, Float4 bLo, Float4 bHi)
            {
                _r0Lo.MultiplyAdd(aLo.X, bLo); _r0Hi.MultiplyAdd(aLo.X, bHi);
                _r1Lo.MultiplyAdd(aLo.Y, bLo); _r1Hi.MultiplyAdd(aLo.Y, bHi);
                _r2Lo.MultiplyAdd(aLo.Z, bLo); _r2Hi.MultiplyAdd(aLo.Z, bHi);
                _r3Lo.MultiplyAdd(aLo.W, bLo); _r3Hi.MultiplyAdd(aLo.W, bHi);
                _r4Lo.MultiplyAdd(aHi.X, bLo); _r4Hi.MultiplyAdd(aHi.X, bHi);
                _r5Lo.MultiplyAdd(aHi.Y, bLo); _r5Hi.MultiplyAdd(aHi.Y, bHi);
                _r6Lo.MultiplyAdd(aHi.Z, bLo); _r6Hi.MultiplyAdd(aHi.Z, bHi);
                _r7Lo.MultiplyAdd(aHi.W, bLo); _r7Hi.MultiplyAdd(aHi.W, bHi);
            }

            public readonly void Store(ArrayView<float> c, GemmShape shape, int mLo, int mHi, int nLo, int nHi)
            {
                StoreRow(c, shape, mLo, nLo, nHi, _r0Lo, _r0Hi);
                StoreRow(c, shape, mLo + 1, nLo, nHi, _r1Lo, _r1Hi);
                StoreRow(c, shape, mLo + 2, nLo, nHi, _r2Lo, _r2Hi);
                StoreRow(c, shape, mLo + 3, nLo, nHi, _r3Lo, _r3Hi);
                StoreRow(c, shape, mHi, nLo, nHi, _r4Lo, _r4Hi);
                StoreRow(c, shape, mHi + 1, nLo, nHi, _r5Lo, _r5Hi);
                StoreRow(c, shape, mHi + 2, nLo, nHi, _r6Lo, _r6Hi);
                StoreRow(c, shape, mHi + 3, nLo, nHi, _r7Lo, _r7Hi);
            }

            private static void StoreRow(ArrayView<float> c, GemmShape shape, int m, int nLo, int nHi, Float4 lo, Float4 hi)
            {
                if (m >= shape.M) return;
                StoreQuad(c, shape, m, nLo, lo);
                StoreQuad(c, shape, m, nHi, hi);
            }

            private static void StoreQuad(ArrayView<float> c, GemmShape shape, int m, int n, Float4 quad)
            {
                Store(c, shape, m, n, quad.X);
                Store(c, shape, m, n + 1, quad.Y);
                Store(c, shape, m, n + 2, quad.Z);
                Store(c, shape, m, n + 3, quad.W);
            }

            private static void Store(ArrayView<float> c, GemmShape shape, int m, int n, float value)
            {
                if (n >= shape.N) return;
                var index = m * shape.N + n;
                c[index] = shape.Has(GemmLayout.Accumulate) ? c[index] + value : value;
            }
        }
    }

    /// <summary>input [rows, inDim], weight [outDim, inDim] as Hugging Face stores it, output [rows, outDim].</summary>
    internal static void CheckShapes(int output, int input, int weight, int rows, int inDim, int outDim)
    {
        ShapeCheck.Length(input, rows * inDim, nameof(input));
        ShapeCheck.Length(weight, outDim * inDim, nameof(weight));
        ShapeCheck.Length(output, rows * outDim, nameof(output));
    }

    /// <summary>The forward's shapes with outputGrad for the output, and each gradient the shape of its tensor.</summary>
    internal static void CheckBackwardShapes(int inputGrad, int weightGrad, int outputGrad, int input, int weight, int rows, int inDim, int outDim)
    {
        CheckShapes(outputGrad, input, weight, rows, inDim, outDim);
        ShapeCheck.Length(inputGrad, rows * inDim, nameof(inputGrad));
        ShapeCheck.Length(weightGrad, outDim * inDim, nameof(weightGrad));
    }
}
