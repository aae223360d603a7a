using ILGPU;

namespace SimNpo.Kernels.Ilgpu;

/// <summary>
/// <see cref="WarpTilePtx"/> on ILGPU's CPU simulator: the same registers per thread (here fields), filled by an ldmatrix
/// that exchanges row addresses between lanes as the hardware does, and multiplied by an mma that gathers the operands
/// each lane needs from the lanes holding them (warp shuffles), following the PTX ISA's m16n8k16 fragment layout
/// ("Matrix Fragments for mma.m16n8k16", .bf16): with g = lane / 4 and t = lane % 4, A's registers hold (row g, k 2t..2t+1),
/// (g + 8, 2t..), (g, 2t + 8..), (g + 8, 2t + 8..); B's (k 2t..2t+1, column g), (k 2t + 8.., g); C's (g, 2t), (g, 2t + 1),
/// (g + 8, 2t), (g + 8, 2t + 1). A bfloat16 pair's lower-addressed element is the register's low half. So every index of
/// the kernel, lane mappings and swizzle included, runs in the tests; only the instructions themselves are GPU-only.
/// Needs warps of 32 (the NVIDIA-like simulated device).
/// </summary>
internal struct WarpTileEmulation
{
    /// <summary>Tile (i, j)'s accumulators, i the m16 tile, j the n8 tile.</summary>
    private Accumulators _c00, _c01, _c02, _c03, _c10, _c11, _c12, _c13, _c20, _c21, _c22, _c23, _c30, _c31, _c32, _c33;

    /// <summary>
    /// <see cref="WarpTilePtx.Step"/>: ldmatrix.x4 into four A fragments and two B fragment pairs, then the 16 mma
    /// m16n8k16. Lane 4g + s holds row g's (and g + 8's) k = 2s, 2s + 1 and 2s + 8, 2s + 9; lane 4n + s column n's same k.
    /// So for each s this lane (g, t) fetches each A fragment's rows from lane 4g + s and each n8 tile's columns 2t and
    /// 2t + 1 from lanes 8t + s and 8t + 4 + s, and adds those products to every tile (16 shuffles per s rather than 16 per mma).
    /// </summary>
    public void Step(ArrayView<ushort> shared, int a0, int a1, int a2, int a3, bool aTransposed, int b0, int b1, bool bTransposed)
    {
        var (fa0, fa1, fa2, fa3) = (Load(shared, a0, aTransposed), Load(shared, a1, aTransposed), Load(shared, a2, aTransposed), Load(shared, a3, aTransposed));
        var (fb01, fb23) = (Load(shared, b0, bTransposed), Load(shared, b1, bTransposed));
        var lane = Warp.LaneIdx;
        int g = lane / 4, t = lane % 4;
        for (var s = 0; s < 4; s++)
        {
            int rowLane = 4 * g + s, evenLane = 8 * t + s, oddLane = 8 * t + 4 + s;
            var (r0, r1, r2, r3) = (Rows.Of(fa0, rowLane), Rows.Of(fa1, rowLane), Rows.Of(fa2, rowLane), Rows.Of(fa3, rowLane));
            var (k0, k1, k2, k3) = (Columns.Of(fb01.R0, fb01.R1, evenLane, oddLane), Columns.Of(fb01.R2, fb01.R3, evenLane, oddLane),
                Columns.Of(fb23.R0, fb23.R1, evenLane, oddLane), Columns.Of(fb23.R2, fb23.R3, evenLane, oddLane));
            Row(ref _c00, ref _c01, ref _c02, ref _c03, r0, k0, k1, k2, k3);
            Row(ref _c10, ref _c11, ref _c12, ref _c13, r1, k0, k1, k2, k3);
            Row(ref _c20, ref _c21, ref _c22, ref _c23, r2, k0, k1, k2, k3);
            Row(ref _c30, ref _c31, ref _c32, ref _c33, r3, k0, k1, k2, k3);
        }
    }

    /// <inheritdoc cref="WarpTilePtx.Stage"/>
    public readonly void Stage(ArrayView<float> shared, bool lower, int threadOffset, int eightRows)
    {
        if (lower)
        {
            StageRow(shared, threadOffset, eightRows, _c20, _c21, _c22, _c23);
            StageRow(shared, threadOffset + 2 * eightRows, eightRows, _c30, _c31, _c32, _c33);
        }
        else
        {
            StageRow(shared, threadOffset, eightRows, _c00, _c01, _c02, _c03);
            StageRow(shared, threadOffset + 2 * eightRows, eightRows, _c10, _c11, _c12, _c13);
        }
    }

    private static void StageRow(ArrayView<float> shared, int offset, int eightRows, Accumulators c0, Accumulators c1, Accumulators c2, Accumulators c3)
    {
        c0.Stage(shared, offset, eightRows);
        c1.Stage(shared, offset + 32, eightRows);
        c2.Stage(shared, offset + 64, eightRows);
        c3.Stage(shared, offset + 96, eightRows);
    }

    private static void Row(ref Accumulators c0, ref Accumulators c1, ref Accumulators c2, ref Accumulators c3, Rows a,
        Columns k0, Columns k1, Columns k2, Columns k3)
    {
        c0.MultiplyAdd(a, k0);
        c1.MultiplyAdd(a, k1);
        c2.MultiplyAdd(a, k2);
        c3.MultiplyAdd(a, k3);
    }

    /// <summary>
    /// ldmatrix.x4: lanes 8q..8q+7 name the rows of matrix q (byte offsets). Plain, lane l receives matrix row l / 4, elements
    /// 2(l % 4) and the next; transposed, column l / 4 of rows 2(l % 4) and 2(l % 4) + 1.
    /// </summary>
    private static Registers Load(ArrayView<ushort> shared, int rowOffset, bool transposed) => new()
    {
        R0 = LoadMatrix(shared, rowOffset, 0, transposed),
        R1 = LoadMatrix(shared, rowOffset, 1, transposed),
        R2 = LoadMatrix(shared, rowOffset, 2, transposed),
        R3 = LoadMatrix(shared, rowOffset, 3, transposed),
    };

    private static uint LoadMatrix(ArrayView<ushort> shared, int rowOffset, int matrix, bool transposed)
    {
        var lane = Warp.LaneIdx;
        if (!transposed)
        {
            var row = Warp.Shuffle(rowOffset, 8 * matrix + lane / 4) / 2 + 2 * (lane % 4);
            return MmaBf16.Pack(shared[row], shared[row + 1]);
        }
        var first = Warp.Shuffle(rowOffset, 8 * matrix + 2 * (lane % 4)) / 2;
        var second = Warp.Shuffle(rowOffset, 8 * matrix + 2 * (lane % 4) + 1) / 2;
        return MmaBf16.Pack(shared[first + lane / 4], shared[second + lane / 4]);
    }

    /// <summary>Four 32-bit fragment registers of bfloat16 pairs, as one ldmatrix.x4 fills them.</summary>
    private struct Registers
    {
        public uint R0, R1, R2, R3;
    }

    private static ulong Pack(uint low, uint high) => low | (ulong)high << 32;

    /// <summary>Rows g (Low) and g + 8 (High) at k = 2s, 2s + 1 (K0) and 2s + 8, 2s + 9 (K8), fetched from lane 4g + s.</summary>
    private readonly struct Rows(ulong k0, ulong k8)
    {
        public readonly ulong K0 = k0, K8 = k8;

        public static Rows Of(Registers a, int lane) => new(Warp.Shuffle(Pack(a.R0, a.R1), lane), Warp.Shuffle(Pack(a.R2, a.R3), lane));
    }

    /// <summary>Columns 2t (Even) and 2t + 1 (Odd) of one n8 tile at k = 2s.. (low word) and 2s + 8.. (high word).</summary>
    private readonly struct Columns(ulong even, ulong odd)
    {
        public readonly ulong Even = even, Odd = odd;

        public static Columns Of(uint b0, uint b1, int evenLane, int oddLane) =>
            new(Warp.Shuffle(Pack(b0, b1), evenLane), Warp.Shuffle(Pack(b0, b1), oddLane));
    }

    /// <summary>One thread's d0..d3 of a 16 × 8 tile: (g, 2t), (g, 2t + 1), (g + 8, 2t), (g + 8, 2t + 1).</summary>
    private struct Accumulators
    {
        private float _d0, _d1, _d2, _d3;

        /// <summary>Four of the k-products of mma.m16n8k16's d = a·b + d (<see cref="MmaBf16.Dot"/>).</summary>
        public void MultiplyAdd(Rows a, Columns b)
        {
            _d0 += MmaBf16.Dot((uint)a.K0, (uint)b.Even) + MmaBf16.Dot((uint)a.K8, (uint)(b.Even >> 32));
            _d1 += MmaBf16.Dot((uint)a.K0, (uint)b.Odd) + MmaBf16.Dot((uint)a.K8, (uint)(b.Odd >> 32));
            _d2 += MmaBf16.Dot((uint)(a.K0 >> 32), (uint)b.Even) + MmaBf16.Dot((uint)(a.K8 >> 32), (uint)(b.Even >> 32));
            _d3 += MmaBf16.Dot((uint)(a.K0 >> 32), (uint)b.Odd) + MmaBf16.Dot((uint)(a.K8 >> 32), (uint)(b.Odd >> 32));
        }

        /// <summary>d0, d1 at the byte offset, d2, d3 eight rows further.</summary>
        public readonly void Stage(ArrayView<float> shared, int offset, int eightRows)
        {
            shared[offset / 4] = _d0;
            shared[offset / 4 + 1] = _d1;
            shared[(offset + eightRows) / 4] = _d2;
            shared[(offset + eightRows) / 4 + 1] = _d3;
        }
    }
}
