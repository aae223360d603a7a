using System.CommandLine;

namespace SimNpo.Cli;

/// <summary>Every subcommand of `simnpo`, one file each; this list is the only place they are registered.</summary>
public static class Commands
{
    /// <summary>The `simnpo` command with every subcommand: what Program runs and what the tests run in process.</summary>
    public static RootCommand Root()
    {
        var root = new RootCommand("simnpo: LLM unlearning with SimNPO, on a from-scratch Llama engine (CPU reference and ILGPU kernels).");
        foreach (var command in All()) root.Subcommands.Add(command);
        root.Options.Add(CommonOptions.AllowNonFinite());
        root.Options.Add(CommonOptions.Quiet());
        return root;
    }

    private static IEnumerable<Command> All() =>
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
        SweepCommand.Create(),
        ProfileCommand.Create(),
        BenchCommand.Create(),
        BenchCommand.CreateWorker(),
        LaunchCommand.Create(),
        DownloadCommand.Create(),
    ];
}
