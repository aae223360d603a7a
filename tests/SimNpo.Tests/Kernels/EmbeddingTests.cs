using System.Numerics;
using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>
/// A table looked up by tokens with a repeat, so the backward's scatter-add has to accumulate: 5×3 with token 1 twice (the
/// spec); 7×37 (rows a multiple of neither warp size) with token 3 three times, so the scatter-adds meet in one table row.
/// </summary>
public class EmbeddingCase(string name, int vocab, int dim, int[] tokens, CaseSize size) : OpCase(name, vocab * dim)
{
    public static readonly EmbeddingCase Small = new("embedding", 5, 3, [1, 4, 1, 0, 2], CaseSize.Small);
    public static readonly EmbeddingCase Shaped = new("embedding 6x37", 7, 37, [3, 0, 3, 6, 3, 1], CaseSize.Shaped);

    public static readonly OpCase[] Cases = [Small, Shaped];

    public int Vocab => vocab;
    public int Dim => dim;
    public int[] Tokens => tokens;

    public override CaseSize Size => size;

    // The forward copies. The spec's backward adds at most two rows into one: 2. The shaped case's adds three rows into a
    // start value, all in [−1, 1]: three roundings of running sums up to 4 in magnitude, 12 units of 2⁻²⁴.
    public override int Float32Roundings => size == CaseSize.Small ? 2 : 12;

    // Stored as bfloat16, each running sum is rounded to the storage: in the shaped case 3 roundings of 2⁻⁸ relative to 4,
    // as 12 of the tensor's largest value (at least 1); in the spec (two rows and a start value, sums up to 3), 2 of 3: 6.
    public override int BFloat16Roundings => size == CaseSize.Small ? 6 : 12;

    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs)
    {
        var output = ops.Allocate(tokens.Length * dim, inputs[0].Storage).All;
        ops.Embedding(output, ops.UploadInts(tokens), inputs[0], dim);
        return output;
    }

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads) =>
        ops.EmbeddingBackward(inputGrads[0], ops.UploadInts(tokens), outputGrad, dim);
}

public class EmbeddingTests
{
    private readonly IOps<double> _ops = new ReferenceOps<double>();

    [Test]
    public void ForwardCopiesTheTokensRows()
    {
        var op = EmbeddingCase.Small;
        var table = OpData.Random(new Random(7), op.Vocab * op.Dim);
        var output = op.RunForward<double>([table]);
        for (var r = 0; r < op.Tokens.Length; r++)
            Assert.That(output[(r * op.Dim)..((r + 1) * op.Dim)], Is.EqualTo(table[(op.Tokens[r] * op.Dim)..((op.Tokens[r] + 1) * op.Dim)]));
    }

    [Test]
    public void BackwardSumsTheRowsOfRepeatedTokens()
    {
        var tableGrad = _ops.Upload(new double[4 * 2]);
        _ops.EmbeddingBackward(tableGrad, _ops.UploadInts(3, 0, 3), _ops.Upload(1, 2, 10, 20, 100, 200), 2);
        Assert.That(OpData.Download(tableGrad), Is.EqualTo(new double[] { 10, 20, 0, 0, 0, 0, 101, 202 }));
    }

    [Test]
    public void RejectsATokenOutsideTheTable()
    {
        var output = _ops.Allocate(2).All;
        Assert.Throws<ArgumentOutOfRangeException>(() => _ops.Embedding(output, _ops.UploadInts(4), _ops.Upload(new double[8]), 2));
    }
}
