namespace SimNpo.Cli;

/// <summary>
/// A path with every symbolic link along it resolved (what realpath(3) gives, for paths that exist; a missing tail is
/// kept as written), so that two spellings of one folder compare equal.
/// </summary>
public static class RealPath
{
    private const int MaxLinks = 40;

    private static readonly StringComparison Comparison = OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;

    public static string Of(string path) => Of(path, 0);

    private static string Of(string path, int links)
    {
        if (links > MaxLinks) throw new IOException($"{path}: too many levels of symbolic links");
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        var root = Path.GetPathRoot(full)!;
        var resolved = root;
        foreach (var part in full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            var next = new FileInfo(Path.Combine(resolved, part));
            resolved = next.LinkTarget is null ? next.FullName : Of(next.ResolveLinkTarget(returnFinalTarget: true)!.FullName, links + 1);
        }
        return resolved;
    }

    public static bool Same(string a, string b) => string.Equals(a, b, Comparison);

    /// <summary>Whether inner lies strictly inside outer (both already resolved).</summary>
    public static bool IsInside(string inner, string outer)
    {
        var prefix = Path.EndsInDirectorySeparator(outer) ? outer : outer + Path.DirectorySeparatorChar;
        return inner.Length > prefix.Length && inner.StartsWith(prefix, Comparison);
    }
}
