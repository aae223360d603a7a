using SimNpo.Kernels;
using SimNpo.Kernels.Cpu;
using SimNpo.Kernels.Runtime;

namespace SimNpo.Tests.Kernels.Cpu;

/// <summary>
/// The packed SGEMM beyond its cases (<see cref="MatMulCase"/>, run on every backend by <see cref="OpAgreementTests"/>):
/// it repeats its bits and is what the "cpu" device opens.
/// </summary>
public class FastMatMulTests
{
    /// <summary>Each element is summed by one thread in a fixed order, so a second call reproduces every bit.</summary>
    [Test]
    public void RepeatedCallsGiveIdenticalBits()
    {
        const int rows = 300, inDim = 270, outDim = 260;
        var random = new Random(5);
        var (input, weight, outputGrad) = (RandomFloats(random, rows * inDim), RandomFloats(random, outDim * inDim), RandomFloats(random, rows * outDim));
        float[][] Run()
        {
            var (output, inputGrad, weightGrad) = (new float[rows * outDim], new float[rows * inDim], new float[outDim * inDim]);
            FastMatMul.Forward(output, input, weight, rows, inDim, outDim);
            FastMatMul.Backward(inputGrad, weightGrad, outputGrad, input, weight, rows, inDim, outDim);
            return [output, inputGrad, weightGrad];
        }
        var (first, second) = (Run(), Run());
        for (var i = 0; i < first.Length; i++)
            Assert.That(second[i].Select(BitConverter.SingleToInt32Bits), Is.EqualTo(first[i].Select(BitConverter.SingleToInt32Bits)));
    }

    [Test]
    public void TheCpuDeviceIsTheFastPath()
    {
        var ops = Devices.Create("cpu");
        Assert.That(ops, Is.InstanceOf<FastCpuOps>());
        Assert.That(ops.Name, Does.StartWith($"cpu ({FastMatMul.InstructionSet}"));
    }

    private static float[] RandomFloats(Random random, int length) =>
        Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
}
