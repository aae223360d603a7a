namespace SimNpo.Model.SafeTensors;

/// <summary>The element types the safetensors format defines; <see cref="SafeTensorsDTypes.HeaderName"/> gives the header spelling.</summary>
public enum SafeTensorsDType { Bool, U8, I8, F8E4M3, F8E5M2, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 }

public static class SafeTensorsDTypes
{
    private static readonly Dictionary<string, SafeTensorsDType> ByHeaderName =
        Enum.GetValues<SafeTensorsDType>().ToDictionary(HeaderName);

    public static int SizeInBytes(this SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.Bool or SafeTensorsDType.U8 or SafeTensorsDType.I8 or SafeTensorsDType.F8E4M3 or SafeTensorsDType.F8E5M2 => 1,
        SafeTensorsDType.I16 or SafeTensorsDType.U16 or SafeTensorsDType.F16 or SafeTensorsDType.BF16 => 2,
        SafeTensorsDType.I32 or SafeTensorsDType.U32 or SafeTensorsDType.F32 => 4,
        SafeTensorsDType.F64 or SafeTensorsDType.I64 or SafeTensorsDType.U64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    /// <summary>The dtype as the header spells it: "BOOL", "F8_E4M3", "BF16", ...</summary>
    public static string HeaderName(this SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.Bool => "BOOL",
        SafeTensorsDType.F8E4M3 => "F8_E4M3",
        SafeTensorsDType.F8E5M2 => "F8_E5M2",
        _ => dtype.ToString(),
    };

    /// <summary>Exact, case-sensitive match of a header spelling (Enum.TryParse would also take "3" or "bool").</summary>
    public static bool TryParse(string headerName, out SafeTensorsDType dtype) => ByHeaderName.TryGetValue(headerName, out dtype);
}
