using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>Rows of 37 (a multiple of neither warp size), token 3 three times so the scatter-adds meet in one table row.</summary>
public class EmbeddingKernelCase() : OpCase("embedding 6x37", Vocab * Dim)
{
    public const int Vocab = 7, Dim = 37;
    public static readonly int[] Tokens = [3, 0, 3, 6, 3, 1];

    // The forward copies. The backward adds three rows into a start value, all in [−1, 1]: three roundings of running sums up
    // to 4 in magnitude, 12 units of 2⁻²⁴.
    public override int Float32Roundings => 12;

    // Stored as bfloat16, each of those three running sums (up to 4 in magnitude) is rounded to the storage: 3 roundings of
    // 2⁻⁸ relative to 4, as 12 of the tensor's largest value (at least 1).
    public override int BFloat16Roundings => 12;

    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs)
    {
        var output = ops.Allocate(Tokens.Length * Dim, inputs[0].Storage).All;
        ops.Embedding(output, ops.UploadInts(Tokens), inputs[0], Dim);
        return output;
    }

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads) =>
        ops.EmbeddingBackward(inputGrads[0], ops.UploadInts(Tokens), outputGrad, Dim);
}

public class EmbeddingKernelTests
{
    [TestCaseSource(typeof(SimulatedDevices), nameof(SimulatedDevices.Names))]
    public void ForwardCopiesRowsExactly(string device)
    {
        var table = OpData.Random(new Random(3), EmbeddingKernelCase.Vocab * EmbeddingKernelCase.Dim);
        var op = new EmbeddingKernelCase();
        Assert.That(OpRuns.Forward(op, SimulatedDevices.Get(device), [table]), Is.EqualTo(op.RunForward<float>([table])));
    }

    /// <summary>
    /// The backward sums a token's rows onto the table in row order, as the reference does, without atomics: in float32 it is
    /// the float32 reference to the bit, on every run.
    /// </summary>
    [TestCaseSource(typeof(SimulatedDevices), nameof(SimulatedDevices.Names))]
    public void BackwardIsTheFloat32ReferenceBitForBit(string device)
    {
        var op = new EmbeddingKernelCase();
        var random = new Random(5);
        var table = OpData.Random(random, EmbeddingKernelCase.Vocab * EmbeddingKernelCase.Dim);
        var (outputGrad, start) = (OpData.Random(random, EmbeddingKernelCase.Tokens.Length * EmbeddingKernelCase.Dim), OpData.Random(random, table.Length));
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
