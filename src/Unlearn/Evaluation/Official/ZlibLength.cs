using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;

namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>
/// len(zlib.compress(text.encode("utf-8"))): the denominator of open-unlearning's zlib attack. Python compresses with the
/// system zlib at its default level; .NET's own ZLibStream is zlib-ng, whose output is often a byte or two shorter at
/// the same level (151 of TOFU forget10's first 200 answers differ), so the system zlib is called where there is one.
/// Without it (Windows, or a system without libz) the managed stream at level 6 stands in: <see cref="IsExact"/> says which.
/// </summary>
public static class ZlibLength
{
    private const int DefaultLevel = -1; // Z_DEFAULT_COMPRESSION, what zlib.compress uses: level 6

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int Compress2(byte[] destination, ref nuint destinationLength, byte[] source, nuint sourceLength, int level);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate nuint CompressBound(nuint sourceLength);

    private static readonly Lazy<(Compress2 Compress, CompressBound Bound)?> SystemZlib = new(LoadSystemZlib);

    /// <summary>True when lengths come from the system zlib (those Python's zlib gives); false when zlib-ng stands in.</summary>
    public static bool IsExact => SystemZlib.Value is not null;

    public static int Of(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        if (SystemZlib.Value is { } zlib)
        {
            var length = zlib.Bound((nuint)bytes.Length);
            var output = new byte[(int)length];
            var status = zlib.Compress(output, ref length, bytes, (nuint)bytes.Length, DefaultLevel);
            if (status != 0) throw new InvalidOperationException($"zlib compress2 failed with status {status}");
            return (int)length;
        }
        using var stream = new MemoryStream();
        using (var zlibStream = new ZLibStream(stream, new ZLibCompressionOptions { CompressionLevel = 6 }, leaveOpen: true))
            zlibStream.Write(bytes);
        return (int)stream.Length;
    }

    /// <summary>
    /// The system's libz (zlib's uLong is 64 bits on 64-bit Unix, which nuint matches; Windows' 32-bit uLong does not,
    /// so Windows takes the managed path).
    /// </summary>
    private static (Compress2, CompressBound)? LoadSystemZlib()
    {
        if (OperatingSystem.IsWindows() || !Environment.Is64BitProcess) return null;
        foreach (var name in new[] { "libz.so.1", "libz.so", "libz.dylib", "/usr/lib/libz.dylib" })
        {
            if (!NativeLibrary.TryLoad(name, out var handle)) continue;
            if (NativeLibrary.TryGetExport(handle, "compress2", out var compress) && NativeLibrary.TryGetExport(handle, "compressBound", out var bound))
                return (Marshal.GetDelegateForFunctionPointer<Compress2>(compress), Marshal.GetDelegateForFunctionPointer<CompressBound>(bound));
        }
        return null;
    }
}
