using System.Numerics;
using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>A 5×3 table looked up by tokens with a repeat, so the backward's scatter-add has to accumulate.</summary>
public class EmbeddingCase() : OpCase("embedding", Vocab * Dim)
{
    public const int Vocab = 5, Dim = 3;
    public static readonly int[] Tokens = [1, 4, 1, 0, 2];

    public override int Float32Roundings => 2; // forward copies; the backward adds at most two rows into one

    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs)
    {
        var output = ops.Allocate(Tokens.Length * Dim).All;
        ops.Embedding(output, ops.UploadInts(Tokens), inputs[0], Dim);
        return output;
    }

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads) =>
        ops.EmbeddingBackward(inputGrads[0], ops.UploadInts(Tokens), outputGrad, Dim);
}

public class EmbeddingTests
{
    private readonly IOps<double> _ops = new ReferenceOps<double>();

    [Test]
    public void ForwardCopiesTheTokensRows()
    {
        var table = OpData.Random(new Random(7), EmbeddingCase.Vocab * EmbeddingCase.Dim);
        var output = new EmbeddingCase().RunForward<double>([table]);
        for (var r = 0; r < EmbeddingCase.Tokens.Length; r++)
            Assert.That(output[(r * EmbeddingCase.Dim)..((r + 1) * EmbeddingCase.Dim)],
                Is.EqualTo(table[(EmbeddingCase.Tokens[r] * EmbeddingCase.Dim)..((EmbeddingCase.Tokens[r] + 1) * EmbeddingCase.Dim)]));
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
