namespace SimNpo.Model.IO;

/// <summary>
/// Input that the tool refuses: names the file (and line, when there is one) and says what is wrong with it.
/// The command line prints the message alone, without a stack trace.
/// </summary>
public sealed class BadInputException(string file, string problem, int? line = null, Exception? inner = null)
    : Exception(line is null ? $"{file}: {problem}" : $"{file}, line {line}: {problem}", inner)
{
    public string File { get; } = file;

    public string Problem { get; } = problem;

    public int? Line { get; } = line;
}
