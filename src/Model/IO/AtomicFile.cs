namespace SimNpo.Model.IO;

/// <summary>
/// Writes go to a temporary file beside the target and are renamed over it only when complete,
/// so a crash or a full disk never leaves a half-written model, checkpoint or report behind.
/// </summary>
public static class AtomicFile
{
    public static void Write(string path, Action<FileStream> write)
    {
        var fullPath = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
        var temporary = $"{fullPath}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>
    /// Refuses, naming the path, a file that a later <see cref="Write"/> could not write: one that is a folder, or one in a
    /// folder that cannot be made or written. Lets a long computation check its output before it starts, not after.
    /// </summary>
    public static void CheckWritable(string path)
    {
        var fullPath = Path.GetFullPath(path);
        if (Directory.Exists(fullPath)) throw new BadInputException(fullPath, "is a folder; give the path of the file to write");
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
            using var probe = new FileStream($"{fullPath}.check-{Environment.ProcessId}-{Guid.NewGuid():N}", FileMode.CreateNew, FileAccess.Write,
                FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BadInputException(fullPath, $"cannot be written ({e.Message})", inner: e);
        }
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.Write(text);
        });
}
