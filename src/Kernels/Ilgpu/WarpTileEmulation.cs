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

    /// <inheritdoc cref="WarpTilePtx.Step"/>
    public void Step(ArrayView<ushort> shared, int a0, int a1, int a2, int a3, bool aTransposed, int b0, int b1, bool bTransposed)
    {
        var (fa0, fa1, fa2, fa3) = (Load(shared, a0, aTransposed), Load(shared, a1, aTransposed), Load(shared, a2, aTransposed), Load(shared, a3, aTransposed));
        var (fb01, fb23) = (Load(shared, b0, bTransposed), Load(shared, b1, bTransposed));
        Row(ref _c00, ref _c01, ref _c02, ref _c03, fa0, fb01, fb23);
        Row(ref _c10, ref _c11, ref _c12, ref _c13, fa1, fb01, fb23);
        Row(ref _c20, ref _c21, ref _c22, ref _c23, fa2, fb01, fb23);
        Row(ref _c30, ref _c31, ref _c32, ref _c33, fa3, fb01, fb23);
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

    /// <summary>One A fragment times the four n8 tiles: b0, b1 of tiles 0, 1 in the first pair, of tiles 2, 3 in the second.</summary>
    private static void Row(ref Accumulators c0, ref Accumulators c1, ref Accumulators c2, ref Accumulators c3, Registers a, Registers b01, Registers b23)
    {
        c0.MultiplyAdd(a, b01.R0, b01.R1);
        c1.MultiplyAdd(a, b01.R2, b01.R3);
        c2.MultiplyAdd(a, b23.R0, b23.R1);
        c3.MultiplyAdd(a, b23.R2, b23.R3);
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
            return Pair(shared[row], shared[row + 1]);
        }
        var first = Warp.Shuffle(rowOffset, 8 * matrix + 2 * (lane % 4)) / 2;
        var second = Warp.Shuffle(rowOffset, 8 * matrix + 2 * (lane % 4) + 1) / 2;
        return Pair(shared[first + lane / 4], shared[second + lane / 4]);
    }

    private static uint Pair(ushort low, ushort high) => low | (uint)high << 16;

    /// <summary>Four 32-bit fragment registers of bfloat16 pairs, as one ldmatrix.x4 fills them.</summary>
    private struct Registers
    {
        public uint R0, R1, R2, R3;
    }

    /// <summary>One thread's d0..d3 of a 16 × 8 tile.</summary>
    private struct Accumulators
    {
        private float _d0, _d1, _d2, _d3;

        /// <summary>
        /// mma.m16n8k16: d = a·b + d. Lane 4g + s holds row g's (and g + 8's) k = 2s.., 2s + 8..; lane 4n + s column n's
        /// k = 2s.., 2s + 8..; so this lane (g, t) takes those of lanes 4g + s and 4·2t + s, 4·(2t + 1) + s for s = 0..3.
        /// </summary>
        public void MultiplyAdd(Registers a, uint b0, uint b1)
        {
            var lane = Warp.LaneIdx;
            int g = lane / 4, t = lane % 4;
            for (var s = 0; s < 4; s++)
            {
                var (rowLow, rowHigh, rowLowK8, rowHighK8) = (Warp.Shuffle(a.R0, 4 * g + s), Warp.Shuffle(a.R1, 4 * g + s),
                    Warp.Shuffle(a.R2, 4 * g + s), Warp.Shuffle(a.R3, 4 * g + s));
                var (even, evenK8) = (Warp.Shuffle(b0, 8 * t + s), Warp.Shuffle(b1, 8 * t + s));
                var (odd, oddK8) = (Warp.Shuffle(b0, 8 * t + 4 + s), Warp.Shuffle(b1, 8 * t + 4 + s));
                _d0 += Dot(rowLow, even) + Dot(rowLowK8, evenK8);
                _d1 += Dot(rowLow, odd) + Dot(rowLowK8, oddK8);
                _d2 += Dot(rowHigh, even) + Dot(rowHighK8, evenK8);
                _d3 += Dot(rowHigh, odd) + Dot(rowHighK8, oddK8);
            }
        }

        /// <summary>The two products of bfloat16 pairs, each exact in float32 (8-bit significands), summed in float32.</summary>
        private static float Dot(uint x, uint y) =>
            BFloat16.ToFloat((ushort)x) * BFloat16.ToFloat((ushort)y) + BFloat16.ToFloat((ushort)(x >> 16)) * BFloat16.ToFloat((ushort)(y >> 16));

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
