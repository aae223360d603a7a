using System.CommandLine;
using System.Diagnostics;
using SimNpo.Unlearn.Experiments;

namespace SimNpo.Cli;

/// <summary>`simnpo demo`: the whole job on a machine with nothing but the .NET SDK, in seconds.</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var output = new Option<DirectoryInfo>("--out") { Description = "output folder (models, report.json, report.md)", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("runs", "demo")) };
        var device = CommonOptions.Device();
        var seed = CommonOptions.Seed();
        var command = new Command("demo", "Train a tiny Llama on generated facts, then unlearn part of them with GA, NPO and SimNPO and compare") { output, device, seed };
        command.SetAction(parse =>
        {
            var console = parse.InvocationConfiguration.Output;
            var directory = parse.GetRequiredValue(output).FullName;
            var clock = Stopwatch.StartNew();
            var rows = new MemorisationDemo(directory, parse.GetRequiredValue(device), parse.GetRequiredValue(seed), console.WriteLine).Run();
            console.WriteLine();
            console.Write(MemorisationDemo.Table(rows));
            console.WriteLine();
            console.WriteLine($"report.json and report.md in {directory} ({clock.Elapsed.TotalSeconds:F0} s)");
            return 0;
        });
        return command;
    }
}
