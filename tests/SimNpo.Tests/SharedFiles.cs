namespace SimNpo.Tests;

/// <summary>
/// Third-party files live in ../shared beside the checkout, never in the repo. A test that needs one fails loudly in CI
/// (CI=true) when it is missing, and is ignored with a message on a developer's machine.
/// </summary>
public static class SharedFiles
{
    public static string Require(string relativePath)
    {
        var path = Path.Combine(Root, relativePath);
        if (File.Exists(path) || Directory.Exists(path)) return path;
        var message = $"{relativePath} not found under {Root} (the shared folder beside the checkout)";
        if (Environment.GetEnvironmentVariable("CI") == "true") Assert.Fail(message);
        Assert.Ignore(message);
        return path;
    }

    /// <summary>../shared relative to the repository root, found by walking up from the test binaries to SimNpo.sln.</summary>
    public static string Root
    {
        get
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "SimNpo.sln"))) directory = directory.Parent;
            if (directory?.Parent is null) throw new InvalidOperationException("cannot find SimNpo.sln above " + AppContext.BaseDirectory);
            return Path.Combine(directory.Parent.FullName, "shared");
        }
    }
}

/// <summary>A fresh directory per test, removed afterwards.</summary>
public sealed class TempDirectory : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "simnpo-tests", Guid.NewGuid().ToString("N"));

    public TempDirectory() => Directory.CreateDirectory(Path);

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}
