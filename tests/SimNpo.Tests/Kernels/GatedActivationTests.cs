using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>
/// The gated activation elementwise, with SiLU (SwiGLU) and the tanh GELU (GeGLU): eight elements with gates in [−3, 3], so
/// the gate is exercised well away from its linear middle (the spec); 37 (no multiple of a warp or a vector) with gates and
/// ups in [−8, 8], the gate from nearly 0 to exactly 1 in float32; 40000 of those, three of the fast CPU path's ranges.
/// </summary>
public class GatedActivationCase(Activation activation, int length, double inputScale, CaseSize size)
    : OpCase($"{(activation == Activation.Silu ? "swiglu" : "geglu")} {length}", length, length)
{
    public static readonly GatedActivationCase Small = new(Activation.Silu, 8, 3, CaseSize.Small);

    public static readonly OpCase[] Cases =
    [
        Small, new GatedActivationCase(Activation.Silu, 37, 8, CaseSize.Shaped), new GatedActivationCase(Activation.Silu, 40_000, 8, CaseSize.Ranged),
        new GatedActivationCase(Activation.GeluTanh, 8, 3, CaseSize.Small), new GatedActivationCase(Activation.GeluTanh, 37, 8, CaseSize.Shaped),
        new GatedActivationCase(Activation.GeluTanh, 40_000, 8, CaseSize.Ranged),
    ];

    public override double InputScale => inputScale;

    public override CaseSize Size => size;

    public override int Float32Roundings => 12; // SiLU, all in float32: exp (≤ 1 ulp on the CPU, ≤ 2 on a device), a division and up to six products and sums

    /// <summary>
    /// SiLU keeps its bound relative to the largest value. The GELU's is per element, in ulps of what the element is made of
    /// (<see cref="ActivationFunctions"/> derives the gate within ~4.1 and the slope within ~14.5 float32 ulps absolute):
    /// the output |g·u| · (4.1 + 2) → 7; the up gradient |dO·g| · (4.1 + 2) plus the add → 8; the gate gradient
    /// |dO·u| · (14.5 + 2.3 for forming dO·u and the product) plus the add → 20; each with |initial gradient| for the add.
    /// </summary>
    public override double[] Float32Bounds(OpResult result, OpBackend backend)
    {
        if (activation == Activation.Silu) return base.Float32Bounds(result, backend);
        var (gate, up) = (result.Inputs[0], result.Inputs[1]);
        return Enumerable.Range(0, gate.Length).Select(i => result.Input switch
        {
            -1 => 7 * OpResult.U * Math.Max(1, Math.Abs(gate[i] * up[i])),
            0 => 20 * OpResult.U * Math.Max(1, Math.Abs(result.OutputGrad![i] * up[i]) + Math.Abs(result.InitialGrads![0][i])),
            _ => 8 * OpResult.U * Math.Max(1, Math.Abs(result.OutputGrad![i] * gate[i]) + Math.Abs(result.InitialGrads![1][i])),
        }).ToArray();
    }

    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs)
    {
        var output = ops.Allocate(length, inputs[0].Storage).All;
        ops.GatedActivation(output, inputs[0], inputs[1], activation);
        return output;
    }

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads) =>
        ops.GatedActivationBackward(inputGrads[0], inputGrads[1], outputGrad, inputs[0], inputs[1], activation);
}

public class GatedActivationTests
{
    [Test]
    public void SiluForwardIsSiluOfGateTimesUp()
    {
        var inputs = GatedActivationCase.Small.RandomInputs(seed: 13);
        var output = GatedActivationCase.Small.RunForward<double>(inputs);
        var expected = inputs[0].Zip(inputs[1], (g, u) => g / (1 + Math.Exp(-g)) * u);
        Assert.That(output, Is.EqualTo(expected).Within(1e-15)); // float64, values below 3
    }

    /// <summary>
    /// SiLU through <see cref="ActivationFunctions"/> is bit for bit SwiGLU's arithmetic before the activations were made
    /// one op, written out here in its order (float32 reference): g · σ(g) · u; dO · u · σ · (1 + g(1 − σ)); dO · g · σ.
    /// </summary>
    [Test]
    public void SiluKeepsSwiGlusOrderOfOperations()
    {
        var op = new GatedActivationCase(Activation.Silu, 64, 8, CaseSize.Small);
        var inputs = op.RandomInputs(seed: 15);
        var (gate, up) = (inputs[0].Select(x => (float)x).ToArray(), inputs[1].Select(x => (float)x).ToArray());
        var outputGrad = OpData.Random(new Random(16), gate.Length);
        float Sigmoid(float x) => 1 / (1 + MathF.Exp(-x));
        var output = gate.Select((g, i) => (double)(g * Sigmoid(g) * up[i]));
        var gateGrad = gate.Select((g, i) => (double)((float)outputGrad[i] * up[i] * Sigmoid(g) * (1 + g * (1 - Sigmoid(g)))));
        var upGrad = gate.Select((g, i) => (double)((float)outputGrad[i] * g * Sigmoid(g)));
        Assert.That(op.RunForward<float>(inputs), Is.EqualTo(output));
        var grads = op.RunBackward<float>(inputs, outputGrad);
        Assert.That(grads[0], Is.EqualTo(gateGrad));
        Assert.That(grads[1], Is.EqualTo(upGrad));
    }

    /// <summary>GeGLU is the tanh GELU of the gate times up, the GELU written from its definition (float64, values below 3).</summary>
    [Test]
    public void GeluTanhForwardIsGeluOfGateTimesUp()
    {
        var inputs = GatedActivationCase.Small.RandomInputs(seed: 14);
        IOps<double> ops = new ReferenceOps<double>();
        var output = ops.Allocate(inputs[0].Length).All;
        ops.GatedActivation(output, ops.Upload(inputs[0]), ops.Upload(inputs[1]), Activation.GeluTanh);
        var expected = inputs[0].Zip(inputs[1], (g, u) => 0.5 * g * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (g + 0.044715 * g * g * g))) * u);
        Assert.That(OpData.Download(output), Is.EqualTo(expected).Within(1e-15));
    }

    [TestCase(Activation.Silu)]
    [TestCase(Activation.GeluTanh)]
    public void VeryNegativeGatesGiveZeroNotNaN(Activation activation)
    {
        IOps<double> ops = new ReferenceOps<double>();
        var (output, gateGrad, upGrad) = (ops.Allocate(1).All, ops.Allocate(1).All, ops.Allocate(1).All);
        var (gate, up) = (ops.Upload(-1000), ops.Upload(2));
        ops.GatedActivation(output, gate, up, activation);
        ops.GatedActivationBackward(gateGrad, upGrad, ops.Upload(1), gate, up, activation);
        Assert.That(OpData.Download(output).Concat(OpData.Download(gateGrad)).Concat(OpData.Download(upGrad)), Is.All.EqualTo(0));
    }

    public static IEnumerable<TestCaseData> Backends() =>
        from backend in OpBackend.All
        from activation in new[] { Activation.Silu, Activation.GeluTanh }
        select new TestCaseData(backend, activation).SetArgDisplayNames(backend.ToString(), activation.ToString());

    /// <summary>
    /// At a gate of −100 the exponential overflows to ∞ in float32: the gate must come out 0, not NaN; at +100 it is 1 (for
    /// the GELU too: its e^−2z is e^∓71525). On every backend, the float32 reference included.
    /// </summary>
    [TestCaseSource(nameof(Backends))]
    public void SaturatedGatesStayFinite(OpBackend backend, Activation activation)
    {
        var ops = backend.Ops;
        var (gate, up, output) = (ops.Upload(-100, 100), ops.Upload(3, 3), ops.Allocate(2).All);
        ops.GatedActivation(output, gate, up, activation);
        Assert.That(OpData.Download(output), Is.EqualTo(new[] { 0.0, 300 }).Within(1e-30));
        var (gateGrad, upGrad) = (ops.Allocate(2).All, ops.Allocate(2).All);
        ops.GatedActivationBackward(gateGrad, upGrad, ops.Upload(1, 1), gate, up, activation);
        Assert.That(OpData.Download(gateGrad), Is.EqualTo(new[] { 0.0, 3 }).Within(1e-30));
        Assert.That(OpData.Download(upGrad), Is.EqualTo(new[] { 0.0, 100 }).Within(1e-30));
    }
}
