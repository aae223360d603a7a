using System.CommandLine;
using SimNpo.Model.IO;
using SimNpo.Unlearn.Evaluation;
using SimNpo.Unlearn.Evaluation.Official;

namespace SimNpo.Cli;

/// <summary>
/// The options of `eval muse` about official logs and MUSE's corpora: --from-logs (aggregate a log without a model),
/// --retrain-results (the retrained model's log as the PrivLeak reference), --rescore and --corpus.
/// </summary>
public sealed class EvalMuseLogs
{
    public Option<string?> FromLogs { get; } = new("--from-logs")
    {
        Description = "aggregate a MUSE log without a model: open-unlearning's MUSE_EVAL.json (or its folder), our report.json, "
            + "or a muse_bench output folder (knowmem/, verbmem/, privleak/; or eval.py's verbmem_f/, knowmem_f/, privleak/log.json)",
    };

    public Option<string?> RetrainResults { get; } = new("--retrain-results")
        { Description = "the retrained model's log (any --from-logs layout): its forget-holdout Min-40% AUC is the PrivLeak reference" };

    public Option<bool> Rescore { get; } = new("--rescore")
        { Description = "with --from-logs: recompute every ROUGE value from the log's texts and report {compared, differing, max_abs_diff}" };

    public Option<string?> Corpus { get; } = new Option<string?>("--corpus")
    {
        Description = "MUSE corpus of the data (news, books): MUSE's settings, and muse_bench's AUC_RETRAIN (News 0.4772, Books 0.5393) as the "
            + "PrivLeak reference when no retrained model or results are given",
    }.AcceptOnlyFromAmong([.. MuseCorpus.All.Select(c => c.Name)]);

    public IEnumerable<Option> All => [FromLogs, RetrainResults, Rescore, Corpus];

    /// <summary>The PrivLeak reference from --retrain-results, --retrain-auc or --corpus (in that order), with the retrained log if read.</summary>
    public (PrivLeakReference? Reference, MuseLog? Retrain) Reference(ParseResult parse, double? retrainAuc)
    {
        if (parse.GetValue(RetrainResults) is { } results)
        {
            var retrain = MuseLogReader.Read(Path.GetFullPath(results));
            return (PrivLeakReference.FromLog(retrain), retrain);
        }
        if (retrainAuc is { } auc) return (new PrivLeakReference(auc, "given (--retrain-auc)"), null);
        if (parse.GetValue(Corpus) is { } name)
        {
            var corpus = MuseCorpus.Parse(name);
            return (new PrivLeakReference(corpus.RetrainAuc, $"muse_bench constants.py AUC_RETRAIN['{corpus.Name}']['forget_holdout_Min-40%']"), null);
        }
        return (null, null);
    }

    /// <summary>`eval muse --from-logs PATH --out report.json`: everything read and checked before anything is written.</summary>
    public int Aggregate(ParseResult parse, double? retrainAuc, string outPath)
    {
        var writer = parse.InvocationConfiguration.Output;
        AtomicFile.CheckWritable(outPath);
        var log = MuseLogReader.Read(Path.GetFullPath(parse.GetValue(FromLogs)!));
        var (reference, retrain) = Reference(parse, retrainAuc);
        var report = MuseLogReport.Aggregate(log, reference, retrain, parse.GetValue(Rescore));
        report.Write(outPath);
        writer.WriteLine($"{log.Source} ({log.Layout}):");
        foreach (var (name, value) in report.Summary) writer.WriteLine($"  {name} {value?.ToJsonString() ?? "null"}");
        if (report.MinK is { } minK) writer.WriteLine($"  forget-holdout Min-40% AUC (MUSE's convention) {minK.Auc:F4}"
            + (reference is null ? "" : $" against {reference.Auc:F4} ({reference.Source})"));
        if (report.Rescore is { } rescore)
            writer.WriteLine($"  rescore: {rescore.Compared} ROUGE values compared, {rescore.Differing} differing, largest difference {rescore.MaxAbsDiff:G3}");
        foreach (var reason in report.NotComputed) writer.WriteLine($"not computed: {reason}");
        var folder = Path.GetDirectoryName(outPath)!;
        writer.WriteLine($"report: {outPath}, {Path.ChangeExtension(outPath, ".md")}, {Path.Combine(folder, MuseReport.EvalFile)} and "
            + $"{Path.Combine(folder, MuseReport.SummaryFile)}");
        return CommandRunner.Success;
    }
}
