using System.CommandLine;
using SimNpo.Model.IO;
using SimNpo.Unlearn.Training;
using SimNpo.Model.SafeTensors;
using SimNpo.Cli.Progress;

namespace SimNpo.Cli;

/// <summary>
/// Exit codes: 0 success, 2 bad usage (unknown command or option, missing value), 1 a failure while working.
/// Every failure prints one line without a stack trace, a bug in the tool itself included (it says so and exits 1).
/// </summary>
public static class CommandRunner
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;

    /// <param name="nested">a command run by another (a sweep's point): it reports progress through the caller's reporter</param>
    public static int Run(RootCommand root, string[] args, TextWriter? output = null, TextWriter? error = null, bool nested = false)
    {
        var consoleWriters = output is null && error is null;
        output ??= Console.Out;
        error ??= Console.Error;
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var problem in parsed.Errors) error.WriteLine($"error: {problem.Message}");
            error.WriteLine($"Run '{CommandPath(parsed.CommandResult)} --help' for usage.");
            return Usage;
        }
        using var nonFinite = parsed.GetValue<bool>(CommonOptions.AllowNonFiniteName) ? NonFiniteWeights.Allow() : null;
        using var progress = nested ? null : new ProgressSession(parsed.GetValue<bool>(CommonOptions.QuietName), output, error, consoleWriters);
        (output, error) = progress is null ? (output, error) : (progress.Output, progress.Error);
        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (Exception caught)
        {
            var e = caught is AggregateException { InnerExceptions: [var single] } ? single : caught;
            error.WriteLine(e is UsageException || IsUserFacing(e) ? $"error: {OneLine(e.Message)}" : Unexpected(e));
            return e is UsageException ? Usage : Failure;
        }
    }

    /// <summary>The last resort's one line: what escaped, for a bug report, without the trace a user cannot act on.</summary>
    public static string Unexpected(Exception e) =>
        $"error: unexpected {e.GetType().Name}: {OneLine(e.Message)} (a bug in simnpo; please report it with the command line)";

    private static string OneLine(string text) => string.Join(" ", text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));

    /// <summary>"simnpo convert llama2c": the command's name after its parents', as the user types it.</summary>
    private static string CommandPath(System.CommandLine.Parsing.CommandResult result) =>
        result.Parent is System.CommandLine.Parsing.CommandResult parent ? $"{CommandPath(parent)} {result.Command.Name}" : "simnpo";

    private static bool IsUserFacing(Exception e) =>
        e is BadInputException or IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException or TrainingDivergedException
        or InsufficientMemoryException; // a memory plan that does not fit the device
}

/// <summary>Options that parse but do not make sense together; reported like a parse error, with exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
