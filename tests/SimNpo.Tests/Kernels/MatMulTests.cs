using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>
/// The linear layer: 3 rows, 5 in, 4 out (the spec: non-square, so a transposed index would not go unnoticed). For the
/// tiled SGEMM of the simulated devices (tiles 32×32 on the default device, 128×128 on the NVIDIA-like one, K slices 8
/// deep): 37×45→29, a multiple of nothing (scalar loads, ragged tiles and slices, two row tiles on the default device);
/// 20×24→36, every contiguous extent a multiple of 4 (16-byte loads, three K slices), once with every view 4 bytes off a
/// 16-byte boundary, where the kernels must fall back to scalar loads; one row, the decoding case. For the fast CPU path's
/// packed SGEMM, shapes ragged against its 6×16 micro-tile: 1×1→1, 7×13→5, 64×64→64, 130×70→200, and 300×270→260, which
/// crosses the 192-row and 256-column blocks and the 256-deep K slice. In bfloat16 every product rounds the float32 sum
/// once (the backward's C = bf16(C + Σ), summed over every K slice first): a rounding after each slice (300×270→260 has
/// two) would add a second, which the bound for one stored rounding does not allow.
/// </summary>
public class MatMulCase(int rows, int inDim, int outDim, CaseSize size, int viewOffset = 0)
    : OpCase($"matmul {rows}x{inDim}->{outDim}{(viewOffset > 0 ? ", views off 16 bytes" : "")}", rows * inDim, outDim * inDim)
{
    public const int Rows = 3, InDim = 5, OutDim = 4;

    public static readonly MatMulCase Small = new(Rows, InDim, OutDim, CaseSize.Small);

    public static readonly OpCase[] Cases =
    [
        Small, new MatMulCase(1, 1, 1, CaseSize.Small), new MatMulCase(7, 13, 5, CaseSize.Small),
        new MatMulCase(37, 45, 29, CaseSize.Shaped), new MatMulCase(20, 24, 36, CaseSize.Shaped), new MatMulCase(20, 24, 36, CaseSize.Shaped, viewOffset: 1),
        new MatMulCase(1, 12, 7, CaseSize.Shaped),
        new MatMulCase(64, 64, 64, CaseSize.Ranged), new MatMulCase(130, 70, 200, CaseSize.Ranged), new MatMulCase(300, 270, 260, CaseSize.Ranged),
    ];

    public override CaseSize Size => size;

    public override int ViewOffset => viewOffset;

    public override int Float32Roundings => InDim + OutDim + 2; // the spec on the reference: forward sums over inDim, input gradient over outDim, in float32

    /// <summary>
    /// Per element. A float32 sum of n products (with FMA or not) in any fixed order, starting from an initial value c, is
    /// off by at most γ_n·(|c| + Σ|a·b|) with γ_n = n·u/(1 − n·u), n counting c as a term; (n + 1)·u bounds γ_n for n·u ≪ 1.
    /// Σ|a·b| (+ |c|) is the same product of the absolute values, computed by the reference in float64. The float32
    /// reference (its weight gradient summed in float64, then rounded) and the fast path are held to that; the simulated
    /// devices to 2(n + 1)·u·(Σ|a·b| + |c|), n the product's length, the bound their tests stated against the float32
    /// reference (kernel and reference each within γ of exact). The spec keeps its stated bound on the reference. A missing,
    /// doubled or misplaced term changes an element by about |a·b|, far above either bound.
    /// </summary>
    public override double[] Float32Bounds(OpResult result, OpBackend backend)
    {
        if (backend == OpBackend.Reference && ReferenceEquals(this, Small))
            return base.Float32Bounds(result, backend);
        var n = result.Input switch { -1 => inDim, 0 => outDim, _ => rows };
        var terms = result.IsOutput ? n : n + 1;
        var roundings = backend.IsSimulator ? 2 * (n + 1) : terms + 1;
        return Magnitudes(result).Select(m => roundings * OpResult.U * m).ToArray();
    }

    /// <summary>Σ|a·b| of each element of the result, plus |c| for a gradient.</summary>
    private double[] Magnitudes(OpResult result)
    {
        double[] Abs(double[] x) => x.Select(Math.Abs).ToArray();
        var (input, weight) = (Abs(result.Inputs[0]), Abs(result.Inputs[1]));
        if (result.IsOutput)
        {
            var output = new double[rows * outDim];
            MatMul.Reference.Forward<double>(output, input, weight, rows, inDim, outDim);
            return output;
        }
        var grads = result.InitialGrads!.Select(Abs).ToArray();
        MatMul.Reference.Backward<double>(grads[0], grads[1], Abs(result.OutputGrad!), input, weight, rows, inDim, outDim);
        return grads[result.Input];
    }

    /// <summary>The output is NaN before the product: an op that read it instead of overwriting it would give NaN.</summary>
    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs)
    {
        var output = ops.Allocate(rows * outDim, inputs[0].Storage).All;
        output.CopyFrom(Enumerable.Repeat(T.NaN, output.Length).ToArray());
        ops.MatMul(output, inputs[0], inputs[1], rows, inDim, outDim);
        return output;
    }

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads) =>
        ops.MatMulBackward(inputGrads[0], inputGrads[1], outputGrad, inputs[0], inputs[1], rows, inDim, outDim);
}

public class MatMulTests
{
    [Test]
    public void ForwardMatchesATripleLoopWithTheWeightStoredOutByIn()
    {
        var random = new Random(9);
        var (input, weight) = (OpData.Random(random, MatMulCase.Rows * MatMulCase.InDim), OpData.Random(random, MatMulCase.OutDim * MatMulCase.InDim));
        var output = MatMulCase.Small.RunForward<double>([input, weight]);
        for (var r = 0; r < MatMulCase.Rows; r++)
            for (var o = 0; o < MatMulCase.OutDim; o++)
            {
                var expected = 0.0;
                for (var i = 0; i < MatMulCase.InDim; i++) expected += input[r * MatMulCase.InDim + i] * weight[o * MatMulCase.InDim + i];
                Assert.That(output[r * MatMulCase.OutDim + o], Is.EqualTo(expected).Within(1e-15)); // five O(1) float64 products
            }
    }
}
