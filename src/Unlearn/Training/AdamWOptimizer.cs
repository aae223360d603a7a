using System.Globalization;
using System.Numerics;
using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Model.IO;
using SimNpo.Model.SafeTensors;

namespace SimNpo.Unlearn.Training;

/// <summary>
/// torch.optim.AdamW over a model's parameters in Hugging Face Trainer's two groups (weight decay on all but the norms'
/// weights, see <see cref="AdamWSettings"/>), preceded by
/// torch.nn.utils.clip_grad_norm_ on the global gradient norm. The moments are <see cref="ParameterSet{T}"/>s in the
/// model's layout, stored in T or (<see cref="Storage.BFloat16"/> moments) bfloat16 to halve their memory; a model that
/// stores its weights narrower than T is updated through its float32 master weights, which the step rounds into it.
/// </summary>
public sealed class AdamWOptimizer<T> : IParameterOptimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public const string FileName = "optimizer.safetensors";
    internal const string FirstMomentName = "exp_avg";
    internal const string SecondMomentName = "exp_avg_sq";
    internal const string MasterName = "master";
    private const string StepKey = "step";

    /// <summary>torch's clip_grad_norm_ adds this to the norm before dividing, so a zero gradient never divides by zero.</summary>
    private const double ClipNormEpsilon = 1e-6;

    private readonly LlamaModel<T> _model;
    private readonly ParameterSet<T>? _master;
    private readonly IReadOnlyList<DecayRun> _runs;

    /// <param name="momentStorage">How the moments are stored: T (as torch) or bfloat16 (--optimizer-state bf16).</param>
    public AdamWOptimizer(LlamaModel<T> model, AdamWSettings settings, Storage momentStorage = Storage.Native)
    {
        settings.Validate();
        if (!model.Ops.Supports(momentStorage))
            throw new NotSupportedException($"the {model.Ops.Name} backend cannot store AdamW moments as {momentStorage}");
        _model = model;
        Settings = settings;
        FirstMoment = new ParameterSet<T>(model.Layout, length => model.Ops.Allocate(length, momentStorage));
        try
        {
            SecondMoment = new ParameterSet<T>(model.Layout, length => model.Ops.Allocate(length, momentStorage));
        }
        catch
        {
            FirstMoment.Dispose();
            throw;
        }
        _master = model.Precision.HasMasterWeights ? model.MasterWeights : null;
        _runs = DecayRun.Of(model.Layout, settings);
    }

    public AdamWSettings Settings { get; }

    /// <summary>Steps taken so far; the next step is bias-corrected as step StepCount + 1.</summary>
    public int StepCount { get; private set; }

    /// <summary>Zero until the first step (every backend zeroes new buffers).</summary>
    public ParameterSet<T> FirstMoment { get; }
    public ParameterSet<T> SecondMoment { get; }

    /// <summary>
    /// Clips the model's gradients in place and updates its parameters with them. Returns the gradient norm before
    /// clipping (what Hugging Face logs as grad_norm). A non-finite norm throws before anything changes, so the model
    /// and the moments stay fit for a checkpoint.
    /// </summary>
    public double Step(double learningRate)
    {
        if (!double.IsFinite(learningRate) || learningRate < 0)
            throw new ArgumentOutOfRangeException(nameof(learningRate), $"learning rate must be finite and non-negative, got {learningRate}");
        var norm = ClipGradients(_model, Settings);
        var (decayed, undecayed) = StepsAt(Settings, learningRate, StepCount + 1);
        var ops = _model.Ops;
        foreach (var run in _runs)
        {
            View<T> Part(ParameterSet<T> set) => set.Chunks[run.Chunk].All.Slice(run.Offset, run.Length);
            ops.AdamW(Part(_model.Parameters), Part(_model.Gradients), Part(FirstMoment), Part(SecondMoment), run.Decays ? decayed : undecayed,
                _master is null ? null : Part(_master));
        }
        StepCount++;
        return norm;
    }

    /// <summary>
    /// torch.nn.utils.clip_grad_norm_ over every gradient: the norm summed chunk by chunk in a fixed order (the same bits on
    /// every run of the same layout, and on every rank once the gradients are reduced), then a scale when it passes the
    /// maximum. Returns the norm before clipping; a non-finite one throws before anything changes.
    /// </summary>
    internal static double ClipGradients(LlamaModel<T> model, AdamWSettings settings)
    {
        var ops = model.Ops;
        var gradients = model.Gradients.Chunks;
        var norm = Math.Sqrt(gradients.Sum(chunk => ops.SumOfSquares(chunk.All)));
        if (!double.IsFinite(norm)) throw new InvalidOperationException($"the gradient norm is {norm}");
        if (settings.MaxGradNorm > 0)
        {
            // torch multiplies by min(1, maxNorm / (norm + 1e-6)); a factor of 1 changes nothing, so it is skipped.
            var factor = settings.MaxGradNorm / (norm + ClipNormEpsilon);
            if (factor < 1)
                foreach (var chunk in gradients) ops.Scale(chunk.All, (float)factor);
        }
        return norm;
    }

    /// <summary>The step's constants for the parameters that decay and for those that do not (the norms' weights, by default).</summary>
    internal static (AdamWStep Decayed, AdamWStep Undecayed) StepsAt(AdamWSettings settings, double learningRate, int step)
    {
        var decayed = new AdamWStep(learningRate, settings.Beta1, settings.Beta2, settings.Epsilon, settings.WeightDecay, step);
        return (decayed, decayed with { WeightDecay = 0 });
    }

    /// <summary>
    /// Writes, per parameter, the moments under torch's state names (exp_avg.NAME, exp_avg_sq.NAME: F64 for a float64
    /// model, BF16 for bfloat16 moments, F32 otherwise) and the master weights (master.NAME, F32) when the model has them,
    /// with the step count and settings as metadata, atomically. Every value is written exactly, so resuming is bitwise.
    /// </summary>
    public void Save(string path)
    {
        var metadata = Metadata(Settings, StepCount);
        var native = NativeDType;
        var momentDType = FirstMoment.Storage == Storage.BFloat16 ? SafeTensorsDType.BF16 : native;
        var tensors = new List<TensorToWrite>();
        foreach (var entry in _model.Layout.Entries)
        {
            tensors.Add(ParameterTensors.ToWrite($"{FirstMomentName}.{entry.Name}", entry, FirstMoment[entry], momentDType));
            tensors.Add(ParameterTensors.ToWrite($"{SecondMomentName}.{entry.Name}", entry, SecondMoment[entry], momentDType));
            if (_master is not null) tensors.Add(ParameterTensors.ToWrite($"{MasterName}.{entry.Name}", entry, _master[entry], native));
        }
        SafeTensorsWriter.Write(path, tensors, metadata);
    }

    /// <summary>The file's metadata: the step count and the settings (a record for the reader).</summary>
    internal static Dictionary<string, string> Metadata(AdamWSettings settings, int stepCount) => new()
    {
        [StepKey] = stepCount.ToString(CultureInfo.InvariantCulture),
        ["beta1"] = Format(settings.Beta1),
        ["beta2"] = Format(settings.Beta2),
        ["epsilon"] = Format(settings.Epsilon),
        ["weight_decay"] = Format(settings.WeightDecay),
        ["max_grad_norm"] = Format(settings.MaxGradNorm),
    };

    /// <summary>How T itself is written: F64 for a float64 model, F32 otherwise.</summary>
    internal static SafeTensorsDType NativeDType => typeof(T) == typeof(double) ? SafeTensorsDType.F64 : SafeTensorsDType.F32;

    /// <summary>The tensors a file must hold for a model of this layout, with or without master weights.</summary>
    internal static IEnumerable<string> TensorNames(ParameterLayout layout, bool master) =>
        layout.Entries.SelectMany(entry => (string[])[$"{FirstMomentName}.{entry.Name}", $"{SecondMomentName}.{entry.Name}",
            .. master ? [$"{MasterName}.{entry.Name}"] : Array.Empty<string>()]);

    /// <summary>Opens a file written by <see cref="Save"/> and reads its step, refusing one that lacks any tensor this model needs.</summary>
    internal static (SafeTensorsFile File, int Step) OpenChecked(string path, ParameterLayout layout, bool master)
    {
        var file = Open(path);
        try
        {
            var step = ReadStep(file);
            foreach (var name in TensorNames(layout, master))
            {
                if (!file.Tensors.ContainsKey(name))
                    throw new BadInputException(path, $"lacks tensor '{name}' (written for another model or precision, or by an older version?)");
            }
            return (file, step);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Refuses a non-finite value, or a negative one where none may be (a second moment), naming the tensor and index.</summary>
    internal static void CheckValues(string path, string name, ReadOnlySpan<T> piece, long start, bool negativeAllowed)
    {
        for (var i = 0; i < piece.Length; i++)
        {
            if (!T.IsFinite(piece[i])) throw new BadInputException(path, $"tensor '{name}' holds {piece[i]} at index {start + i}");
            if (!negativeAllowed && piece[i] < T.Zero) throw new BadInputException(path, $"tensor '{name}' holds a negative value at index {start + i}");
        }
    }

    /// <summary>
    /// Restores the moments, the master weights (and the model's weights as their rounding) and the step count written by
    /// <see cref="Save"/>; the settings stay this optimizer's own (the saved ones are a record for the reader). The step
    /// and every tensor's presence and shape are checked before anything changes; a non-finite value or a negative second
    /// moment found while streaming the values in is refused, naming the tensor and index.
    /// </summary>
    public void Load(string path)
    {
        var (file, step) = OpenChecked(path, _model.Layout, _master is not null);
        using var opened = file;
        foreach (var entry in _model.Layout.Entries)
        {
            Read($"{FirstMomentName}.{entry.Name}", entry, FirstMoment[entry], negativeAllowed: true);
            Read($"{SecondMomentName}.{entry.Name}", entry, SecondMoment[entry], negativeAllowed: false);
            if (_master is not null) Read($"{MasterName}.{entry.Name}", entry, _master[entry], negativeAllowed: true);
        }
        // The stored weights are the master's rounding, exactly as a step leaves them.
        if (_master is not null) _model.Parameters.CopyFrom(_master);
        StepCount = step;

        void Read(string name, ParameterEntry entry, View<T> values, bool negativeAllowed) =>
            ParameterTensors.Read(file, path, name, entry, values, (piece, start) => CheckValues(path, name, piece, start, negativeAllowed));
    }

    public void Dispose()
    {
        FirstMoment.Dispose();
        SecondMoment.Dispose();
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

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

    /// <summary>Consecutive parameters of one chunk that share a decay flag: one AdamW call each.</summary>
    internal readonly record struct DecayRun(int Chunk, int Offset, int Length, bool Decays)
    {
        public static IReadOnlyList<DecayRun> Of(ParameterLayout layout, AdamWSettings settings)
        {
            var runs = new List<DecayRun>();
            foreach (var entry in layout.Entries)
            {
                var decays = settings.Decays(entry.Name);
                var last = runs.Count > 0 ? runs[^1] : default;
                if (runs.Count > 0 && last.Chunk == entry.Chunk && last.Decays == decays && last.Offset + last.Length == entry.ChunkOffset)
                    runs[^1] = last with { Length = last.Length + entry.Length };
                else
                    runs.Add(new DecayRun(entry.Chunk, entry.ChunkOffset, entry.Length, decays));
            }
            return runs;
        }
    }
}
