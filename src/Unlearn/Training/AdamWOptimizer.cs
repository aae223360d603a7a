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
public sealed class AdamWOptimizer<T> : IDisposable where T : unmanaged, IFloatingPointIeee754<T>
{
    public const string FileName = "optimizer.safetensors";
    private const string FirstMomentName = "exp_avg";
    private const string SecondMomentName = "exp_avg_sq";
    private const string MasterName = "master";
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
        var ops = _model.Ops;
        var gradients = _model.Gradients.Chunks;
        // Chunk by chunk in a fixed order: the same bits on every run of the same layout.
        var norm = Math.Sqrt(gradients.Sum(chunk => ops.SumOfSquares(chunk.All)));
        if (!double.IsFinite(norm)) throw new InvalidOperationException($"the gradient norm is {norm}");
        if (Settings.MaxGradNorm > 0)
        {
            // torch multiplies by min(1, maxNorm / (norm + 1e-6)); a factor of 1 changes nothing, so it is skipped.
            var factor = Settings.MaxGradNorm / (norm + ClipNormEpsilon);
            if (factor < 1)
                foreach (var chunk in gradients) ops.Scale(chunk.All, (float)factor);
        }
        var decayed = new AdamWStep(learningRate, Settings.Beta1, Settings.Beta2, Settings.Epsilon, Settings.WeightDecay, StepCount + 1);
        var undecayed = decayed with { WeightDecay = 0 };
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
    /// Writes, per parameter, the moments under torch's state names (exp_avg.NAME, exp_avg_sq.NAME: F64 for a float64
    /// model, BF16 for bfloat16 moments, F32 otherwise) and the master weights (master.NAME, F32) when the model has them,
    /// with the step count and settings as metadata, atomically. Every value is written exactly, so resuming is bitwise.
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
        var native = typeof(T) == typeof(double) ? SafeTensorsDType.F64 : SafeTensorsDType.F32;
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

    /// <summary>
    /// Restores the moments, the master weights (and the model's weights as their rounding) and the step count written by
    /// <see cref="Save"/>; the settings stay this optimizer's own (the saved ones are a record for the reader). The step
    /// and every tensor's presence and shape are checked before anything changes; a non-finite value or a negative second
    /// moment found while streaming the values in is refused, naming the tensor and index.
    /// </summary>
    public void Load(string path)
    {
        using var file = Open(path);
        var step = ReadStep(file);
        var names = _model.Layout.Entries.SelectMany(entry => (string[])[$"{FirstMomentName}.{entry.Name}", $"{SecondMomentName}.{entry.Name}",
            .. _master is null ? Array.Empty<string>() : [$"{MasterName}.{entry.Name}"]]);
        foreach (var name in names)
        {
            if (!file.Tensors.ContainsKey(name))
                throw new BadInputException(path, $"lacks tensor '{name}' (written for another model or precision, or by an older version?)");
        }
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
            ParameterTensors.Read(file, path, name, entry, values, (piece, start) =>
            {
                for (var i = 0; i < piece.Length; i++)
                {
                    if (!T.IsFinite(piece[i])) throw new BadInputException(path, $"tensor '{name}' holds {piece[i]} at index {start + i}");
                    if (!negativeAllowed && piece[i] < T.Zero)
                        throw new BadInputException(path, $"tensor '{name}' holds a negative value at index {start + i}");
                }
            });
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
    private readonly record struct DecayRun(int Chunk, int Offset, int Length, bool Decays)
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
