using System.CommandLine;
using SimNpo.Kernels.Runtime;
using SimNpo.Model.IO;
using SimNpo.Unlearn;
using SimNpo.Unlearn.Distributed;
using SimNpo.Unlearn.Evaluation;
using SimNpo.Unlearn.Evaluation.Official;

namespace SimNpo.Cli;

/// <summary>
/// `simnpo eval tofu` and `simnpo eval muse`: benchmark metrics of a model, as report.json and report.md. Under mpirun the
/// ranks share the items (<see cref="ParallelItems"/>, the same report as one process) and rank 0 alone writes.
/// </summary>
public static class EvalCommand
{
    public static Command Create() => new("eval", "Evaluate a model on the TOFU or MUSE benchmark") { Tofu(), Muse() };

    private static Command Tofu()
    {
        var model = CommonOptions.Model();
        model.Required = false; // not with --from-logs
        var dataDirectory = CommonOptions.TofuData();
        var forget = new Option<string>("--forget") { Description = "forget set whose perturbed split is evaluated", DefaultValueFactory = _ => "forget10" }
            .AcceptOnlyFromAmong("forget01", "forget05", "forget10");
        var retainResults = new Option<string?>("--retain-results")
        {
            Description = "the retain model's log (same forget set): our report.json, open-unlearning's TOFU_EVAL.json or TOFU's eval_log_aggregated.json "
                + "(or their folder); forget quality is computed against it",
        };
        var retainModel = CommonOptions.OptionalModel("--retain-model",
            "retain model to evaluate as well (its report goes beside --out as *.retain.json), for forget quality");
        var maxItems = new Option<int>("--max-items") { Description = "first rows of each split (TOFU: 300)",
            DefaultValueFactory = _ => TofuSettings.DefaultMaxItems };
        var maxLength = new Option<int>("--max-length")
            { Description = "longest scored sequence and longest prompt plus generated answer, in tokens (TOFU: 200)",
            DefaultValueFactory = _ => TofuSettings.DefaultMaxLength };
        var maxNewTokens = new Option<int?>("--max-new-tokens") { Description = "cap on generated answer tokens (default: what --max-length leaves)" };
        var batchSize = new Option<int>("--batch-size") { Description = "sequences per forward pass", DefaultValueFactory = _ => 16 };
        var output = new Option<FileInfo>("--out") { Description = "report.json to write (report.md, TOFU_EVAL.json and TOFU_SUMMARY.json beside it)",
            Required = true };
        var (fromLogs, rescore, truthRatioMean) = (EvalFromLogs.FromLogs(), EvalFromLogs.Rescore(), EvalFromLogs.TruthRatioMean());
        var device = CommonOptions.Device();
        var precision = CommonOptions.Precision();
        var prompt = new CommonOptions.TemplateOptions();
        var (holdoutSplit, referenceModel, noGradNorm) = (MiaOptions.TofuHoldout(), MiaOptions.ReferenceModel(), MiaOptions.NoGradientNorms());
        var command = new Command("tofu",
            "TOFU: Prob, truth ratio and ROUGE-L recall on forget, retain, real authors and world facts; model utility; forget quality")
        {
            model, dataDirectory, forget, retainResults, retainModel, maxItems, maxLength, maxNewTokens, batchSize, output, device, precision,
                prompt.ChatTemplate, prompt.PromptFormat, prompt.AnswerPrefix, fromLogs, rescore, truthRatioMean, holdoutSplit,
                referenceModel, noGradNorm,
        };
        command.SetAction(parse =>
        {
            if (parse.GetValue(retainResults) is not null && parse.GetValue(retainModel) is not null)
                throw new UsageException("give either --retain-results or --retain-model, not both");
            if (parse.GetValue(fromLogs) is { } logs)
            {
                if (parse.GetValue(model) is not null || parse.GetResult(dataDirectory) is { Implicit: false } || parse.GetValue(retainModel) is not null)
                    throw new UsageException("--from-logs aggregates a log without a model: no --model, --data-dir or --retain-model");
                return EvalFromLogs.Run(logs, parse.GetValue(retainResults), parse.GetRequiredValue(truthRatioMean), parse.GetValue(rescore),
                    parse.GetRequiredValue(output).FullName, parse.InvocationConfiguration.Output);
            }
            if (parse.GetValue(model) is null)
                throw new UsageException("--model is required (or --from-logs to aggregate a log)");
            if (parse.GetValue(rescore) || parse.GetResult(truthRatioMean) is { Implicit: false })
                throw new UsageException("--rescore and --truth-ratio-mean go with --from-logs");
            if (parse.GetValue(maxItems) < 1 || parse.GetValue(batchSize) < 1 || parse.GetValue(maxLength) < 2 || parse.GetValue(maxNewTokens) < 1)
                throw new UsageException("--max-items, --batch-size and --max-new-tokens must be at least 1, --max-length at least 2");
            var ops = Devices.Create(parse.GetRequiredValue(device));
            var modelDirectory = CommonOptions.ModelFolder(parse.GetRequiredValue(model));
            var settings = new TofuSettings
            {
                DataDirectory = CommonOptions.TofuFolder(parse.GetRequiredValue(dataDirectory), CommonOptions.TofuEvaluationSplits(parse.GetRequiredValue(forget))),
                ForgetSet = parse.GetRequiredValue(forget),
                MaxItems = parse.GetValue(maxItems),
                MaxLength = parse.GetValue(maxLength),
                MaxNewTokens = parse.GetValue(maxNewTokens),
                BatchSize = parse.GetValue(batchSize),
                Template = prompt.Resolve(parse, modelDirectory),
                Precision = CommonOptions.Precision(parse, precision, ops).Name,
                Holdout = parse.GetValue(holdoutSplit),
                ReferenceModel = parse.GetValue(referenceModel)?.FullName,
                MiaGradientNorms = !parse.GetValue(noGradNorm),
            };
            var group = Communicators.World;
            var writer = group.IsRoot ? parse.InvocationConfiguration.Output : TextWriter.Null;
            var outPath = parse.GetRequiredValue(output).FullName;
            var retainReference = parse.GetValue(retainResults) is { } given ? Path.GetFullPath(given) : null;
            // Read and checked before the evaluation, which takes hours on a real model, rather than after it (the item count only then).
            AtomicFile.CheckWritable(outPath);
            var retainLog = retainReference is null ? null : TofuLogReader.Read(retainReference);
            if (retainLog is not null) TofuLogReader.CheckForgetSet(retainLog, settings.DataDirectory, settings.ForgetSet);

            double[]? retainRatios = null;
            if (CommonOptions.ModelFolder(parse.GetValue(retainModel)) is { } retain)
            {
                writer.WriteLine($"retain model {retain}:");
                var retainReport = TofuEvaluation.Evaluate(retain, ops, settings, writer.WriteLine, group);
                retainReference = Path.ChangeExtension(outPath, ".retain.json");
                if (group.IsRoot) retainReport.Write(retainReference);
                retainRatios = retainReport.ForgetTruthRatios;
                writer.WriteLine($"retain model's report: {retainReference}");
            }

            writer.WriteLine($"model {modelDirectory}:");
            var report = TofuEvaluation.Evaluate(modelDirectory, ops, settings, writer.WriteLine, group);
            if (!group.IsRoot) return CommandRunner.Success;
            if (retainReference is not null)
            {
                if (retainLog is not null)
                {
                    TofuLogReader.CheckComparable(retainLog, outPath, report.Forget.Items.Count, settings.ForgetSet);
                    retainRatios = TofuReport.ForgetTruthRatiosOf(retainLog);
                    retainReference = retainLog.Path;
                }
                report = report.WithForgetQuality(retainRatios!, retainReference);
                var histogram = Path.ChangeExtension(outPath, ".truth_ratio.png");
                TofuProtocolPlots.SaveTruthRatioHistogram(histogram, "model", report.ForgetTruthRatios, retainRatios!);
                writer.WriteLine($"truth-ratio histogram: {histogram}");
            }
            report = TofuMia.WithPrivLeak(report);
            report.Write(outPath);
            report.WriteOfficial(Path.GetDirectoryName(outPath)!);
            writer.WriteLine($"model utility {report.ModelUtility:F4}"
                + (report.ForgetQuality is { } quality ? $", forget quality {quality:G4}" : ", forget quality not computed (no retain results)"));
            writer.WriteLine($"report: {outPath} and {Path.ChangeExtension(outPath, ".md")}, with {TofuLogReport.EvalFileName} and "
                + $"{TofuLogReport.SummaryFileName} beside them");
            return CommandRunner.Success;
        });
        return command;
    }

    private static Command Muse()
    {
        var model = CommonOptions.Model();
        model.Required = false;
        var logs = new EvalMuseLogs();
        var data = CommonOptions.MuseData(
            $"MUSE-format folder: {MuseData.VerbMemFile}, {MuseData.KnowMemFile}, {MuseData.KnowMemExamplesFile}, or MUSE's released layout "
                + "(verbmem/forget.json, knowmem/{forget,retain}_qa[_icl].json, privleak/{forget,holdout}.json; each used when there)");
        var holdout = new Option<FileInfo?>("--holdout") { Description = "JSON list of texts the model never saw, for PrivLeak against the VerbMem passages" };
        var privLeakDir = new Option<DirectoryInfo?>("--privleak-dir")
            { Description = $"MUSE's privleak folder: PrivLeak on its {MuseData.PrivLeakForgetFile} against {MuseData.PrivLeakHoldoutFile}, as MUSE" };
        var retainQa = new Option<FileInfo?>("--retain-qa") { Description = "retain QA (JSON list of {question, answer}) for KnowMem on the retain side" };
        var retainQaExamples = new Option<FileInfo?>("--retain-qa-icl") { Description = "in-context examples for the retain QA (default: the forget ones)" };
        var retrainAuc = new Option<double?>("--retrain-auc")
            { Description = "the retrained model's Min-K% AUC in MUSE's convention (forget vs holdout, holdout positive; MUSE-News: 0.4772), for PrivLeak" };
        var retrainModel = CommonOptions.OptionalModel("--retrain-model", "the retrained model, whose AUC is measured on the same texts");
        var batchSize = new Option<int>("--batch-size") { Description = "texts per forward pass for Min-K%", DefaultValueFactory = _ => 8 };
        var verbMemTokens = new Option<int>("--verbmem-new-tokens") { Description = "greedy continuation length for VerbMem (MUSE: 128)",
            DefaultValueFactory = _ => MuseCorpus.News.VerbMemNewTokens };
        var knowMemTokens = new Option<int>("--knowmem-new-tokens") { Description = "greedy answer length for KnowMem (MUSE: 32)",
            DefaultValueFactory = _ => MuseCorpus.News.KnowMemNewTokens };
        var output = new Option<FileInfo>("--out") { Description = "report.json to write (report.md beside it)", Required = true };
        var device = CommonOptions.Device();
        var precision = CommonOptions.Precision();
        var (museReferenceModel, museNoGradNorm) = (MiaOptions.ReferenceModel(), MiaOptions.NoGradientNorms());
        var command = new Command("muse", "MUSE: VerbMem, KnowMem and PrivLeak (Min-K% with k = 40%), of a model or aggregated from a log (--from-logs)")
        {
            model, data, holdout, privLeakDir, retainQa, retainQaExamples, retrainAuc, retrainModel, batchSize, verbMemTokens, knowMemTokens, output, device,
            precision, museReferenceModel, museNoGradNorm,
        };
        foreach (var option in logs.All) command.Options.Add(option);
        command.SetAction(parse =>
        {
            if (new[] { parse.GetValue(retrainAuc) is not null, parse.GetValue(retrainModel) is not null, parse.GetValue(logs.RetrainResults) is not null }
                .Count(given => given) > 1)
                throw new UsageException("give one of --retrain-auc, --retrain-model and --retrain-results");
            if (parse.GetValue(logs.FromLogs) is not null)
            {
                if (parse.GetValue(model) is not null || parse.GetResult(data) is { Implicit: false } || parse.GetValue(retrainModel) is not null)
                    throw new UsageException("--from-logs aggregates a log without a model: --model, --data and --retrain-model do not apply");
                return logs.Aggregate(parse, parse.GetValue(retrainAuc), parse.GetRequiredValue(output).FullName);
            }
            if (parse.GetValue(model) is null) throw new UsageException("give --model (and --data), or --from-logs");
            if (parse.GetValue(logs.Rescore)) throw new UsageException("--rescore applies to --from-logs only");
            if (parse.GetValue(holdout) is not null && parse.GetValue(privLeakDir) is not null)
                throw new UsageException("give either --holdout or --privleak-dir, not both");
            if (parse.GetValue(retrainAuc) is <= 0 or > 1) throw new UsageException("--retrain-auc must be in (0, 1]");
            if (parse.GetValue(batchSize) < 1 || parse.GetValue(verbMemTokens) < 1 || parse.GetValue(knowMemTokens) < 1)
                throw new UsageException("--batch-size, --verbmem-new-tokens and --knowmem-new-tokens must be at least 1");
            var dataFolder = CommonOptions.MuseFolder(parse.GetRequiredValue(data));
            // MUSE's settings go with its own data: the released folders or the Hub data set's Parquet parts.
            if (parse.GetValue(logs.Corpus) is { } corpus && !File.Exists(Path.Combine(dataFolder, "verbmem", "forget.json"))
                && MuseHubLayout.Files(dataFolder) is null)
                throw new UsageException($"--corpus {corpus} reads muse_bench's released layout (verbmem/forget.json, knowmem/, privleak/) or the Hub "
                    + $"data set's Parquet files, which {dataFolder} is not");
            var ops = Devices.Create(parse.GetRequiredValue(device));
            var settings = new MuseSettings
            {
                DataDirectory = dataFolder,
                Corpus = parse.GetValue(logs.Corpus),
                HoldoutPath = parse.GetValue(holdout)?.FullName,
                PrivLeakDirectory = parse.GetValue(privLeakDir)?.FullName,
                RetainQaPath = parse.GetValue(retainQa)?.FullName,
                RetainQaExamplesPath = parse.GetValue(retainQaExamples)?.FullName,
                VerbMemNewTokens = parse.GetValue(verbMemTokens),
                KnowMemNewTokens = parse.GetValue(knowMemTokens),
                BatchSize = parse.GetValue(batchSize),
                Precision = CommonOptions.Precision(parse, precision, ops).Name,
                ReferenceModel = parse.GetValue(museReferenceModel)?.FullName,
                MiaGradientNorms = !parse.GetValue(museNoGradNorm),
            };
            var group = Communicators.World;
            var writer = group.IsRoot ? parse.InvocationConfiguration.Output : TextWriter.Null;
            var outPath = parse.GetRequiredValue(output).FullName;
            AtomicFile.CheckWritable(outPath);
            var report = MuseEvaluation.Evaluate(CommonOptions.ModelFolder(parse.GetRequiredValue(model)), ops, settings,
                logs.Reference(parse, parse.GetValue(retrainAuc)).Reference, CommonOptions.ModelFolder(parse.GetValue(retrainModel)), writer.WriteLine, group);
            if (!group.IsRoot) return CommandRunner.Success;
            report.Write(outPath);
            if (report.PrivLeak?.Value is { } leak)
                writer.WriteLine($"PrivLeak {leak:F2} (against {report.PrivLeak.RetrainAuc:F4}, {report.PrivLeak.RetrainReference})");
            foreach (var reason in report.NotComputed) writer.WriteLine($"not computed: {reason}");
            writer.WriteLine($"report: {outPath} and {Path.ChangeExtension(outPath, ".md")}");
            return CommandRunner.Success;
        });
        return command;
    }
}
