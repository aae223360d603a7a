using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>A non-square product (3 rows, 5 in, 4 out), so a transposed index would not go unnoticed.</summary>
public class MatMulCase() : OpCase("matmul", Rows * InDim, OutDim * InDim)
{
    public const int Rows = 3, InDim = 5, OutDim = 4;

    public override int Float32Roundings => InDim + OutDim + 2; // forward sums over inDim, input gradient over outDim, in float32

    public override bool ReferenceOnly => true;

    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs)
    {
        var output = ops.Allocate(Rows * OutDim).All;
        ops.MatMul(output, inputs[0], inputs[1], Rows, InDim, OutDim);
        return output;
    }

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads) =>
        ops.MatMulBackward(inputGrads[0], inputGrads[1], outputGrad, inputs[0], inputs[1], Rows, InDim, OutDim);
}

public class MatMulTests
{
    [Test]
    public void ForwardMatchesATripleLoopWithTheWeightStoredOutByIn()
    {
        var random = new Random(9);
        var (input, weight) = (OpData.Random(random, MatMulCase.Rows * MatMulCase.InDim), OpData.Random(random, MatMulCase.OutDim * MatMulCase.InDim));
        var output = new MatMulCase().RunForward<double>([input, weight]);
        for (var r = 0; r < MatMulCase.Rows; r++)
            for (var o = 0; o < MatMulCase.OutDim; o++)
            {
                var expected = 0.0;
                for (var i = 0; i < MatMulCase.InDim; i++) expected += input[r * MatMulCase.InDim + i] * weight[o * MatMulCase.InDim + i];
                Assert.That(output[r * MatMulCase.OutDim + o], Is.EqualTo(expected).Within(1e-15)); // five O(1) float64 products
            }
    }
}
