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

/// <summary>Runs one <see cref="OpCase"/> on any backend from float64 data, with gradients that start from given values.</summary>
public static class OpRuns
{
    public static double[] Forward<T>(OpCase op, IOps<T> ops, double[][] inputs) where T : unmanaged, IFloatingPointIeee754<T> =>
        OpData.Download(op.Forward(ops, inputs.Select(x => ops.Upload(x)).ToArray()));

    /// <summary>The gradient buffers are filled with <paramref name="initialGrads"/> first, so an op that adds shows it.</summary>
    public static double[][] Backward<T>(OpCase op, IOps<T> ops, double[][] inputs, double[] outputGrad, double[][] initialGrads)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var grads = initialGrads.Select(g => ops.Upload(g)).ToArray();
        op.Backward(ops, inputs.Select(x => ops.Upload(x)).ToArray(), ops.Upload(outputGrad), grads);
        return grads.Select(OpData.Download).ToArray();
    }

    /// <summary>
    /// The op on <paramref name="ops"/> against the CPU reference run in float64 on the same float32 data, forward and
    /// backward. Gradient buffers start from random values, so a backward that overwrites instead of adding fails.
    /// Tolerance: the case's <see cref="OpCase.Float32Roundings"/> (counting the terms the kernel sums in float32) times 2⁻²⁴
    /// times max(1, largest expected magnitude), the bound the reference's own float32 run is held to.
    /// </summary>
    public static void AssertMatchesFloat64Reference(OpCase op, IOps<float> ops)
    {
        IOps<double> reference = new ReferenceOps<double>();
        var inputs = op.RandomInputs(seed: 11);
        var exact = Forward(op, reference, inputs);
        AssertClose(op, "output", Forward(op, ops, inputs), exact);

        var random = new Random(12);
        var outputGrad = OpData.Random(random, exact.Length);
        var initialGrads = inputs.Select(x => OpData.Random(random, x.Length)).ToArray();
        var exactGrads = Backward(op, reference, inputs, outputGrad, initialGrads);
        var grads = Backward(op, ops, inputs, outputGrad, initialGrads);
        for (var n = 0; n < inputs.Length; n++) AssertClose(op, $"gradient of input {n}", grads[n], exactGrads[n]);
    }

    private static void AssertClose(OpCase op, string what, double[] actual, double[] exact)
    {
        var tolerance = op.Float32Roundings * Math.ScaleB(1.0, -24) * Math.Max(1, exact.Max(Math.Abs));
        Assert.That(actual, Is.EqualTo(exact).Within(tolerance), $"{op}: {what}");
    }
}
