using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace SimNpo.Tests.Distributed.Nccl;

/// <summary>
/// The host-memory stand-in for libnccl.so.2 (Fixtures/nccl/fake_nccl.c: NCCL 2's prototypes, ranks as threads),
/// compiled with the system's C compiler once per source version. Without a compiler the tests that need it are skipped
/// with a message, and fail under CI=true.
/// </summary>
public static unsafe class FakeNccl
{
    private static readonly Lazy<string> Compiled = new(Compile);

    /// <summary>The compiled library's path, for <see cref="SimNpo.Unlearn.Distributed.Nccl.NcclLibrary.TryLoad"/>.</summary>
    public static string Library
    {
        get
        {
            if (FindCompiler() is null)
            {
                var message = "no C compiler (cc) on the PATH: the NCCL binding tests compile a stand-in library (apt-get install gcc)";
                if (Environment.GetEnvironmentVariable("CI") == "true") Assert.Fail(message);
                Assert.Ignore(message);
            }
            return Compiled.Value;
        }
    }

    /// <summary>What the stand-in was given: all-reduces so far, the last one's arguments, communicators not yet destroyed.</summary>
    public readonly record struct Calls(long AllReduces, ulong Count, int DataType, int Op, bool InPlace, IntPtr Stream, long CommunicatorsAlive);

    public static Calls Read()
    {
        var record = (delegate* unmanaged<long*, nuint*, int*, int*, int*, IntPtr*, long*, void>)NativeLibrary.GetExport(
            NativeLibrary.Load(Library), "fake_nccl_record");
        long allReduces, alive;
        nuint count;
        int dataType, op, inPlace;
        IntPtr stream;
        record(&allReduces, &count, &dataType, &op, &inPlace, &stream, &alive);
        return new Calls(allReduces, count, dataType, op, inPlace != 0, stream, alive);
    }

    private static string? FindCompiler() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
        .Select(folder => Path.Combine(folder, "cc")).FirstOrDefault(File.Exists);

    /// <summary>Into the temporary folder, named by the source's hash (so a changed source is compiled again), written then renamed.</summary>
    private static string Compile()
    {
        var source = Path.Combine(AppContext.BaseDirectory, "Fixtures", "nccl", "fake_nccl.c");
        var hash = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(source)))[..16].ToLowerInvariant();
        var folder = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "simnpo-fake-nccl")).FullName;
        var library = Path.Combine(folder, $"libfakenccl-{hash}.so");
        if (File.Exists(library)) return library;
        var temporary = $"{library}.{Environment.ProcessId}.tmp";
        var start = new ProcessStartInfo(FindCompiler()!) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { "-shared", "-fPIC", "-O1", "-o", temporary, source, "-pthread" }) start.ArgumentList.Add(argument);
        using var compiler = Process.Start(start)!;
        var errors = compiler.StandardError.ReadToEndAsync();
        compiler.StandardOutput.ReadToEnd();
        compiler.WaitForExit();
        if (compiler.ExitCode != 0) throw new InvalidOperationException($"cc failed on {source}:\n{errors.Result}");
        File.Move(temporary, library, overwrite: true);
        return library;
    }
}
