using System.Numerics;
using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Model.Tokenizers;
using SimNpo.Unlearn.Distributed;

namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>
/// open-unlearning's memorisation and MIA metrics in a MUSE evaluation (configs/eval/muse_metrics/*.yaml at d3d7cf9):
/// exact_memorization and extraction_strength on the VerbMem passages (MUSE_forget_verbmem: prompt, a space and the
/// continuation, the continuation scored), the mia_* attacks between privleak/'s forget and holdout texts (MUSE_MIA: BOS
/// and the whole text scored). Texts are cut to the model's context, as our Min-K% scores are.
/// </summary>
public static class MuseMia
{
    /// <summary>MUSE_forget_verbmem.yaml and MUSE_MIA.yaml's max_length: scored tokens kept after the prompt.</summary>
    public const int MaxScoredTokens = 2048;

    /// <summary>
    /// Every metric but those the evaluation already names (its mia_min_k and privleak, as muse_bench scores Min-K%). With a
    /// group, every model pass is split across its ranks: the same bits on every rank for any N.
    /// </summary>
    public static OpenUnlearningMetrics Compute<T>(LlamaModel<T> model, ITextTokenizer tokenizer, MuseSettings settings, IOps<T> ops,
        IReadOnlySet<string> alreadyNamed, Action<string>? progress = null, ICommunicator? group = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var files = MuseFiles.Of(settings);
        var context = model.Config.MaxSequenceLength;
        TokenizedExample Completion(string prefix, string separator, string text)
        {
            // preprocess_pretraining_instance: the whole text tokenized with BOS, the prefix's own tokens (with BOS) not scored.
            int[] full = [tokenizer.BosId, .. tokenizer.Encode(prefix + separator + text)];
            var promptCount = prefix.Length == 0 ? 1 : Math.Min(1 + tokenizer.Encode(prefix).Count, full.Length - 1);
            return new TokenizedExample(full[..promptCount], full[promptCount..Math.Min(full.Length, promptCount + MaxScoredTokens)]);
        }
        string Scored(TokenizedExample example) => tokenizer.Decode(example.AnswerIds);

        using var reference = settings.ReferenceModel is { } referencePath ? ModelFiles.Load(referencePath, ops, model.Precision) : null;
        MiaSetStatistics Measure(IReadOnlyList<TokenizedExample> examples, bool attacks) => OpenUnlearningExtras.Measure(model, examples,
            examples.Select(Scored).ToArray(), settings.BatchSize, context, gradientNorms: attacks && settings.MiaGradientNorms,
            attacks ? reference : null, group);

        var verbatim = MuseData.ReadVerbMem(files.VerbMem).Select(p => Completion(p.Prompt, " ", p.Continuation)).ToArray();
        // A prompt that fills the model's context leaves no continuation token to score: the memorisation metrics are then not computed.
        var memorisation = verbatim.Any(e => e.PromptIds.Count >= context) ? null : Measure(verbatim, attacks: false);
        if (memorisation is null) progress?.Invoke($"not computed: exact_memorization, extraction_strength (a VerbMem prompt fills the {context}-token context)");
        MiaSetStatistics? forget = null, holdout = null;
        if (MuseEvaluation.PrivLeakTexts(files) is { } texts)
        {
            forget = Measure(texts.Forget.Select(t => Completion("", "", t)).ToArray(), attacks: true);
            holdout = Measure(texts.Holdout.Select(t => Completion("", "", t)).ToArray(), attacks: true);
        }
        var metrics = new OpenUnlearningMetrics();
        foreach (var (name, entry) in OpenUnlearningExtras.Metrics(memorisation, forget, holdout, settings.MinK))
            if (!alreadyNamed.Contains(name)) metrics.Add(name, entry);
        progress?.Invoke("open-unlearning metrics: " + string.Join(", ", metrics.Select(m => $"{m.Key} {m.Value["agg_value"]}")));
        return metrics;
    }
}
