namespace SimNpo.Kernels;

/// <summary>
/// How a buffer stores its elements, apart from the type ops compute in (float32 on the fast CPU and ILGPU paths, float64
/// or float32 on the reference). llm.c's floatX: the one place a storage number type is named. Adding one (F16, FP8) means
/// a member here, its conversions beside <see cref="BFloat16"/>, and its buffer per backend.
/// </summary>
public enum Storage
{
    /// <summary>Elements stored as the compute type itself.</summary>
    Native,

    /// <summary>
    /// bfloat16 (1 sign, 8 exponent, 7 mantissa bits: float32's range at 2^-8 relative precision), stored as 16-bit
    /// integers because neither .NET 10 nor ILGPU has the type; ops widen to float32 on load and round to nearest even on store.
    /// </summary>
    BFloat16,
}

/// <summary>
/// Which storage each kind of tensor gets: the weights, activations and gradients a step reads and writes (<see cref="Bulk"/>),
/// the float32 master weights AdamW updates when the bulk storage is narrower, and the optimizer's moments. Statistics
/// (norm inverses, log-sum-exps, log-probs, per-sequence sums) are always stored in the compute type.
/// </summary>
public sealed record Precision(string Name, Storage Bulk)
{
    public static readonly Precision Fp32 = new("fp32", Storage.Native);
    public static readonly Precision Bf16 = new("bf16", Storage.BFloat16);

    public static readonly IReadOnlyList<Precision> All = [Fp32, Bf16];

    /// <summary>AdamW keeps float32 master weights whenever the weights themselves are narrower than float32.</summary>
    public bool HasMasterWeights => Bulk != Storage.Native;

    public static Precision Parse(string name) =>
        All.FirstOrDefault(p => p.Name == name)
            ?? throw new ArgumentException($"unknown precision '{name}' (choose one of: {string.Join(", ", All.Select(p => p.Name))})");

    public override string ToString() => Name;
}
