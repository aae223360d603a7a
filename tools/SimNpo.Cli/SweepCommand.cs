using System.CommandLine;
using SimNpo.Unlearn.Progress;
using SimNpo.Unlearn.Sweeps;

namespace SimNpo.Cli;

/// <summary>
/// `simnpo sweep --grid beta=2.5,4.5 --grid lr=1e-5,2e-5 --out DIR -- unlearn ...`: the training command once per point of
/// the grid, each in DIR/&lt;point&gt; (a finished point is skipped, an unfinished one resumed with --resume), then a table
/// of every point and the forgetting-against-utility plot.
/// </summary>
public static class SweepCommand
{
    /// <summary>The commands a sweep runs: they train into --out and continue with --resume.</summary>
    private static readonly string[] Sweepable = ["unlearn", "finetune"];

    public static Command Create()
    {
        var grid = new Option<string[]>("--grid")
        {
            Description = "an option and its values, KEY=V1,V2 (KEY: the command's option without dashes, e.g. beta=2.5,4.5); repeat for more axes",
            Required = true,
        };
        var output = new Option<string>("--out") { Description = "sweep folder: a run folder per point, sweep.csv, sweep.md, sweep.svg", Required = true };
        var inner = new Argument<string[]>("command")
            { Description = $"after --: the command to run per point ({string.Join(" or ", Sweepable)}) with its options, without --out" };
        var evalForget = new Option<string?>("--eval-tofu")
        {
            Description = "after each point, `eval tofu` on its model with this forget set: forget quality and model utility in the table and on the plot",
        }.AcceptOnlyFromAmong("forget01", "forget05", "forget10");
        var retainResults = new Option<string?>("--retain-results") { Description = "with --eval-tofu: the retain model's log, for forget quality (as eval tofu)" };
        var dataDirectory = new Option<string?>("--data-dir") { Description = "with --eval-tofu: the TOFU files (as eval tofu; default locuslab/TOFU)" };
        var command = new Command("sweep", "Run a training command over a grid of option values (resumable), then tabulate and plot every point")
            { grid, output, evalForget, retainResults, dataDirectory, inner };
        command.SetAction(parse =>
        {
            var args = parse.GetValue(inner) ?? [];
            var axes = Axes(parse.GetRequiredValue(grid), args);
            var directory = Path.GetFullPath(parse.GetRequiredValue(output));
            var (writer, error) = (parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
            var points = SweepGrid.Points(axes);
            writer.WriteLine($"sweep: {points.Count} points of {args[0]} in {directory}");
            var results = new List<SweepResult>();
            using (var progress = ProgressReporting.Start("sweep", points.Count, "points"))
            {
                foreach (var point in points)
                {
                    var run = Path.Combine(directory, point.Name);
                    var succeeded = true;
                    if (File.Exists(Path.Combine(run, "model.safetensors"))) writer.WriteLine($"{point.Name}: finished before, skipped");
                    else
                    {
                        var resume = Directory.Exists(run) && Directory.EnumerateFileSystemEntries(run).Any();
                        writer.WriteLine($"{point.Name}: {(resume ? "resuming" : "running")}");
                        string[] pointArgs = [.. args, .. point.Arguments, "--out", run, .. resume ? new[] { "--resume" } : []];
                        var code = CommandRunner.Run(Commands.Root(), pointArgs, writer, error, nested: true);
                        succeeded = code == CommandRunner.Success;
                        if (!succeeded) writer.WriteLine($"{point.Name}: failed (exit {code}); the sweep goes on");
                    }
                    if (succeeded && parse.GetValue(evalForget) is { } forget && !File.Exists(SweepResult.EvalReport(run)))
                    {
                        writer.WriteLine($"{point.Name}: eval tofu ({forget})");
                        var code = CommandRunner.Run(Commands.Root(),
                            EvalArguments(run, forget, parse.GetValue(retainResults), parse.GetValue(dataDirectory), args), writer, error, nested: true);
                        if (code != CommandRunner.Success) writer.WriteLine($"{point.Name}: eval tofu failed (exit {code}); the sweep goes on");
                    }
                    results.Add(SweepResult.Read(point, run, succeeded));
                    progress.Advance();
                }
            }
            Directory.CreateDirectory(directory);
            var files = SweepReport.Write(directory, results);
            writer.WriteLine($"sweep: {results.Count(r => r.Status == SweepResult.Finished)} of {results.Count} points finished; "
                + string.Join(", ", files.Select(Path.GetFileName)) + $" in {directory}");
            return results.All(r => r.Status == SweepResult.Finished) ? CommandRunner.Success : CommandRunner.Failure;
        });
        return command;
    }

    /// <summary>`eval tofu` on a point's model, on the device the training command names (if it names one).</summary>
    private static string[] EvalArguments(string run, string forget, string? retainResults, string? dataDirectory, string[] trainingArgs)
    {
        var device = Array.IndexOf(trainingArgs, "--device") is var at and >= 0 && at + 1 < trainingArgs.Length ? trainingArgs[at + 1] : null;
        return
        [
            "eval", "tofu", "--model", run, "--forget", forget, "--out", SweepResult.EvalReport(run),
            .. retainResults is null ? [] : new[] { "--retain-results", retainResults },
            .. dataDirectory is null ? [] : new[] { "--data-dir", dataDirectory },
            .. device is null ? [] : new[] { "--device", device },
        ];
    }

    /// <summary>The grid's axes, each checked against the options of the command after --.</summary>
    private static List<GridAxis> Axes(string[] grid, string[] args)
    {
        if (args.Length == 0 || !Sweepable.Contains(args[0]))
            throw new UsageException($"sweep needs the command to run after --: {string.Join(" or ", Sweepable)} with its options");
        var target = Commands.Root().Subcommands.Single(c => c.Name == args[0]);
        var options = target.Options.Select(o => o.Name).Where(name => name is not "--out" and not "--resume").ToHashSet();
        if (args.Contains("--out"))
            throw new UsageException("sweep chooses each point's --out (a folder under the sweep's --out): leave it out of the command");
        List<GridAxis> axes;
        try
        {
            axes = grid.Select(GridAxis.Parse).ToList();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        foreach (var axis in axes)
        {
            if (!options.Contains("--" + axis.Key))
                throw new UsageException($"--grid {axis.Key}: {args[0]} has no option --{axis.Key}; its options are "
                    + string.Join(", ", options.Order().Select(name => name[2..])));
            if (args.Contains("--" + axis.Key)) throw new UsageException($"--{axis.Key} is given both by --grid and in the command");
        }
        return axes;
    }
}
