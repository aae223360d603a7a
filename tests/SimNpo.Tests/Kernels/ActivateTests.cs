using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>
/// The tanh GELU elementwise (Phi's MLP): eight inputs in [−3, 3] (the spec); 37 in [−8, 8], from an output of ~1e−22 to
/// one equal to the input in float32; 40000 of those, three of the fast CPU path's ranges.
/// </summary>
public class ActivateCase(Activation activation, int length, double inputScale, CaseSize size)
    : OpCase($"{(activation == Activation.GeluTanh ? "gelu" : "silu")} {length}", length)
{
    public static readonly ActivateCase Small = new(Activation.GeluTanh, 8, 3, CaseSize.Small);

    public static readonly OpCase[] Cases =
        [Small, new ActivateCase(Activation.GeluTanh, 37, 8, CaseSize.Shaped), new ActivateCase(Activation.GeluTanh, 40_000, 8, CaseSize.Ranged)];

    public override double InputScale => inputScale;

    public override CaseSize Size => size;

    public override int Float32Roundings => 18; // not used: the bounds are per element

    /// <summary>
    /// Per element, in ulps of what the element is made of (<see cref="ActivationFunctions"/> derives the gate within ~4.1 and
    /// the slope within ~14.5 float32 ulps absolute): the output |x| · (4.1 + 2) → 7; the gradient |dO| · (14.5 + 1.2) plus
    /// the add into |initial gradient| → 18.
    /// </summary>
    public override double[] Float32Bounds(OpResult result, OpBackend backend)
    {
        var x = result.Inputs[0];
        return Enumerable.Range(0, x.Length).Select(i => result.IsOutput
            ? 7 * OpResult.U * Math.Max(1, Math.Abs(x[i]))
            : 18 * OpResult.U * Math.Max(1, Math.Abs(result.OutputGrad![i]) + Math.Abs(result.InitialGrads![0][i]))).ToArray();
    }

    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs)
    {
        var output = ops.Allocate(InputLengths[0], inputs[0].Storage).All;
        ops.Activate(output, inputs[0], activation);
        return output;
    }

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads) =>
        ops.ActivateBackward(inputGrads[0], outputGrad, inputs[0], activation);
}

public class ActivateTests
{
    /// <summary>
    /// x, gelu(x), gelu'(x) from torch.nn.functional.gelu(x, approximate='tanh') and autograd in float64 (torch 1.13), printed
    /// by tools/fixtures/gelu_tanh_values.py.
    /// </summary>
    private static readonly double[][] PyTorch =
    [
        [-100.0, -0.0, 0.0],
        [-12.0, -0.0, 0.0],
        [-6.0, -8.43964897967453e-11, -7.709976012836329e-10],
        [-3.5, -0.0006161976553737403, -0.0024226437601167334],
        [-2.0, -0.04540230591222494, -0.0860992566236183],
        [-1.25, -0.13228579703028537, -0.12249263224964863],
        [-0.5, -0.15428599017485606, 0.13263009646535764],
        [-0.125, -0.05628280137577661, 0.40078459383720855],
        [0.0, 0.0, 0.5],
        [0.0625, 0.03280734930628146, 0.5498025899912479],
        [0.3, 0.18537092354275922, 0.7322954516388018],
        [1.0, 0.8411919906082768, 1.0829640838457826],
        [1.7, 1.624105895551156, 1.115914631452605],
        [2.5, 2.484915733910001, 1.037951576212666],
        [4.0, 3.9999297540518075, 1.000335123197122],
        [7.5, 7.5, 1.0],
        [100.0, 100.0, 1.0],
    ];

    /// <summary>
    /// The float64 reference against PyTorch's. PyTorch forms 1 + tanh z and 1 − tanh² z, which cancel for negative x: each
    /// is off by up to a few 2⁻⁵³ absolute, so its value by |x| times that and its slope by |x| · z'(x) ≤ |x|(1 + 0.14x²)
    /// times that (at x = −12 it gives exactly 0 for ~1e−61); hence 1e−15 · max(1, |x|) and 1e−15 · max(1, |x|³).
    /// </summary>
    [Test]
    public void GeluTanhMatchesPyTorch()
    {
        IOps<double> ops = new ReferenceOps<double>();
        var x = ops.Upload(PyTorch.Select(row => row[0]).ToArray());
        var (output, slope) = (ops.Allocate(PyTorch.Length).All, ops.Allocate(PyTorch.Length).All);
        ops.Activate(output, x, Activation.GeluTanh);
        ops.ActivateBackward(slope, ops.Upload(Enumerable.Repeat(1.0, PyTorch.Length).ToArray()), x, Activation.GeluTanh);
        var (values, slopes) = (OpData.Download(output), OpData.Download(slope));
        for (var i = 0; i < PyTorch.Length; i++)
        {
            var magnitude = Math.Max(1, Math.Abs(PyTorch[i][0]));
            Assert.That(values[i], Is.EqualTo(PyTorch[i][1]).Within(1e-15 * magnitude), $"gelu({PyTorch[i][0]})");
            Assert.That(slopes[i], Is.EqualTo(PyTorch[i][2]).Within(1e-15 * Math.Pow(magnitude, 3)), $"gelu'({PyTorch[i][0]})");
        }
    }

    public static IEnumerable<TestCaseData> Backends() =>
        from backend in OpBackend.All select new TestCaseData(backend).SetArgDisplayNames(backend.ToString());

    /// <summary>
    /// ±100 and ±1e20 (whose x² overflows float32): the GELU is 0 and x, its slope 0 and 1, finite on every backend; e^−2z
    /// overflows to ∞ or underflows to 0 on the way.
    /// </summary>
    [TestCaseSource(nameof(Backends))]
    public void SaturatedInputsStayFinite(OpBackend backend)
    {
        var ops = backend.Ops;
        var (x, output, slope) = (ops.Upload(-100, 100, -1e20, 1e20), ops.Allocate(4).All, ops.Allocate(4).All);
        ops.Activate(output, x, Activation.GeluTanh);
        ops.ActivateBackward(slope, ops.Upload(1, 1, 1, 1), x, Activation.GeluTanh);
        Assert.That(OpData.Download(output), Is.EqualTo(new[] { 0.0, 100, 0, (float)1e20 }).Within(1e-30));
        Assert.That(OpData.Download(slope), Is.EqualTo(new[] { 0.0, 1, 0, 1 }).Within(1e-30));
    }
}
