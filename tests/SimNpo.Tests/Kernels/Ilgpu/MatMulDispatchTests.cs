using SimNpo.Kernels;
using SimNpo.Kernels.Ilgpu;
using GemmLayout = SimNpo.Kernels.MatMul.Ilgpu.GemmLayout;
using GemmShape = SimNpo.Kernels.MatMul.Ilgpu.GemmShape;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// IlgpuOps sends the linear layer's products on bfloat16 views to the tensor-core GEMM (the SGEMM cannot even read them:
/// their words are no floats) and keeps float32 views on the SGEMM, on the NVIDIA-like simulated device.
/// </summary>
public class MatMulDispatchTests
{
    private const int Rows = 20, InDim = 24, OutDim = 16;

    [Test]
    public void BFloat16ViewsGoToTheTensorCoreGemm()
    {
        var ops = SimulatedDevices.Get(SimulatedDevices.Nvidia);
        var random = new Random(3);
        var (input, weight) = (TensorCoreGemmTests.RandomWords(random, Rows * InDim), TensorCoreGemmTests.RandomWords(random, OutDim * InDim));
        using var buffer = ops.Allocate(Rows * InDim + OutDim * InDim + Rows * OutDim, Storage.BFloat16);
        var carver = new ViewCarver<float>(buffer);
        var (inputView, weightView, output) = (carver.Take(Rows * InDim), carver.Take(OutDim * InDim), carver.Take(Rows * OutDim));
        inputView.CopyFrom(input.Select(BFloat16.ToFloat).ToArray());
        weightView.CopyFrom(weight.Select(BFloat16.ToFloat).ToArray());
        ((IOps<float>)ops).MatMul(output, inputView, weightView, Rows, InDim, OutDim);

        var expected = TensorCoreGemmTests.ExpectedProduct(input, weight, null, new GemmShape(Rows, OutDim, InDim, GemmLayout.ASpansK | GemmLayout.BSpansK));
        var actual = output.ToArray();
        for (var i = 0; i < actual.Length; i++)
            Assert.That(actual[i], Is.EqualTo(expected.Values[i]).Within(TensorCoreGemmTests.Tolerance(expected, i, floatOutput: false)), $"element {i}");
    }

    [Test]
    public void Float32ViewsStayOnTheSgemm()
    {
        var ops = SimulatedDevices.Get(SimulatedDevices.Nvidia);
        var random = new Random(4);
        var (input, weight) = (OpData.Random(random, Rows * InDim).Select(x => (float)x).ToArray(), OpData.Random(random, OutDim * InDim).Select(x => (float)x).ToArray());
        using var buffer = ops.Allocate(Rows * InDim + OutDim * InDim + 2 * Rows * OutDim);
        var carver = new ViewCarver<float>(buffer);
        var (inputView, weightView, output, sgemmOutput) = (carver.Take(Rows * InDim), carver.Take(OutDim * InDim), carver.Take(Rows * OutDim), carver.Take(Rows * OutDim));
        inputView.CopyFrom(input);
        weightView.CopyFrom(weight);
        ((IOps<float>)ops).MatMul(output, inputView, weightView, Rows, InDim, OutDim);
        new MatMul.Ilgpu.Kernels(ops.Accelerator).Forward(sgemmOutput.ArrayView(), inputView.ArrayView(), weightView.ArrayView(), Rows, InDim, OutDim);
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
