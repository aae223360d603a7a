using SimNpo.Cli;

namespace SimNpo.Tests.Cli;

/// <summary>Runs `simnpo` in process with captured output, as a user would call it.</summary>
public static class Simnpo
{
    public static (int Code, string Output, string Error) Run(params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var code = CommandRunner.Run(Commands.Root(), args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
