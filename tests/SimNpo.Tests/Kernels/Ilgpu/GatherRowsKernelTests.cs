using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>The device row gather and scatter-add beyond <see cref="OpAgreementTests"/>: exactness, and what a device does with a bad index.</summary>
public class GatherRowsKernelTests
{
    [TestCaseSource(typeof(SimulatedDevices), nameof(SimulatedDevices.Names))]
    public void GatherCopiesRowsExactly(string device)
    {
        var op = GatherRowsCase.Shaped;
        var table = OpData.Random(new Random(3), op.TableRows * op.Dim);
        Assert.That(OpRuns.Forward(op, SimulatedDevices.Get(device), [table]), Is.EqualTo(op.RunForward<float>([table])));
    }

    /// <summary>
    /// The scatter-add sums an index's rows onto the table in row order, as the reference does, without atomics: in float32 it is
    /// the float32 reference to the bit, on every run.
    /// </summary>
    [TestCaseSource(typeof(SimulatedDevices), nameof(SimulatedDevices.Names))]
    public void ScatterAddIsTheFloat32ReferenceBitForBit(string device)
    {
        var op = GatherRowsCase.Shaped;
        var random = new Random(5);
        var table = OpData.Random(random, op.TableRows * op.Dim);
        var (outputGrad, start) = (OpData.Random(random, op.Indices.Length * op.Dim), OpData.Random(random, table.Length));
        var expected = OpRuns.Backward(op, new ReferenceOps<float>(), [table], outputGrad, [start])[0];
        Assert.That(OpRuns.Backward(op, SimulatedDevices.Get(device), [table], outputGrad, [start])[0], Is.EqualTo(expected));
    }

    /// <summary>A device cannot throw: an index outside the table gives a NaN row, which no loss survives unnoticed.</summary>
    [TestCaseSource(typeof(SimulatedDevices), nameof(SimulatedDevices.Names))]
    public void AnIndexOutsideTheTableGivesNaN(string device)
    {
        IOps<float> ops = SimulatedDevices.Get(device);
        var output = ops.Allocate(4).All;
        ops.GatherRows(output, ops.UploadInts(1, 2), ops.Upload(1, 2, 3, 4), 2);
        Assert.That(OpData.Download(output), Is.EqualTo(new[] { 3, 4, double.NaN, double.NaN }));
    }
}
