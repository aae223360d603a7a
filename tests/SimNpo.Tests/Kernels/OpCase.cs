using System.Numerics;
using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>
/// One op under test, seen as a function from its differentiable inputs to one output, together with the backward that
/// maps the output's gradient to theirs. Written once over T, so the float64 gradient check and the float32-vs-float64
/// comparison run the same code. Every input value is a float32 number, so both precisions start from identical data.
/// </summary>
public abstract class OpCase(string name, params int[] inputLengths)
{
    public int[] InputLengths { get; } = inputLengths;

    /// <summary>Inputs are uniform in [−InputScale, InputScale].</summary>
    public virtual double InputScale => 1;

    /// <summary>
    /// An upper bound on how many float32 roundings (each at most 2⁻²⁴ relative to an O(1) intermediate) reach one element
    /// of the output or of a gradient: the length of any sum kept in the element type plus the elementwise roundings.
    /// </summary>
    public abstract int Float32Roundings { get; }

    /// <summary>False for the two backwards that transform a gradient in place (RoPE) or overwrite it (the fused classifier).</summary>
    public virtual bool BackwardAdds => true;

    public abstract View<T> Forward<T>(IOps<T> ops, View<T>[] inputs) where T : unmanaged, IFloatingPointIeee754<T>;

    public abstract void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads)
        where T : unmanaged, IFloatingPointIeee754<T>;

    public override string ToString() => name;

    public double[][] RandomInputs(int seed)
    {
        var random = new Random(seed);
        return InputLengths.Select(length => OpData.Random(random, length, InputScale)).ToArray();
    }

    public double[] RunForward<T>(double[][] inputs) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var ops = new ReferenceOps<T>();
        return OpData.Download(Forward(ops, inputs.Select(x => ops.Upload(x)).ToArray()));
    }

    /// <summary>The inputs' gradients after <paramref name="calls"/> backward calls into zeroed gradient buffers.</summary>
    public double[][] RunBackward<T>(double[][] inputs, double[] outputGrad, int calls = 1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var ops = new ReferenceOps<T>();
        var views = inputs.Select(x => ops.Upload(x)).ToArray();
        var grads = inputs.Select(x => ops.Allocate(x.Length).All).ToArray();
        var gradient = ops.Upload(outputGrad);
        for (var call = 0; call < calls; call++) Backward(ops, views, gradient, grads);
        return grads.Select(OpData.Download).ToArray();
    }
}

/// <summary>Moving test data in and out of ops, always through float64 arrays.</summary>
public static class OpData
{
    public static View<T> Upload<T>(this IOps<T> ops, params double[] values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var view = ops.Allocate(values.Length).All;
        view.CopyFrom(values.Select(T.CreateTruncating).ToArray());
        return view;
    }

    public static View<int> UploadInts<T>(this IOps<T> ops, params int[] values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var view = ops.AllocateInts(values.Length).All;
        view.CopyFrom(values);
        return view;
    }

    public static double[] Download<T>(View<T> view) where T : unmanaged, IFloatingPointIeee754<T> =>
        view.ToArray().Select(double.CreateTruncating).ToArray();

    /// <summary>Uniform in [−scale, scale], rounded to float32 so that float32 and float64 runs see the same numbers.</summary>
    public static double[] Random(Random random, int length, double scale = 1) =>
        Enumerable.Range(0, length).Select(_ => (double)(float)(scale * (2 * random.NextDouble() - 1))).ToArray();
}
