using System.Numerics;
using ILGPU.Algorithms;

namespace SimNpo.Kernels;

/// <summary>The MLP activations: SiLU (Llama, Mistral, Qwen2) and the tanh GELU (gelu_new / gelu_pytorch_tanh: Phi, Gemma).</summary>
public enum Activation
{
    /// <summary>silu(x) = x · σ(x).</summary>
    Silu,

    /// <summary>gelu(x) = 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³))).</summary>
    GeluTanh,
}

/// <summary>
/// The one place each <see cref="Activation"/>'s value and derivative live, in the three forms the backends compute in: over T
/// (the references), float32 scalars (the ILGPU kernels; XMath also runs on the host) and <see cref="Vector{T}"/> of float32
/// (the fast CPU path, with .NET's vectorised exponential, within 3 ulps). Adding an activation adds a case to each.
/// <para>
/// Both are written as act(x) = x · Gate(x), with Gate the sigmoid σ for SiLU and, for the tanh GELU, the identity
/// 0.5 · (1 + tanh z) = σ(2z), z = √(2/π) · (x + 0.044715 · x³): one exponential e = e^−2z and no tanh, no cancellation in
/// 1 + tanh z for negative x, and saturation without NaN (e overflows to ∞ and the gate becomes 0, or underflows to 0 and
/// it becomes 1). <c>Backward(x, gate, upstream)</c> is upstream · act'(x) given gate = Gate(x). For SiLU it is
/// upstream · σ · (1 + x(1 − σ)) in exactly the order SwiGLU always used, so SiLU keeps its bits on every backend.
/// </para>
/// <para>
/// The GELU's is upstream · (σ + x · 2z'(x) · σ · (1 − σ)), z'(x) = √(2/π)(1 + 3 · 0.044715 · x²). Its 1 − σ = σ(−2z) is
/// formed as 1 / (1 + 1/e), from the exponential recomputed, not as 1 − gate: for x of a few units 1 − gate would cancel
/// and x · z'(x) (≈ 35 at x = 5) would magnify that into tens of ulps; this way each factor keeps its relative accuracy
/// (≈ |2z| · 6u from the argument, the exponential's ulps, a few roundings) and |x · 2z' · σ(1 − σ)| ≤ 0.25 while
/// |2z| times it stays ≤ 0.55, so the slope is within about 14 float32 ulps of 1 absolute. e = ∞ gives 1/(1 + 0) = 1 and
/// e = 0 gives 1/∞ = 0, never NaN; x is clamped to ±64 in z' alone, where σ(1 − σ) is exactly 0 in float32 and float64
/// anyway, so x² cannot overflow into 0 · ∞.
/// </para>
/// </summary>
public static class ActivationFunctions
{
    private const double SqrtTwoOverPi = 0.7978845608028654; // √(2/π)
    private const double Cubic = 0.044715;
    private const double SlopeClamp = 64;

    /// <summary>The reference form: act(x) = x · Gate(x).</summary>
    public static T Gate<T>(Activation activation, T x) where T : unmanaged, IFloatingPointIeee754<T> => activation switch
    {
        Activation.Silu => T.One / (T.One + T.Exp(-x)),
        Activation.GeluTanh => T.One / (T.One + GeluExponential(x)),
        _ => throw Unknown(activation),
    };

    /// <summary>upstream · act'(x), given gate = <see cref="Gate{T}"/>(x).</summary>
    public static T Backward<T>(Activation activation, T x, T gate, T upstream) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (activation)
        {
            case Activation.Silu:
                return upstream * gate * (T.One + x * (T.One - gate));
            case Activation.GeluTanh:
                var complement = T.One / (T.One + T.One / GeluExponential(x));
                var clamped = T.Clamp(x, T.CreateTruncating(-SlopeClamp), T.CreateTruncating(SlopeClamp));
                var slope = T.CreateTruncating(SqrtTwoOverPi) * (T.One + T.CreateTruncating(3 * Cubic) * clamped * clamped);
                return upstream * (gate + x * Two<T>() * gate * complement * slope);
            default:
                throw Unknown(activation);
        }
    }

    /// <summary>The float32 form of <see cref="Gate{T}"/> for device kernels (constants written as floats: see PtxCompilationTests).</summary>
    public static float Gate(Activation activation, float x) => activation == Activation.Silu
        ? 1f / (1f + XMath.Exp(-x))
        : 1f / (1f + GeluExponential(x));

    /// <summary>The float32 form of <see cref="Backward{T}"/> for device kernels.</summary>
    public static float Backward(Activation activation, float x, float gate, float upstream)
    {
        if (activation == Activation.Silu) return upstream * gate * (1f + x * (1f - gate));
        var complement = 1f / (1f + 1f / GeluExponential(x));
        var clamped = XMath.Clamp(x, -(float)SlopeClamp, (float)SlopeClamp);
        var slope = (float)SqrtTwoOverPi * (1f + (float)(3 * Cubic) * clamped * clamped);
        return upstream * (gate + x * 2f * gate * complement * slope);
    }

    /// <summary>The vectorised form of <see cref="Gate{T}"/> for the fast CPU path.</summary>
    public static Vector<float> Gate(Activation activation, Vector<float> x) => activation switch
    {
        Activation.Silu => Vector<float>.One / (Vector<float>.One + Vector.Exp(-x)),
        Activation.GeluTanh => Vector<float>.One / (Vector<float>.One + GeluExponential(x)),
        _ => throw Unknown(activation),
    };

    /// <summary>The vectorised form of <see cref="Backward{T}"/>.</summary>
    public static Vector<float> Backward(Activation activation, Vector<float> x, Vector<float> gate, Vector<float> upstream)
    {
        var one = Vector<float>.One;
        switch (activation)
        {
            case Activation.Silu:
                return upstream * gate * (one + x * (one - gate));
            case Activation.GeluTanh:
                var complement = one / (one + one / GeluExponential(x));
                var clamped = Vector.Clamp(x, new Vector<float>(-(float)SlopeClamp), new Vector<float>((float)SlopeClamp));
                var slope = (float)SqrtTwoOverPi * (one + (float)(3 * Cubic) * clamped * clamped);
                return upstream * (gate + x * 2f * gate * complement * slope);
            default:
                throw Unknown(activation);
        }
    }

    /// <summary>e^−2z, z = √(2/π)(x + 0.044715 x³): the GELU's gate is 1/(1 + e), its complement 1/(1 + 1/e).</summary>
    private static T GeluExponential<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> =>
        T.Exp(-Two<T>() * T.CreateTruncating(SqrtTwoOverPi) * (x + T.CreateTruncating(Cubic) * x * x * x));

    private static float GeluExponential(float x) => XMath.Exp(-2f * (float)SqrtTwoOverPi * (x + (float)Cubic * x * x * x));

    private static Vector<float> GeluExponential(Vector<float> x) => Vector.Exp(-2f * (float)SqrtTwoOverPi * (x + (float)Cubic * x * x * x));

    private static T Two<T>() where T : unmanaged, IFloatingPointIeee754<T> => T.One + T.One;

    private static ArgumentOutOfRangeException Unknown(Activation activation) =>
        new(nameof(activation), activation, "no such activation (Activation lists Silu and GeluTanh)");
}
