using System.CommandLine;
using SimNpo.Cli;

namespace SimNpo.Tests.Cli;

/// <summary>Runs `simnpo` in process with captured output, as a user would call it.</summary>
public static class Simnpo
{
    public static (int Code, string Output, string Error) Run(params string[] args)
    {
        var root = new RootCommand();
        foreach (var command in Commands.All()) root.Subcommands.Add(command);
        var (output, error) = (new StringWriter(), new StringWriter());
        var code = CommandRunner.Run(root, args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
