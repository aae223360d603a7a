using System.Text;

namespace SimNpo.Cli.Progress;

/// <summary>
/// The command's stdout (or stderr) while bars are on the same terminal: each write lifts the bars, prints, and puts
/// them back below once the text's last line is complete (a line still open, such as generated text streaming, keeps
/// them away until it ends).
/// </summary>
public sealed class ProgressAwareWriter(TextWriter inner, TerminalProgress bars) : TextWriter
{
    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value) => Write(value.ToString());

    public override void Write(char[] buffer, int index, int count) => Write(new string(buffer, index, count));

    public override void Write(string? value)
    {
        if (string.IsNullOrEmpty(value)) return;
        lock (bars.Sync)
        {
            bars.Hide();
            inner.Write(value);
            inner.Flush();
            bars.Show(lineOpen: !value.EndsWith('\n'));
        }
    }

    public override void WriteLine(string? value) => Write(value + NewLine);

    public override void WriteLine() => Write(NewLine);

    public override void Flush() => inner.Flush();
}
