using System.Globalization;
using SimNpo.Model.IO;

namespace SimNpo.Unlearn.Training;

/// <summary>
/// One run per output folder. run.lock is held open exclusively for the whole run: the operating system releases it
/// when the process ends however it ends, so a lock left by a killed run is free to take and never blocks. Its
/// holder's process id goes in run.lock.pid beside it (the held file cannot be read by others), for the message a
/// second run gets and for the note when a dead run's lock is taken over. Both files go on Dispose.
/// </summary>
public sealed class RunLock : IDisposable
{
    public const string FileName = "run.lock";
    public const string HolderFileName = "run.lock.pid";

    private readonly FileStream _held;
    private readonly string _path;
    private readonly bool _madeFolder;

    private RunLock(FileStream held, string path, bool madeFolder) => (_held, _path, _madeFolder) = (held, path, madeFolder);

    /// <summary>Takes the folder's lock, creating the folder; refuses at once (naming the holder) when a live run holds it.</summary>
    public static RunLock Acquire(string runDirectory, Action<string> note)
    {
        var madeFolder = !Directory.Exists(runDirectory);
        Directory.CreateDirectory(runDirectory);
        var path = Path.Combine(runDirectory, FileName);
        var holderPath = Path.Combine(runDirectory, HolderFileName);
        var held = Open(path, holderPath, runDirectory);
        if (!File.Exists(path))
        {
            // The run before released it between our open and our lock, removing the file we locked: lock the path anew.
            held.Dispose();
            held = Open(path, holderPath, runDirectory);
        }
        if (Holder(holderPath) is { } previous && previous != Environment.ProcessId)
            note($"took over {path} from process {previous.ToString(CultureInfo.InvariantCulture)}, which ended without releasing it");
        AtomicFile.WriteAllText(holderPath, Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
        return new RunLock(held, path, madeFolder);
    }

    private static FileStream Open(string path, string holderPath, string runDirectory)
    {
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e.GetType() == typeof(IOException) && File.Exists(path))
        {
            var holder = Holder(holderPath) is { } pid ? $"process {pid}" : "another process";
            throw new BadInputException(runDirectory, $"is in use by {holder}, which holds {path}; wait for that run to end or choose another output folder",
                inner: e);
        }
    }

    private static int? Holder(string holderPath)
    {
        try
        {
            return int.TryParse(File.ReadAllText(holderPath).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Removes both files while still holding the lock, then lets it go; a folder it made for a run that failed before writing anything goes
    /// too.</summary>
    public void Dispose()
    {
        var folder = Path.GetDirectoryName(_path)!;
        File.Delete(Path.Combine(folder, HolderFileName));
        File.Delete(_path);
        _held.Dispose();
        try
        {
            if (_madeFolder && !Directory.EnumerateFileSystemEntries(folder).Any()) Directory.Delete(folder);
        }
        catch (IOException)
        {
            // Another run began writing into it meanwhile: it is that run's folder now.
        }
    }
}
