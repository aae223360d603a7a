using System.CommandLine;
using SimNpo.Model.IO;
using SimNpo.Unlearn.Performance;

namespace SimNpo.Cli;

/// <summary>`simnpo bench --ranks 1,2`: the data-parallel step's scaling on the CPU (<see cref="RankScaling"/>), into docs/results.</summary>
public static class BenchRanks
{
    public static Option<string?> Option() =>
        new("--ranks") { Description = "measure the SimNPO step data-parallel on the CPU at these rank counts (one thread each), e.g. 1,2; "
            + "the first of --shapes, its batch per rank" };

    public static int Run(ParseResult parse, int[] ranks, BenchmarkShape shape, int rounds, string outputFolder, string commandLine)
    {
        var console = parse.InvocationConfiguration.Output;
        var results = RankScaling.Measure(shape.Config, shape.BatchSize, shape.SequenceLength, ranks, rounds, console.WriteLine);
        var markdown = RankScaling.Markdown(results, shape.Name, shape.Config, shape.BatchSize, shape.SequenceLength, rounds, commandLine, MachineInfo.Current().Cpu);
        Directory.CreateDirectory(outputFolder);
        var path = Path.Combine(outputFolder, $"bench-ranks-cpu-{DateTime.UtcNow:yyyy-MM-dd}.md");
        AtomicFile.WriteAllText(path, markdown);
        console.Write(markdown);
        console.WriteLine($"wrote {path}");
        return 0;
    }
}
