using System.Numerics;
using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>
/// One op under test, seen as a function from its differentiable inputs to one output, together with the backward that
/// maps the output's gradient to theirs. Written once over T, so the float64 gradient check and the float32-vs-float64
/// comparison run the same code. Every input value is a float32 number, so both precisions start from identical data.
/// A case allocates the tensors it outputs in its inputs' storage and its statistics native, so one case also runs with
/// bfloat16 inputs (<see cref="OpRuns.AssertMatchesFloat64Reference"/> with bfloat16 bulk storage).
/// </summary>
public abstract class OpCase(string name, params int[] inputLengths)
{
    public int[] InputLengths { get; } = inputLengths;

    /// <summary>Inputs are uniform in [−InputScale, InputScale].</summary>
    public virtual double InputScale => 1;

    /// <summary>
    /// An upper bound on how many float32 roundings (each at most 2⁻²⁴ relative to an O(1) intermediate) reach one element
    /// of the output or of a gradient on the CPU reference: the length of any sum kept in the element type plus the
    /// elementwise roundings.
    /// </summary>
    public abstract int Float32Roundings { get; }

    /// <summary>
    /// The same bound on the fast CPU path and the ILGPU kernels, which keep in float32 some sums (and RoPE's angles) that
    /// the reference keeps in float64: as <see cref="Float32Roundings"/> unless the case says otherwise.
    /// </summary>
    public virtual int FastPathFloat32Roundings => Float32Roundings;

    /// <summary>What the case's shape is there to exercise, and so which backends run it (<see cref="OpBackend.Runs"/>).</summary>
    public virtual CaseSize Size => CaseSize.Small;

    /// <summary>
    /// False where a bfloat16 run needs what this runner cannot give: attention's reference backward must read the stored
    /// (rounded) output (Cpu/FastAttentionTests and Ilgpu/AttentionBf16* run those cases so), and the KL spec case's
    /// targets are exactly normalised float64 values that bfloat16 storage would round.
    /// </summary>
    public virtual bool RunsInBFloat16 => true;

    /// <summary>
    /// Where every uploaded view (inputs, output gradient, gradients) starts in its buffer: 1 takes each off the 16-byte
    /// alignment that wide loads need, so a kernel must fall back to narrower ones.
    /// </summary>
    public virtual int ViewOffset => 0;

    /// <summary>
    /// With bfloat16 storage, how many bfloat16 roundings (each at most 2⁻⁸ relative) reach one element of the output or
    /// of a gradient: 1 where the float32 result is stored once, more where the op stores running sums.
    /// </summary>
    public virtual int BFloat16Roundings => 1;

    /// <summary>False for the two backwards that transform a gradient in place (RoPE) or overwrite it (LogSoftmaxAtLabels, KlDivergence).</summary>
    public virtual bool BackwardAdds => true;

    public abstract View<T> Forward<T>(IOps<T> ops, View<T>[] inputs) where T : unmanaged, IFloatingPointIeee754<T>;

    public abstract void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads)
        where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>
    /// The float32 bound e of each element of one result on <paramref name="backend"/>, before any bfloat16 rounding
    /// (<see cref="OpRuns.AssertMatchesFloat64Reference"/>): by default <see cref="Float32Roundings"/> on the reference,
    /// <see cref="FastPathFloat32Roundings"/> elsewhere, times 2⁻²⁴ times max(1, largest |exact|) for every element. A case
    /// whose bound is per element (a dot product's Σ|a·b|, a row's log-sum-exp) says so here.
    /// </summary>
    public virtual double[] Float32Bounds(OpResult result, OpBackend backend)
    {
        var roundings = backend == OpBackend.Reference ? Float32Roundings : FastPathFloat32Roundings;
        return result.Uniform(roundings * OpResult.U * result.Scale);
    }

    public override string ToString() => name;

    public virtual double[][] RandomInputs(int seed)
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

/// <summary>
/// One result of a run as its bound sees it: the output (<see cref="Input"/> −1) or the gradient of input
/// <see cref="Input"/>, its float64 value, and the float64 data of the run (the output gradient and the gradients' start
/// values are null for the output).
/// </summary>
public sealed record OpResult(int Input, double[] Exact, double[][] Inputs, double[]? OutputGrad, double[][]? InitialGrads)
{
    /// <summary>float32's unit roundoff.</summary>
    public const double U = 1.0 / (1 << 24);

    public bool IsOutput => Input < 0;

    /// <summary>max(1, largest |exact|): what a rounding relative to the tensor's largest value is relative to.</summary>
    public double Scale => Math.Max(1, Exact.Max(Math.Abs));

    public double[] Uniform(double bound) => Enumerable.Repeat(bound, Exact.Length).ToArray();
}

/// <summary>Moving test data in and out of ops, always through float64 arrays.</summary>
public static class OpData
{
    public static View<T> Upload<T>(this IOps<T> ops, params double[] values) where T : unmanaged, IFloatingPointIeee754<T> =>
        ops.Upload(Storage.Native, values);

    /// <summary>Into a buffer of the given storage; bfloat16 rounds each value to nearest even.</summary>
    public static View<T> Upload<T>(this IOps<T> ops, Storage storage, double[] values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var view = ops.Allocate(values.Length, storage).All;
        view.CopyFrom(values.Select(T.CreateTruncating).ToArray());
        return view;
    }

    /// <summary>Each value rounded to bfloat16 (nearest even) and back: data a bfloat16 op and the float64 reference both see exactly.</summary>
    public static double[] RoundToBFloat16(double[] values) => values.Select(x => (double)BFloat16.Round((float)x)).ToArray();

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

/// <summary>
/// Runs one <see cref="OpCase"/> on any backend from float64 data, with gradients that start from given values, its bulk
/// tensors (inputs, gradients, and what a case allocates like its first input) stored as <c>bulk</c> says, each uploaded
/// view <see cref="OpCase.ViewOffset"/> elements into its buffer.
/// </summary>
public static class OpRuns
{
    public static double[] Forward<T>(OpCase op, IOps<T> ops, double[][] inputs, Storage bulk = Storage.Native) where T : unmanaged, IFloatingPointIeee754<T> =>
        OpData.Download(ForwardView(op, ops, inputs, bulk));

    /// <summary>
    /// The gradient buffers are filled with <paramref name="initialGrads"/> first, so an op that adds shows it. The output's
    /// gradient is stored as the output is (<paramref name="outputStorage"/>, by default the bulk storage): a loss's per-row
    /// weights are float32 statistics like its log-probabilities.
    /// </summary>
    public static double[][] Backward<T>(OpCase op, IOps<T> ops, double[][] inputs, double[] outputGrad, double[][] initialGrads, Storage bulk = Storage.Native,
        Storage? outputStorage = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var grads = initialGrads.Select(g => Upload(op, ops, bulk, g)).ToArray();
        op.Backward(ops, inputs.Select(x => Upload(op, ops, bulk, x)).ToArray(), Upload(op, ops, outputStorage ?? bulk, outputGrad), grads);
        return grads.Select(OpData.Download).ToArray();
    }

    /// <summary>
    /// The op on <paramref name="backend"/> against the CPU reference run in float64 on the same float32 data, forward and
    /// backward. Gradient buffers start from random values, so a backward that overwrites instead of adding fails.
    /// Tolerance: the case's float32 bound e of each element on that backend (<see cref="OpCase.Float32Bounds"/>: by default
    /// its float32 roundings times 2⁻²⁴ times max(1, largest expected magnitude), counting on the fast path and devices the
    /// terms they sum in float32), the bound the reference's own float32 run is held to.
    /// With <paramref name="bulk"/> bfloat16, every input, the output's gradient and the gradients' start values are rounded
    /// to bfloat16 first, so the float64 reference sees exactly the numbers the op reads. The op computes in float32 (within
    /// e of exact) and rounds what it stores in bfloat16 (the bound: AssertClose); an output the case keeps in float32 (a
    /// loss's per-row statistic) keeps e.
    /// </summary>
    public static void AssertMatchesFloat64Reference(OpCase op, OpBackend backend, Storage bulk = Storage.Native)
    {
        var ops = backend.Ops;
        var stored = bulk == Storage.BFloat16 ? OpData.RoundToBFloat16 : (Func<double[], double[]>)(x => x);
        IOps<double> reference = new ReferenceOps<double>();
        var inputs = op.RandomInputs(seed: 11).Select(stored).ToArray();
        var exact = Forward(op, reference, inputs);
        var output = ForwardView(op, ops, inputs, bulk);
        AssertClose(op, backend, new OpResult(-1, exact, inputs, null, null), OpData.Download(output), output.Storage);

        var random = new Random(12);
        var outputGrad = stored(OpData.Random(random, exact.Length));
        var initialGrads = inputs.Select(x => stored(OpData.Random(random, x.Length))).ToArray();
        var exactGrads = Backward(op, reference, inputs, outputGrad, initialGrads);
        var grads = Backward(op, ops, inputs, outputGrad, initialGrads, bulk, output.Storage);
        for (var n = 0; n < inputs.Length; n++)
            AssertClose(op, backend, new OpResult(n, exactGrads[n], inputs, outputGrad, initialGrads), grads[n], bulk);
    }

    private static View<T> ForwardView<T>(OpCase op, IOps<T> ops, double[][] inputs, Storage bulk) where T : unmanaged, IFloatingPointIeee754<T> =>
        op.Forward(ops, inputs.Select(x => Upload(op, ops, bulk, x)).ToArray());

    private static View<T> Upload<T>(OpCase op, IOps<T> ops, Storage bulk, double[] values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var view = ops.Allocate(op.ViewOffset + values.Length, bulk).All.Slice(op.ViewOffset, values.Length);
        view.CopyFrom(values.Select(T.CreateTruncating).ToArray());
        return view;
    }

    /// <param name="storage">
    /// Bfloat16: every stored result is its float32 value (within e of exact) rounded. Stored once (the case's
    /// <see cref="OpCase.BFloat16Roundings"/> is 1), by at most 2⁻⁸ of itself: |actual − exact| ≤ e + 2⁻⁸·(|exact| + e) ≤
    /// 2⁻⁸·|exact| + 2e, element by element. Through k stored running sums, each rounding is 2⁻⁸ of a sum bounded by the
    /// tensor's scale: k·2⁻⁸·scale + (1 + k·2⁻⁸)·e.
    /// </param>
    private static void AssertClose(OpCase op, OpBackend backend, OpResult result, double[] actual, Storage storage)
    {
        var what = result.IsOutput ? "output" : $"gradient of input {result.Input}";
        var (exact, bounds) = (result.Exact, op.Float32Bounds(result, backend));
        Assert.That(actual, Has.Length.EqualTo(exact.Length), $"{op}: {what}");
        var (k, u) = (op.BFloat16Roundings, storage == Storage.BFloat16 ? BFloat16.UnitRoundoff : 0);
        for (var i = 0; i < exact.Length; i++)
        {
            var e = bounds[i];
            var tolerance = u == 0 ? e : k == 1 ? u * Math.Abs(exact[i]) + 2 * e : k * u * result.Scale + (1 + k * u) * e;
            if (!(Math.Abs(actual[i] - exact[i]) <= tolerance))
                Assert.Fail($"{op}: {what}, element {i}: {actual[i]}, expected {exact[i]} within {tolerance}");
        }
    }
}
