using System.Diagnostics;
using System.Numerics;
using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Unlearn.Progress;
using SimNpo.Model.Tokenizers;
using SimNpo.Unlearn.Data;
using SimNpo.Unlearn.Distributed;

namespace SimNpo.Unlearn.Evaluation;

/// <summary>
/// What a TOFU evaluation reads and how it scores. Defaults are the public TOFU evaluation's: the first 300 rows of
/// each split, and sequences (scored or generated) of at most 200 tokens (its generation.max_length, which its
/// scoring datasets share).
/// </summary>
public sealed record TofuSettings
{
    public const int DefaultMaxItems = 300;
    public const int DefaultMaxLength = 200;

    public required string DataDirectory { get; init; }
    /// <summary>forget01, forget05 or forget10.</summary>
    public required string ForgetSet { get; init; }
    public int MaxItems { get; init; } = DefaultMaxItems;
    /// <summary>Longest scored sequence, and longest prompt plus generation, in tokens.</summary>
    public int MaxLength { get; init; } = DefaultMaxLength;
    /// <summary>At most this many tokens per generated answer; null: as many as MaxLength leaves after the prompt (TOFU's max_new_tokens: null).</summary>
    public int? MaxNewTokens { get; init; }
    public int BatchSize { get; init; } = 16;
    public PromptTemplate Template { get; init; } = PromptTemplate.Llama2Chat;
    /// <summary>fp32 or bf16 (<see cref="Kernels.Precision"/>): how the evaluated model is stored.</summary>
    public string Precision { get; init; } = Kernels.Precision.Fp32.Name;
    /// <summary>open-unlearning's MIA holdout split (a name in the data folder or a file); null: the one matching the forget set.</summary>
    public string? Holdout { get; init; }
    /// <summary>A reference model for open-unlearning's mia_reference (e.g. the retain model); null: no mia_reference.</summary>
    public string? ReferenceModel { get; init; }
    /// <summary>open-unlearning's mia_gradnorm: one forward and backward per forget and holdout item (off: the other attacks only).</summary>
    public bool MiaGradientNorms { get; init; } = true;
}

/// <summary>
/// Runs the four TOFU splits through a model: per item the answer, base (paraphrased) and perturbed answer losses,
/// Prob, truth ratio R and the ROUGE-L recall of the greedy answer; per split the three numbers TOFU reports.
/// </summary>
public static class TofuEvaluation
{
    /// <summary>
    /// Loads the model directory (weights and tokenizer) and evaluates it into a report, without forget quality. With a
    /// group every rank loads the model and scores its share of the batches and generations; every rank gets the whole report.
    /// </summary>
    public static TofuReport Evaluate(string modelDirectory, IOps<float> ops, TofuSettings settings, Action<string>? progress = null,
        ICommunicator? group = null)
    {
        var clock = Stopwatch.StartNew();
        using var model = ModelFiles.Load(modelDirectory, ops, Kernels.Precision.Parse(settings.Precision));
        var tokenizer = TokenizerLoader.Load(modelDirectory, model.Config);
        var splits = Run(model, tokenizer, settings, progress, group);
        var extra = Official.TofuMia.Compute(model, tokenizer, settings, ops, progress, group);
        return new TofuReport
        {
            Model = Path.GetFullPath(modelDirectory),
            ModelSha256 = ModelFingerprint.Sha256(modelDirectory),
            Device = ModelFingerprint.Device(ops.Name),
            Config = settings,
            Splits = splits,
            ModelUtility = TofuReport.ModelUtilityOf(splits),
            Extra = extra,
            Seconds = clock.Elapsed.TotalSeconds,
        };
    }

    /// <summary>The splits' results; with a group, items split across its ranks (<see cref="ParallelItems"/>), the same bits for any N.</summary>
    public static IReadOnlyList<TofuSplitResult> Run<T>(LlamaModel<T> model, ITextTokenizer tokenizer, TofuSettings settings, Action<string>? progress = null,
        ICommunicator? group = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Read every split first: a bad file should fail before minutes of scoring.
        var splits = TofuSplit.All(settings.ForgetSet)
            .Select(split => (split, items: TofuSplitFile.Read(TofuDataFiles.Find(settings.DataDirectory, Path.GetFileNameWithoutExtension(split.FileName)), split,
                settings.MaxItems)))
            .ToArray();
        var encoder = new ExampleEncoder(tokenizer, settings.Template);
        // A model with a shorter context than MaxLength is held to its own.
        settings = settings with { MaxLength = Math.Min(settings.MaxLength, model.Config.MaxSequenceLength) };
        using var decoder = new GreedyDecoder<T>(model, tokenizer, settings.MaxLength);
        return splits.Select(s =>
        {
            var result = Evaluate(model, encoder, decoder, s.split, s.items, settings, group);
            progress?.Invoke($"{s.split.Name}: Prob {result.Prob:F4}, ROUGE-L recall {result.RougeLRecall:F4}, truth ratio {result.TruthRatio:F4} "
                + $"({result.Items.Count} items)");
            return result;
        }).ToArray();
    }

    private static TofuSplitResult Evaluate<T>(LlamaModel<T> model, ExampleEncoder encoder, GreedyDecoder<T> decoder, TofuSplit split,
        IReadOnlyList<TofuItem> items, TofuSettings settings, ICommunicator? group)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // One list of every answer to score, so the batches fill across items: answers, base answers when they differ, perturbed.
        var sameBase = split.BaseAnswerField == TofuSplit.Answer;
        var texts = items.Select(i => (i.Question, Text: i.Answer))
            .Concat(sameBase ? [] : items.Select(i => (i.Question, Text: i.BaseAnswer)))
            .Concat(items.SelectMany(i => i.PerturbedAnswers.Select(p => (i.Question, Text: p))))
            .ToArray();
        var losses = AnswerLosses.Compute(model, texts.Select(t => encoder.Encode(t.Question, t.Text)).ToArray(), settings.BatchSize, settings.MaxLength,
            group);
        var perturbedStart = sameBase ? items.Count : 2 * items.Count;
        var perturbedCount = items[0].PerturbedAnswers.Count;
        var generations = ParallelItems.Map(group, items.Count, i =>
        {
            var prompt = encoder.EncodePrompt(items[i].Question);
            return decoder.Complete(prompt, Math.Min(settings.MaxNewTokens ?? int.MaxValue, settings.MaxLength - prompt.Count));
        }, ItemCodecs.Text, ($"generate {split.Name}", "answers"));

        var results = items.Select((item, i) =>
        {
            var answerLoss = losses[i];
            var baseLoss = sameBase ? answerLoss : losses[items.Count + i];
            var perturbed = losses.AsSpan(perturbedStart + i * perturbedCount, perturbedCount).ToArray();
            var generation = generations[i];
            return new TofuItemResult
            {
                Line = item.Line,
                Question = item.Question,
                Answer = item.Answer,
                Generation = generation,
                AnswerLoss = answerLoss,
                BaseLoss = baseLoss,
                PerturbedLosses = perturbed,
                Prob = split.NormalisesProb ? TofuMetrics.ProbabilityAgainstPerturbed(answerLoss, perturbed) : TofuMetrics.Probability(answerLoss),
                TruthRatio = TofuMetrics.TruthRatio(baseLoss, perturbed),
                RougeLRecall = RougeL.Score(generation, item.Answer, useStemmer: true).Recall,
            };
        }).ToArray();
        return TofuSplitResult.From(split, results);
    }
}
