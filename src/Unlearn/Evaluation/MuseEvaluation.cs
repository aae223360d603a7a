using System.Diagnostics;
using System.Numerics;
using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Unlearn.Progress;
using SimNpo.Model.Tokenizers;
using SimNpo.Unlearn.Distributed;

namespace SimNpo.Unlearn.Evaluation;

/// <summary>What a MUSE evaluation reads; the token counts are MUSE's.</summary>
public sealed record MuseSettings
{
    public required string DataDirectory { get; init; }
    /// <summary>Texts the model never saw, for PrivLeak against the VerbMem passages; the muse-alice set has none.</summary>
    public string? HoldoutPath { get; init; }
    /// <summary>MUSE's own PrivLeak folder (privleak/ of MUSE-News or -Books): forget.json against holdout.json.</summary>
    public string? PrivLeakDirectory { get; init; }
    /// <summary>Retain QA for KnowMem on the retain side, with its own in-context examples (default: the forget ones).</summary>
    public string? RetainQaPath { get; init; }
    public string? RetainQaExamplesPath { get; init; }
    public int VerbMemNewTokens { get; init; } = 128;
    public int KnowMemNewTokens { get; init; } = 32;
    public double MinK { get; init; } = MinKProbability.DefaultK;
    /// <summary>A reference model for open-unlearning's mia_reference (e.g. the retrained model); null: no mia_reference.</summary>
    public string? ReferenceModel { get; init; }
    /// <summary>open-unlearning's mia_gradnorm: one forward and backward per forget and holdout item (off: the other attacks only).</summary>
    public bool MiaGradientNorms { get; init; } = true;
    public int BatchSize { get; init; } = 8;
    /// <summary>MUSE's corpus (news, books): its settings, and its retrained model's AUC as the default PrivLeak reference.</summary>
    public string? Corpus { get; init; }
    /// <summary>MUSE's scorer does not stem (muse_bench metrics/logger.py, use_stemmer=False); open-unlearning's does.</summary>
    public bool RougeStemmer { get; init; }
    /// <summary>fp32 or bf16 (<see cref="Kernels.Precision"/>): how the evaluated model is stored.</summary>
    public string Precision { get; init; } = Kernels.Precision.Fp32.Name;
}

/// <summary>
/// VerbMem, KnowMem and the Min-K% scores PrivLeak needs, as SPEC.md defines them. A prompt longer than the model's
/// context leaves room for the continuation by dropping its oldest tokens (BOS stays first).
/// </summary>
public static class MuseEvaluation
{
    /// <summary>
    /// Loads and evaluates a model directory. PrivLeak needs holdout texts (or MUSE's PrivLeak folder) and the retrained
    /// model's AUC, given as a number or as a model directory whose AUC is measured on the same texts; what is missing is
    /// named in NotComputed.
    /// </summary>
    /// <param name="group">Ranks that share the items (<see cref="ParallelItems"/>); every rank gets the whole report, the same bits for any N.</param>
    public static MuseReport Evaluate(string modelDirectory, IOps<float> ops, MuseSettings settings, Official.PrivLeakReference? retrain, string? retrainModel,
        Action<string>? progress = null, ICommunicator? group = null)
    {
        var clock = Stopwatch.StartNew();
        MuseReport report;
        Official.OpenUnlearningMetrics extra;
        using (var model = ModelFiles.Load(modelDirectory, ops, Kernels.Precision.Parse(settings.Precision)))
        {
            var tokenizer = TokenizerLoader.Load(modelDirectory, model.Config);
            report = Run(model, tokenizer, settings, progress, group);
            // The evaluation names mia_min_k and privleak itself (Official), from muse_bench's Min-K% over every text token.
            extra = Official.MuseMia.Compute(model, tokenizer, settings, ops, new HashSet<string> { "mia_min_k", "privleak" }, progress, group);
        }
        var missing = new List<string>();
        if (retrain is null && retrainModel is null && settings.Corpus is { } corpusName)
        {
            var corpus = Official.MuseCorpus.Parse(corpusName);
            retrain = new Official.PrivLeakReference(corpus.RetrainAuc, $"muse_bench constants.py AUC_RETRAIN['{corpus.Name}']['forget_holdout_Min-40%']");
        }
        if (report.KnowMemRetain is null) missing.Add("KnowMem on retain QA: no retain questions given (--retain-qa)");
        PrivLeak? leak = null;
        if (report.MinK is null)
            missing.Add("PrivLeak: no holdout texts (texts the model never saw) given (--holdout or --privleak-dir); the MUSE-format data has none");
        else if (retrain is not null)
            leak = new PrivLeak(report.MinK.Auc, retrain.Auc, retrain.Source);
        else if (retrainModel is not null)
        {
            using var retrainedModel = ModelFiles.Load(retrainModel, ops, Kernels.Precision.Parse(settings.Precision));
            var scores = MinK(retrainedModel, TokenizerLoader.Load(retrainModel, retrainedModel.Config), PrivLeakTexts(MuseFiles.Of(settings))!.Value,
                settings, group);
            leak = new PrivLeak(report.MinK.Auc, scores.Auc, Path.GetFullPath(retrainModel));
            progress?.Invoke($"retrained model's AUC: {scores.Auc:F4}");
        }
        else missing.Add("PrivLeak: no retrained model's AUC (--retrain-auc, --retrain-results, --corpus) or model (--retrain-model); "
            + "the AUC alone is reported");
        if (leak is { Value: null }) missing.Add("PrivLeak: the retrained model's AUC is 0, so the relative difference is undefined; both AUCs are reported");
        var reference = leak is null ? null : new Official.PrivLeakReference(leak.RetrainAuc, leak.RetrainReference);
        return report with
        {
            Official = Official.MuseSummary.Metrics(report, reference),
            Extra = extra,
            Model = Path.GetFullPath(modelDirectory),
            ModelSha256 = ModelFingerprint.Sha256(modelDirectory),
            Device = ModelFingerprint.Device(ops.Name),
            Config = settings,
            Files = MuseFiles.Of(settings),
            PrivLeak = leak,
            NotComputed = missing,
            Seconds = clock.Elapsed.TotalSeconds,
        };
    }

    /// <summary>The forget corpus of a MUSE-format set: its passages, prompt and continuation together.</summary>
    public static IReadOnlyList<string> ForgetTexts(IReadOnlyList<VerbatimPassage> passages) => passages.Select(p => p.Prompt + p.Continuation).ToArray();

    /// <summary>
    /// PrivLeak's forget and holdout texts: MUSE's privleak/forget.json and holdout.json (what muse_bench eval.py reads),
    /// or the VerbMem passages against a holdout file; null without holdout texts.
    /// </summary>
    public static (IReadOnlyList<string> Forget, IReadOnlyList<string> Holdout)? PrivLeakTexts(MuseFiles files) =>
        files.PrivLeakHoldout is not { } holdout ? null
        : (files.PrivLeakForget is { } forget ? MuseData.ReadTexts(forget) : ForgetTexts(MuseData.ReadVerbMem(files.VerbMem)), MuseData.ReadTexts(holdout));

    /// <summary>
    /// VerbMem's reference as muse_bench metrics/verbmem.py makes it: the continuation tokenized with BOS, cut to as many
    /// tokens as are generated, decoded without BOS. BOS counts among them, so 128 new tokens keep 127 of the text.
    /// </summary>
    public static string VerbMemReference(ITextTokenizer tokenizer, string continuation, int newTokens) =>
        tokenizer.Decode(tokenizer.Encode(continuation).Take(newTokens - 1));

    public static MuseReport Run<T>(LlamaModel<T> model, ITextTokenizer tokenizer, MuseSettings settings, Action<string>? progress = null,
        ICommunicator? group = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var files = MuseFiles.Of(settings);
        var verbatim = MuseData.ReadVerbMem(files.VerbMem);
        var forgetQa = MuseData.ReadQa(files.KnowMem);
        var examples = MuseData.ReadQa(files.KnowMemExamples);
        var retainQa = files.RetainQa is { } retainPath ? MuseData.ReadQa(retainPath) : null;
        var retainExamples = files.RetainQaExamples is { } retainExamplesPath ? MuseData.ReadQa(retainExamplesPath) : examples;
        var privLeakTexts = PrivLeakTexts(files);
        var context = model.Config.MaxSequenceLength;
        using var decoder = new GreedyDecoder<T>(model, tokenizer, context);

        IReadOnlyList<int> Prompt(string text, int newTokens)
        {
            var ids = tokenizer.Encode(text);
            var room = Math.Max(0, context - newTokens - 1);
            return [tokenizer.BosId, .. ids.Skip(Math.Max(0, ids.Count - room))];
        }

        var verbMemGenerations = ParallelItems.Map(group, verbatim.Count,
            i => decoder.Complete(Prompt(verbatim[i].Prompt, settings.VerbMemNewTokens), settings.VerbMemNewTokens), ItemCodecs.Text,
            ("VerbMem", "passages"));
        var verbMem = verbatim.Select((passage, i) =>
        {
            var generation = verbMemGenerations[i];
            var reference = VerbMemReference(tokenizer, passage.Continuation, settings.VerbMemNewTokens);
            return MuseGeneration.Score(passage.Prompt, reference, generation, settings.RougeStemmer);
        }).ToArray();
        progress?.Invoke($"VerbMem: {verbMem.Average(g => g.RougeLF1):F2} ({verbMem.Length} passages)");

        MuseGeneration[] KnowMem(IReadOnlyList<QuestionAnswer> questions, IReadOnlyList<QuestionAnswer> shots)
        {
            var raw = ParallelItems.Map(group, questions.Count,
                i => decoder.Complete(Prompt(KnowMemPrompt.Build(shots, questions[i].Question), settings.KnowMemNewTokens), settings.KnowMemNewTokens),
                ItemCodecs.Text, ("KnowMem", "questions"));
            return questions.Select((qa, i) =>
            {
                var answer = KnowMemPrompt.CutAnswer(raw[i]);
                return MuseGeneration.Score(qa.Question, qa.Answer, answer, settings.RougeStemmer);
            }).ToArray();
        }
        var knowMemForget = KnowMem(forgetQa, examples);
        progress?.Invoke($"KnowMem (forget): {knowMemForget.Average(g => g.RougeLF1):F2} ({knowMemForget.Length} questions)");
        var knowMemRetain = retainQa is null ? null : KnowMem(retainQa, retainExamples);
        if (knowMemRetain is not null) progress?.Invoke($"KnowMem (retain): {knowMemRetain.Average(g => g.RougeLF1):F2} ({knowMemRetain.Length} questions)");

        MinKScores? minK = null;
        if (privLeakTexts is { } texts)
        {
            minK = MinK(model, tokenizer, texts, settings, group);
            progress?.Invoke($"Min-{settings.MinK * 100:0}% AUC, forget vs holdout (holdout positive, as MUSE): {minK.Auc:F4}");
        }
        return new MuseReport
        {
            VerbMem = verbMem.Average(g => g.RougeLF1),
            KnowMemForget = knowMemForget.Average(g => g.RougeLF1),
            KnowMemRetain = knowMemRetain?.Average(g => g.RougeLF1),
            MinK = minK,
            VerbMemItems = verbMem,
            KnowMemForgetItems = knowMemForget,
            KnowMemRetainItems = knowMemRetain,
        };
    }

    private static MinKScores MinK<T>(LlamaModel<T> model, ITextTokenizer tokenizer, (IReadOnlyList<string> Forget, IReadOnlyList<string> Holdout) texts,
        MuseSettings settings, ICommunicator? group) where T : unmanaged, IFloatingPointIeee754<T> =>
        new(Scores(model, tokenizer, texts.Forget, settings, group), Scores(model, tokenizer, texts.Holdout, settings, group));

    /// <summary>Min-K% score of each text (BOS, then every token of the text scored), cut to the model's context.</summary>
    public static double[] Scores<T>(LlamaModel<T> model, ITextTokenizer tokenizer, IReadOnlyList<string> texts, MuseSettings settings,
        ICommunicator? group = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var examples = texts.Select(text => new TokenizedExample([tokenizer.BosId], tokenizer.Encode(text))).ToArray();
        return TokenLogProbs.Compute(model, examples, settings.BatchSize, model.Config.MaxSequenceLength, group)
            .Select(logProbs => MinKProbability.Score(logProbs, settings.MinK)).ToArray();
    }
}
