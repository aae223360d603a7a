using System.Globalization;
using System.Numerics;
using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Model.IO;
using SimNpo.Model.SafeTensors;

namespace SimNpo.Unlearn.Training;

/// <summary>
/// torch.optim.AdamW over all of a model's parameters as one group (decay on every parameter), preceded by
/// torch.nn.utils.clip_grad_norm_ on the global gradient norm. Each moment is a buffer of the model's backend in
/// <see cref="ParameterLayout"/> order like the parameters (two buffers, not one: a model of a billion parameters has
/// moments that together pass the 2³¹ elements one buffer holds).
/// </summary>
public sealed class AdamWOptimizer<T> : IDisposable where T : unmanaged, IFloatingPointIeee754<T>
{
    public const string FileName = "optimizer.safetensors";
    private const string FirstMomentName = "exp_avg";
    private const string SecondMomentName = "exp_avg_sq";
    private const string StepKey = "step";

    /// <summary>torch's clip_grad_norm_ adds this to the norm before dividing, so a zero gradient never divides by zero.</summary>
    private const double ClipNormEpsilon = 1e-6;

    private readonly LlamaModel<T> _model;
    private readonly DeviceBuffer<T> _firstMoment;
    private readonly DeviceBuffer<T> _secondMoment;

    public AdamWOptimizer(LlamaModel<T> model, AdamWSettings settings)
    {
        settings.Validate();
        _model = model;
        Settings = settings;
        var count = model.Layout.TotalLength;
        _firstMoment = model.Ops.Allocate(count);
        _secondMoment = model.Ops.Allocate(count);
        FirstMoment = _firstMoment.All;
        SecondMoment = _secondMoment.All;
        model.Ops.Zero(FirstMoment);
        model.Ops.Zero(SecondMoment);
    }

    public AdamWSettings Settings { get; }

    /// <summary>Steps taken so far; the next step is bias-corrected as step StepCount + 1.</summary>
    public int StepCount { get; private set; }

    public View<T> FirstMoment { get; }
    public View<T> SecondMoment { get; }

    /// <summary>
    /// Clips the model's gradients in place and updates its parameters with them. Returns the gradient norm before
    /// clipping (what Hugging Face logs as grad_norm). A non-finite norm throws before anything changes, so the model
    /// and the moments stay fit for a checkpoint.
    /// </summary>
    public double Step(double learningRate)
    {
        if (!double.IsFinite(learningRate) || learningRate < 0)
            throw new ArgumentOutOfRangeException(nameof(learningRate), $"learning rate must be finite and non-negative, got {learningRate}");
        var ops = _model.Ops;
        var gradients = _model.Gradients.All;
        var norm = Math.Sqrt(ops.SumOfSquares(gradients));
        if (!double.IsFinite(norm)) throw new InvalidOperationException($"the gradient norm is {norm}");
        if (Settings.MaxGradNorm > 0)
        {
            // torch multiplies by min(1, maxNorm / (norm + 1e-6)); a factor of 1 changes nothing, so it is skipped.
            var factor = Settings.MaxGradNorm / (norm + ClipNormEpsilon);
            if (factor < 1) ops.Scale(gradients, (float)factor);
        }
        var step = new AdamWStep(learningRate, Settings.Beta1, Settings.Beta2, Settings.Epsilon, Settings.WeightDecay, StepCount + 1);
        ops.AdamW(_model.Parameters.All, gradients, FirstMoment, SecondMoment, step);
        StepCount++;
        return norm;
    }

    /// <summary>
    /// Writes the moments (F64 for a float64 model, F32 otherwise) under torch's state names, and the step count and
    /// settings as metadata, atomically.
    /// </summary>
    public void Save(string path)
    {
        var metadata = new Dictionary<string, string>
        {
            [StepKey] = StepCount.ToString(CultureInfo.InvariantCulture),
            ["beta1"] = Format(Settings.Beta1),
            ["beta2"] = Format(Settings.Beta2),
            ["epsilon"] = Format(Settings.Epsilon),
            ["weight_decay"] = Format(Settings.WeightDecay),
            ["max_grad_norm"] = Format(Settings.MaxGradNorm),
        };
        SafeTensorsWriter.Write(path, [Tensor(FirstMomentName, FirstMoment), Tensor(SecondMomentName, SecondMoment)], metadata);
    }

    /// <summary>
    /// Restores the moments and the step count written by <see cref="Save"/>; the settings stay this optimizer's own (the
    /// saved ones are a record for the reader). Everything is read and checked before anything changes.
    /// </summary>
    public void Load(string path)
    {
        T[] firstMoment, secondMoment;
        int step;
        using (var file = Open(path))
        {
            step = ReadStep(file);
            firstMoment = ReadMoment(file, FirstMomentName);
            secondMoment = ReadMoment(file, SecondMomentName);
        }
        var negative = Array.FindIndex(secondMoment, value => value < T.Zero);
        if (negative >= 0) throw new BadInputException(path, $"tensor '{SecondMomentName}' holds a negative value at index {negative}");
        FirstMoment.CopyFrom(firstMoment);
        SecondMoment.CopyFrom(secondMoment);
        StepCount = step;
    }

    public void Dispose()
    {
        _firstMoment.Dispose();
        _secondMoment.Dispose();
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static TensorToWrite Tensor(string name, View<T> moment)
    {
        var values = moment.ToArray();
        long[] shape = [values.Length];
        return values is double[] doubles
            ? new TensorToWrite(name, shape, doubles)
            : new TensorToWrite(name, shape, values as float[] ?? Array.ConvertAll(values, float.CreateTruncating));
    }

    private static SafeTensorsFile Open(string path)
    {
        try
        {
            return SafeTensorsFile.Open(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BadInputException(path, $"cannot read the optimizer state: {e.Message}", inner: e);
        }
    }

    private static int ReadStep(SafeTensorsFile file)
    {
        if (!file.Metadata.TryGetValue(StepKey, out var text))
            throw new BadInputException(file.Path, $"metadata lacks '{StepKey}' (not an optimizer state written by this tool?)");
        // NumberStyles.None: digits only, so signs, fractions and spaces are refused.
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var step))
            throw new BadInputException(file.Path, $"metadata '{StepKey}' is '{text}', not a non-negative integer");
        return step;
    }

    private T[] ReadMoment(SafeTensorsFile file, string name)
    {
        var count = _model.Layout.TotalLength;
        var info = file.Info(name);
        if (info.ElementCount != count)
            throw new BadInputException(file.Path, $"tensor '{name}' holds {info.ElementCount} values but the model has {count} parameters");
        var values = typeof(T) == typeof(double)
            ? (T[])(object)file.ReadFloat64(name)
            : Array.ConvertAll(file.ReadFloat32(name), T.CreateTruncating);
        var nonFinite = Array.FindIndex(values, value => !T.IsFinite(value));
        if (nonFinite >= 0) throw new BadInputException(file.Path, $"tensor '{name}' holds {values[nonFinite]} at index {nonFinite}");
        return values;
    }
}
