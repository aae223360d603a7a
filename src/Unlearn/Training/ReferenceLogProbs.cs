using System.Globalization;
using System.Numerics;
using SimNpo.Model;
using SimNpo.Model.IO;
using SimNpo.Model.SafeTensors;
using SimNpo.Unlearn.Progress;

namespace SimNpo.Unlearn.Training;

/// <summary>
/// log π_ref(y|x) of every forget answer (and, for IdkPO, every refusal) under the model before unlearning. NPO and
/// IdkPO need the reference only through these numbers, so they are computed once and no second model is kept.
/// Saved in the run's folder so a resumed run uses the same ones, not those of a half-unlearned checkpoint.
/// </summary>
public sealed record ReferenceLogProbs(double[] Forget, double[]? Refusals)
{
    public const string FileName = "reference_logprobs.safetensors";

    public static ReferenceLogProbs Compute<T>(LlamaModel<T> model, TrainingData data, int batchSize, int maxLength)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        new(Score(model, data.Forget, batchSize, maxLength), data.Refusals is { } refusals ? Score(model, refusals, batchSize, maxLength) : null);

    private static double[] Score<T>(LlamaModel<T> model, IReadOnlyList<TokenizedExample> examples, int batchSize, int maxLength)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        examples.Chunk(batchSize).ToArray().Reported("reference log-probs", "batches")
            .SelectMany(chunk => model.Forward(TokenBatch.FromExamples(chunk, maxLength)).Scores.LogProb).ToArray();

    public void Save(string path)
    {
        var tensors = new List<TensorToWrite> { new("forget", [Forget.Length], Forget) };
        if (Refusals is not null) tensors.Add(new TensorToWrite("refusals", [Refusals.Length], Refusals));
        SafeTensorsWriter.Write(path, tensors);
    }

    public static ReferenceLogProbs Load(string path, TrainingData data)
    {
        using var file = SafeTensorsFile.Open(path);
        double[] Read(string name, int count)
        {
            if (!file.Tensors.TryGetValue(name, out var info) || info.ElementCount != count)
                throw new BadInputException(path, $"expected tensor '{name}' of {count.ToString(CultureInfo.InvariantCulture)} values for this run's data");
            return file.ReadFloat64(name);
        }
        return new ReferenceLogProbs(Read("forget", data.Forget.Count), data.Refusals is { } refusals ? Read("refusals", refusals.Count) : null);
    }
}
