using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace SimNpo.Kernels.Ilgpu;

/// <summary>
/// One operand's slice of <see cref="TensorCoreGemm.SliceDepth"/> k by the block's extent (m for A, n for B), staged in shared
/// memory as it lies in global memory: a row per step of the non-contiguous dimension, 16-byte chunks of 8 bfloat16 along
/// the contiguous one. A spanning K is [m][k], A spanning M is [k][m] (ldmatrix .trans reads it), likewise B.
///
/// Chunks are swizzled (chunk xor a function of the row) so the 8 row addresses of one ldmatrix 8×8 matrix, which share a
/// chunk column, fall in 8 different 16-byte bank groups: without it, rows of 64 bytes would meet in 2 bank groups
/// (4-way conflicts) and rows of 128 bytes or more in one (8-way). All offsets are in bytes from the tile's start.
/// </summary>
internal readonly struct SharedTile
{
    private readonly int _extent, _depth, _origin, _rowBytes;
    private readonly bool _spansK, _async;
    private readonly ulong _address;

    /// <param name="extent">the operand's M (for A) or N (for B)</param>
    /// <param name="depth">K</param>
    /// <param name="origin">the block's first m or n</param>
    /// <param name="tileExtent">the block's extent in m or n</param>
    /// <param name="spansK">whether k is the contiguous dimension</param>
    /// <param name="async">whether whole chunks may be copied with cp.async (16-byte aligned rows and start)</param>
    /// <param name="address">the operand's device address, for cp.async</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public SharedTile(int extent, int depth, int origin, int tileExtent, bool spansK, bool async, ulong address)
    {
        (_extent, _depth, _origin, _spansK, _async, _address) = (extent, depth, origin, spansK, async, address);
        _rowBytes = (spansK ? TensorCoreGemm.SliceDepth : tileExtent) * 2;
        Bytes = tileExtent * TensorCoreGemm.SliceDepth * 2;
    }

    public int Bytes { get; }

    private int ChunksPerRow => _rowBytes / 16;

    /// <summary>Rows of 64 bytes pair up in a 128-byte bank line, so their xor changes every second row; wider rows every row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Offset(int row, int chunk) => row * _rowBytes + ((chunk ^ (ChunksPerRow >= 8 ? row & 7 : (row >> 1) & 3)) << 4);

    /// <summary>
    /// Copies the slice at k0 into the tile at <paramref name="tileBase"/>, zero outside the matrix. Consecutive threads take
    /// consecutive chunks of a row, so global reads coalesce. On CUDA with aligned rows a chunk is one cp.async (a source
    /// size of 0 writes zeros); otherwise, and on the CPU simulator, 8 element loads and shared stores.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Fill(ArrayView<ushort> source, ArrayView<ushort> shared, int tileBase, int k0, int thread, int threads)
    {
        var chunksPerRow = ChunksPerRow;
        for (var e = thread; e < Bytes / 16; e += threads)
        {
            int row = e / chunksPerRow, chunk = e % chunksPerRow;
            int outer = _spansK ? _origin + row : k0 + row, along = _spansK ? k0 + chunk * 8 : _origin + chunk * 8;
            int outerLimit = _spansK ? _extent : _depth, alongLimit = _spansK ? _depth : _extent;
            var index = (long)outer * alongLimit + along;
            var destination = tileBase + Offset(row, chunk);
            var inside = outer < outerLimit && along < alongLimit;
            if (_async && CudaAsm.IsSupported)
                WarpTilePtx.CopyChunk(destination, inside ? _address + (ulong)index * 2 : _address, inside ? 16u : 0u);
            else
                for (var j = 0; j < 8; j++)
                {
                    ushort word = 0;
                    if (inside && along + j < alongLimit) word = source[index + j];
                    shared[destination / 2 + j] = word;
                }
        }
    }

    /// <summary>
    /// Where this lane points ldmatrix.x4 for the 16 × 16 fragment whose outer (m or n) dimension starts at
    /// <paramref name="outer16"/> in the tile, at the slice's first k16 step. The x4 load reads four 8×8 matrices, lanes
    /// 8q..8q+7 giving matrix q's row addresses; which half of the outer and the k dimension matrix q covers is the mma
    /// fragment order: A's registers go (m low, k low), (m high, k low), (m low, k high), (m high, k high); a B pair's
    /// (n low, k low), (n low, k high), (n high, k low), (n high, k high), i.e. b0, b1 of two adjacent n8 tiles.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int FragmentOffset(int outer16, int lane, bool isA)
    {
        var q = lane >> 3;
        int outerHalf = isA ? q & 1 : q >> 1, kHalf = isA ? q >> 1 : q & 1;
        return _spansK
            ? Offset(outer16 + (lane & 7) + 8 * outerHalf, kHalf)
            : Offset((lane & 7) + 8 * kHalf, outer16 / 8 + outerHalf);
    }

    /// <summary>
    /// The fragment offset moved to k16 step <paramref name="step"/> of the slice. Along k-contiguous rows the step is two
    /// chunks further, which the swizzle's xor (on the chunk's low bits, below that step's bit) leaves as an xor of 32 bytes;
    /// along k rows it is 16 rows down, where the swizzle repeats.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int AtStep(int fragmentOffset, int step) => _spansK ? fragmentOffset ^ (step << 5) : fragmentOffset + step * 16 * _rowBytes;

    public bool Transposed => !_spansK;
}
