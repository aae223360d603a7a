using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>The device embedding beyond <see cref="OpAgreementTests"/>: exactness, and what a device does with a bad token.</summary>
public class EmbeddingKernelTests
{
    [TestCaseSource(typeof(SimulatedDevices), nameof(SimulatedDevices.Names))]
    public void ForwardCopiesRowsExactly(string device)
    {
        var op = EmbeddingCase.Shaped;
        var table = OpData.Random(new Random(3), op.Vocab * op.Dim);
        Assert.That(OpRuns.Forward(op, SimulatedDevices.Get(device), [table]), Is.EqualTo(op.RunForward<float>([table])));
    }

    /// <summary>
    /// The backward sums a token's rows onto the table in row order, as the reference does, without atomics: in float32 it is
    /// the float32 reference to the bit, on every run.
    /// </summary>
    [TestCaseSource(typeof(SimulatedDevices), nameof(SimulatedDevices.Names))]
    public void BackwardIsTheFloat32ReferenceBitForBit(string device)
    {
        var op = EmbeddingCase.Shaped;
        var random = new Random(5);
        var table = OpData.Random(random, op.Vocab * op.Dim);
        var (outputGrad, start) = (OpData.Random(random, op.Tokens.Length * op.Dim), OpData.Random(random, table.Length));
        var expected = OpRuns.Backward(op, new ReferenceOps<float>(), [table], outputGrad, [start])[0];
        Assert.That(OpRuns.Backward(op, SimulatedDevices.Get(device), [table], outputGrad, [start])[0], Is.EqualTo(expected));
    }

    /// <summary>A device cannot throw: a token outside the table gives a NaN row, which no loss survives unnoticed.</summary>
    [TestCaseSource(typeof(SimulatedDevices), nameof(SimulatedDevices.Names))]
    public void ATokenOutsideTheTableGivesNaN(string device)
    {
        IOps<float> ops = SimulatedDevices.Get(device);
        var output = ops.Allocate(4).All;
        ops.Embedding(output, ops.UploadInts(1, 2), ops.Upload(1, 2, 3, 4), 2);
        Assert.That(OpData.Download(output), Is.EqualTo(new[] { 3, 4, double.NaN, double.NaN }));
    }
}
