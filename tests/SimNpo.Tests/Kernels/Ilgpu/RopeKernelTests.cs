using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>Three heads of ten (an odd half, 5) at positions up to 4000, where a float32 angle would be off by 1e-4.</summary>
public class RopeKernelCase() : OpCase("rope 4x3x10", Positions.Length * Heads * HeadDim)
{
    public const int Heads = 3, HeadDim = 10;
    public static readonly int[] Positions = [0, 1, 7, 4000];

    /// <summary>Llama's 10000^(−2i/d), rounded to float32 as the model stores them.</summary>
    public static readonly double[] InverseFrequencies =
        Enumerable.Range(0, HeadDim / 2).Select(i => (double)(float)Math.Pow(10000, -2.0 * i / HeadDim)).ToArray();

    // The reduced angle rounded to float32 (at most π·2⁻²⁴ off), float32 sine and cosine (an ulp or two), two products
    // and a sum.
    public override int Float32Roundings => 10;

    public override bool BackwardAdds => false;

    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs)
    {
        var x = ops.Allocate(inputs[0].Length, inputs[0].Storage).All;
        ops.Copy(x, inputs[0]);
        ops.Rope(x, ops.UploadInts(Positions), ops.Upload(InverseFrequencies), Heads, HeadDim);
        return x;
    }

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads)
    {
        ops.Copy(inputGrads[0], outputGrad);
        ops.RopeBackward(inputGrads[0], ops.UploadInts(Positions), ops.Upload(InverseFrequencies), Heads, HeadDim);
    }
}
