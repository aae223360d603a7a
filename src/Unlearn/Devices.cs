using SimNpo.Kernels;

namespace SimNpo.Unlearn;

/// <summary>Picks the op implementation that `--device` names.</summary>
public static class Devices
{
    public const string Default = "cpu";

    public static readonly string[] Names = ["cpu", "reference"];

    /// <summary>"cpu" and "reference" both run the plain CPU reference until a faster CPU path exists.</summary>
    public static IOps<float> Create(string name) => name switch
    {
        "cpu" or "reference" => new ReferenceOps<float>(),
        _ => throw new NotSupportedException($"device '{name}' is not available (choose one of: {string.Join(", ", Names)})"),
    };
}
