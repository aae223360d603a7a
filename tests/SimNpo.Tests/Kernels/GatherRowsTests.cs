using System.Numerics;
using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>
/// A table gathered by indices with a repeat, so the scatter-add has to accumulate: 5×3 with index 1 twice (the spec);
/// 7×37 (rows a multiple of neither warp size) with index 3 three times, so the scatter-adds meet in one table row; 3×1
/// with sorted indices, as the model sums token log-probs into sequences and hands sequence weights to tokens.
/// </summary>
public class GatherRowsCase(string name, int tableRows, int dim, int[] indices, CaseSize size) : OpCase(name, tableRows * dim)
{
    public static readonly GatherRowsCase Small = new("gather rows", 5, 3, [1, 4, 1, 0, 2], CaseSize.Small);
    public static readonly GatherRowsCase Shaped = new("gather rows 7x37", 7, 37, [3, 0, 3, 6, 3, 1], CaseSize.Shaped);
    public static readonly GatherRowsCase PerSequence = new("gather rows per sequence 3x1", 3, 1, [0, 0, 0, 1, 2, 2, 2, 2], CaseSize.Shaped);

    public static readonly OpCase[] Cases = [Small, Shaped, PerSequence];

    public int TableRows => tableRows;
    public int Dim => dim;
    public int[] Indices => indices;

    public override CaseSize Size => size;

    // The gather copies. The spec's scatter-add adds at most two rows into one: 2. The others add up to three (7x37) and
    // four (3x1) rows into a start value, all in [−1, 1]: that many roundings of running sums up to 4 and 5 in magnitude,
    // 12 and 20 units of 2⁻²⁴.
    public override int Float32Roundings => size == CaseSize.Small ? 2 : dim == 1 ? 20 : 12;

    // Stored as bfloat16, each running sum is rounded to the storage: 3 (4) roundings of 2⁻⁸ relative to 4 (5), as 12 (20)
    // of the tensor's largest value (at least 1); in the spec (two rows and a start value, sums up to 3), 2 of 3: 6.
    public override int BFloat16Roundings => size == CaseSize.Small ? 6 : dim == 1 ? 20 : 12;

    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs)
    {
        var output = ops.Allocate(indices.Length * dim, inputs[0].Storage).All;
        ops.GatherRows(output, ops.UploadInts(indices), inputs[0], dim);
        return output;
    }

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads) =>
        ops.ScatterAddRows(inputGrads[0], ops.UploadInts(indices), outputGrad, dim);
}

public class GatherRowsTests
{
    private readonly IOps<double> _ops = new ReferenceOps<double>();

    [Test]
    public void GatherCopiesTheIndexedRows()
    {
        var op = GatherRowsCase.Small;
        var table = OpData.Random(new Random(7), op.TableRows * op.Dim);
        var output = op.RunForward<double>([table]);
        for (var r = 0; r < op.Indices.Length; r++)
            Assert.That(output[(r * op.Dim)..((r + 1) * op.Dim)], Is.EqualTo(table[(op.Indices[r] * op.Dim)..((op.Indices[r] + 1) * op.Dim)]));
    }

    [Test]
    public void ScatterAddSumsTheRowsOfARepeatedIndex()
    {
        var table = _ops.Upload(new double[4 * 2]);
        _ops.ScatterAddRows(table, _ops.UploadInts(3, 0, 3), _ops.Upload(1, 2, 10, 20, 100, 200), 2);
        Assert.That(OpData.Download(table), Is.EqualTo(new double[] { 10, 20, 0, 0, 0, 0, 101, 202 }));
    }

    /// <summary>At width 1 over each row's sequence, the scatter-add is the per-sequence sum the model takes of its token log-probs.</summary>
    [Test]
    public void ScatterAddOfWidthOneSumsEachSequence()
    {
        var sums = _ops.Upload(new double[2]);
        _ops.ScatterAddRows(sums, _ops.UploadInts(0, 0, 1, 1, 1), _ops.Upload(1, 2, 4, 8, 16), 1);
        Assert.That(OpData.Download(sums), Is.EqualTo(new double[] { 3, 28 }));
    }

    [Test]
    public void RejectsAnIndexOutsideTheTable()
    {
        var output = _ops.Allocate(2).All;
        Assert.Throws<ArgumentOutOfRangeException>(() => _ops.GatherRows(output, _ops.UploadInts(4), _ops.Upload(new double[8]), 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ops.ScatterAddRows(_ops.Upload(new double[8]), _ops.UploadInts(4), output, 2));
    }
}
