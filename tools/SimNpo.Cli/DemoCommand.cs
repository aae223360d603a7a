using System.CommandLine;
using System.Diagnostics;
using SimNpo.Kernels.Runtime;
using SimNpo.Unlearn.Experiments;

namespace SimNpo.Cli;

/// <summary>`simnpo demo`: the whole job on a machine with nothing but the .NET SDK.</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var output = new Option<DirectoryInfo>("--out") { Description = "output folder (data, models, report.json, report.md, plots)",
            DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("runs", "demo")) };
        var device = CommonOptions.Device();
        var precision = CommonOptions.Precision();
        var seed = CommonOptions.Seed();
        var authors = new Option<int>("--authors") { Description = "fictitious authors generated (10% are forgotten)", DefaultValueFactory = _ => 20 };
        var epochs = new Option<int>("--epochs") { Description = "fine-tuning epochs of the target and retain models", DefaultValueFactory = _ => 40 };
        var command = new Command("demo",
            "The TOFU protocol on generated fictitious authors: train a small Llama, unlearn 10% of the authors with GA, NPO and SimNPO, evaluate")
        {
            output, device, precision, seed, authors, epochs,
        };
        command.SetAction(parse =>
        {
            if (parse.GetValue(authors) < 2 || parse.GetValue(epochs) < 1) throw new UsageException("--authors must be at least 2 and --epochs at least 1");
            var console = parse.InvocationConfiguration.Output;
            var directory = parse.GetRequiredValue(output).FullName;
            var storage = CommonOptions.Precision(parse, precision, Devices.Create(parse.GetRequiredValue(device)));
            var clock = Stopwatch.StartNew();
            var observer = ConsoleTrainingObserver.For(console);
            var report = new TofuDemo(directory, parse.GetRequiredValue(device), parse.GetRequiredValue(seed), observer,
                parse.GetRequiredValue(authors), parse.GetRequiredValue(epochs), storage).Run();
            console.WriteLine();
            console.Write(report.Table());
            console.WriteLine();
            console.WriteLine($"report.json, report.md, {TofuDemo.SamplesFileName} and plots/ in {directory} ({clock.Elapsed.TotalSeconds:F0} s)");
            return 0;
        });
        return command;
    }
}
