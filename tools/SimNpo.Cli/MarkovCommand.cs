using System.CommandLine;
using System.Diagnostics;
using SimNpo.Unlearn.Experiments;

namespace SimNpo.Cli;

/// <summary>`simnpo markov`: the paper's mixture-of-Markov-chains analysis of NPO against SimNPO.</summary>
public static class MarkovCommand
{
    public static Command Create()
    {
        var output = new Option<DirectoryInfo>("--out")
        {
            Description = "output folder (markov.json, markov.md, PNG plots, models; models found there are reused)",
            DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("runs", "markov")),
        };
        var scale = new Option<double>("--scale")
            { Description = "fraction of the paper's data sizes (10,000 retain and 5,000 per forget chain) for a quick run", DefaultValueFactory = _ => 1.0 };
        var device = CommonOptions.Device();
        var seed = CommonOptions.Seed();
        var command = new Command("markov",
            "Pretrain on three Markov chains, unlearn two with NPO and SimNPO, and follow the KL to a model retrained without them")
        {
            output, scale, device, seed,
        };
        command.SetAction(parse =>
        {
            var fraction = parse.GetRequiredValue(scale);
            if (!(fraction > 0 && fraction <= 1)) throw new UsageException("--scale must be in (0, 1]");
            var console = parse.InvocationConfiguration.Output;
            var directory = parse.GetRequiredValue(output).FullName;
            var clock = Stopwatch.StartNew();
            var curves = new MarkovExperiment(directory, parse.GetRequiredValue(device), fraction, parse.GetRequiredValue(seed), console.WriteLine).Run();
            console.WriteLine();
            console.Write(MarkovReport.Summary(curves, clock.Elapsed.TotalSeconds));
            console.WriteLine($"markov.json, markov.md and markov-*.png in {directory} ({clock.Elapsed.TotalSeconds:F0} s)");
            return 0;
        });
        return command;
    }
}
