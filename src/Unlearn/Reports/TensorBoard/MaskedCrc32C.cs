using System.Numerics;

namespace SimNpo.Unlearn.Reports.TensorBoard;

/// <summary>
/// CRC-32C (Castagnoli, the iSCSI CRC of RFC 3720) and the masking TFRecord applies to it, as TensorFlow's
/// tsl/lib/hash/crc32c.h defines it: rotate right by 15 bits, then add 0xa282ead8 (so that a CRC of data holding CRCs
/// does not degenerate).
/// </summary>
public static class MaskedCrc32C
{
    private const uint MaskDelta = 0xa282ead8;

    public static uint Crc(ReadOnlySpan<byte> data)
    {
        var crc = ~0u;
        // BitOperations.Crc32C is the SSE4.2/ARM instruction where there is one, a table otherwise.
        foreach (var b in data) crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }

    public static uint Mask(uint crc) => ((crc >> 15) | (crc << 17)) + MaskDelta;

    public static uint Masked(ReadOnlySpan<byte> data) => Mask(Crc(data));
}
