using SimNpo.Kernels;
using SimNpo.Kernels.Ilgpu;
using GemmLayout = SimNpo.Kernels.MatMul.Ilgpu.GemmLayout;
using GemmShape = SimNpo.Kernels.MatMul.Ilgpu.GemmShape;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// IlgpuOps sends the linear layer's products on bfloat16 views to the tensor-core GEMM on warps of 32 (the NVIDIA-like
/// simulated device) and widens them onto the SGEMM elsewhere (the default one, warps of 4), and keeps float32 views on the
/// SGEMM. Both bfloat16 paths make exact products, float32 sums and one rounding, so <see cref="TensorCoreGemmTests"/>'
/// bound holds for either.
/// </summary>
public class MatMulDispatchTests
{
    private const int Rows = 20, InDim = 24, OutDim = 16;

    [TestCaseSource(typeof(SimulatedDevices), nameof(SimulatedDevices.Names))]
    public void BFloat16ForwardAndBackwardMatchTheFloat64Products(string device)
    {
        IOps<float> ops = SimulatedDevices.Get(device);
        var random = new Random(3);
        var (input, weight, outputGrad) = (TensorCoreGemmTests.RandomWords(random, Rows * InDim), TensorCoreGemmTests.RandomWords(random, OutDim * InDim),
            TensorCoreGemmTests.RandomWords(random, Rows * OutDim));
        var (inputGrad, weightGrad) = (TensorCoreGemmTests.RandomWords(random, Rows * InDim), TensorCoreGemmTests.RandomWords(random, OutDim * InDim));
        using var buffer = ops.Allocate(3 * Rows * InDim + 2 * OutDim * InDim + 2 * Rows * OutDim, Storage.BFloat16);
        var carver = new ViewCarver<float>(buffer);
        View<float> Take(ushort[] words)
        {
            var view = carver.Take(words.Length);
            view.CopyFrom(words.Select(BFloat16.ToFloat).ToArray());
            return view;
        }
        var (inputView, weightView, outputGradView, inputGradView, weightGradView) = (Take(input), Take(weight), Take(outputGrad), Take(inputGrad),
            Take(weightGrad));
        var output = carver.Take(Rows * OutDim);
        ops.MatMul(output, inputView, weightView, Rows, InDim, OutDim);
        ops.MatMulBackward(inputGradView, weightGradView, outputGradView, inputView, weightView, Rows, InDim, OutDim);

        AssertWithin(output,
            TensorCoreGemmTests.ExpectedProduct(input, weight, null, new GemmShape(Rows, OutDim, InDim, GemmLayout.ASpansK | GemmLayout.BSpansK)));
        AssertWithin(inputGradView, TensorCoreGemmTests.ExpectedProduct(outputGrad, weight, inputGrad, new GemmShape(Rows, InDim, OutDim, GemmLayout.ASpansK)));
        AssertWithin(weightGradView, TensorCoreGemmTests.ExpectedProduct(outputGrad, input, weightGrad, new GemmShape(OutDim, InDim, Rows, GemmLayout.None)));
    }

    private static void AssertWithin(View<float> actual, (double[] Values, double[] Magnitudes, int K) expected)
    {
        var values = actual.ToArray();
        for (var i = 0; i < values.Length; i++)
            Assert.That(values[i], Is.EqualTo(expected.Values[i]).Within(TensorCoreGemmTests.Tolerance(expected, i, floatOutput: false)), $"element {i}");
    }

    [Test]
    public void Float32ViewsStayOnTheSgemm()
    {
        var ops = SimulatedDevices.Get(SimulatedDevices.Nvidia);
        var random = new Random(4);
        var (input, weight) = (OpData.Random(random, Rows * InDim).Select(x => (float)x).ToArray(),
            OpData.Random(random, OutDim * InDim).Select(x => (float)x).ToArray());
        using var buffer = ops.Allocate(Rows * InDim + OutDim * InDim + 2 * Rows * OutDim);
        var carver = new ViewCarver<float>(buffer);
        var (inputView, weightView, output, sgemmOutput) = (carver.Take(Rows * InDim), carver.Take(OutDim * InDim), carver.Take(Rows * OutDim),
            carver.Take(Rows * OutDim));
        inputView.CopyFrom(input);
        weightView.CopyFrom(weight);
        ((IOps<float>)ops).MatMul(output, inputView, weightView, Rows, InDim, OutDim);
        new MatMul.Ilgpu.Launcher(ops.Accelerator).Forward(sgemmOutput.ArrayView(), inputView.ArrayView(), weightView.ArrayView(), Rows, InDim, OutDim);
        Assert.That(output.ToArray(), Is.EqualTo(sgemmOutput.ToArray()), "the same kernel, the same bits");
    }

    [Test]
    public void MixedStoragesAreRefusedNamingTheOp()
    {
        var ops = SimulatedDevices.Get(SimulatedDevices.Nvidia);
        using var words = ops.Allocate(Rows * InDim + Rows * OutDim, Storage.BFloat16);
        using var floats = ops.Allocate(OutDim * InDim);
        var error = Assert.Throws<ArgumentException>(() =>
            ((IOps<float>)ops).MatMul(words.All.Slice(Rows * InDim, Rows * OutDim), words.All.Slice(0, Rows * InDim), floats.All, Rows, InDim, OutDim));
        Assert.That(error!.Message, Does.Contain("MatMul").And.Contain("BFloat16").And.Contain("Native"));
    }
}
