using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// RMSNorm over rows whose length is a multiple of neither warp size (4 and 32): 37 leaves a partial warp on both devices,
/// 70 spans several warps on the NVIDIA-like device and several strides of a 16-thread group on the default one.
/// </summary>
public class RmsNormKernelCase(int rows, int dim) : OpCase($"rmsnorm {rows}x{dim}", rows * dim, dim)
{
    private const float Eps = 1e-5f;

    // Sums kept in float32: the row's sum of squares and the backward's dot product (dim terms each, ≤ dim roundings of
    // running sums bounded by the terms' total) and the weight gradient's sum over rows (≤ rows); a few more for the
    // elementwise products, the square root and the division.
    public override int Float32Roundings => 2 * dim + rows + 8;

    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs)
    {
        var output = ops.Allocate(rows * dim, inputs[0].Storage).All;
        ops.RmsNorm(output, ops.Allocate(rows).All, inputs[0], inputs[1], dim, Eps);
        return output;
    }

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads)
    {
        var invRms = ops.Allocate(rows).All;
        ops.RmsNorm(ops.Allocate(rows * dim, inputs[0].Storage).All, invRms, inputs[0], inputs[1], dim, Eps);
        ops.RmsNormBackward(inputGrads[0], inputGrads[1], outputGrad, inputs[0], inputs[1], invRms, dim);
    }
}
