using System.CommandLine;

namespace SimNpo.Cli;

/// <summary>Every subcommand of `simnpo`, one file each; this list is the only place they are registered.</summary>
public static class Commands
{
    public static IEnumerable<Command> All() =>
    [
        DemoCommand.Create(),
        MarkovCommand.Create(),
        InfoCommand.Create(),
        ConvertCommand.Create(),
        GradCommand.Create(),
        GenerateCommand.Create(),
        FinetuneCommand.Create(),
        UnlearnCommand.Create(),
        EvalCommand.Create(),
        RelearnCommand.Create(),
        TofuCommand.Create(),
        ProfileCommand.Create(),
        BenchCommand.Create(),
        BenchCommand.CreateWorker(),
    ];
}
