namespace SimNpo.Kernels;

/// <summary>What a plan needs to know of a <see cref="Storage"/>: its element size and its command-line name.</summary>
public static class StorageFacts
{
    /// <summary>Bytes one element takes in this storage, when the compute type takes nativeBytes.</summary>
    public static int ElementBytes(this Storage storage, int nativeBytes) => storage switch
    {
        Storage.Native => nativeBytes,
        Storage.BFloat16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(storage), storage, "a storage without a known element size"),
    };

    /// <summary>fp32 or bf16, the names --precision and --optimizer-state use (float32 being the compute type).</summary>
    public static string Name(this Storage storage) => storage switch
    {
        Storage.Native => Precision.Fp32.Name,
        Storage.BFloat16 => Precision.Bf16.Name,
        _ => throw new ArgumentOutOfRangeException(nameof(storage), storage, "a storage without a name"),
    };
}
