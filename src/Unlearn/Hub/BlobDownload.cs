using System.Security.Cryptography;
using System.Text.RegularExpressions;
using SimNpo.Unlearn.Progress;

namespace SimNpo.Unlearn.Hub;

/// <summary>
/// One file's bytes into blobs/&lt;etag&gt;: written to blobs/&lt;etag&gt;.incomplete, resumed from its length with a Range
/// request after an interrupted transfer (within this run, as file_download.py http_get retries, or in a later run, as
/// huggingface_hub did before it moved to per-process temporary names), its size checked against the Hub's and, for an
/// LFS file (whose ETag is its sha256), its hash, or for a file in git (whose ETag is its git blob id, the sha1 of
/// "blob &lt;size&gt;\0" and its bytes) that id, then renamed into place, so that a blob is whole or absent.
/// </summary>
public static partial class BlobDownload
{
    /// <summary>Attempts at one file in one run: the first and four resumptions (http_get's 5 retries on a cut connection).</summary>
    public const int Attempts = 5;

    private const int BufferBytes = 1 << 16;

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Pattern();

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex GitSha1Pattern();

    public static void Fetch(HubClient client, HubRepo repo, string file, HubFileMetadata metadata, string blob)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        var incomplete = blob + ".incomplete";
        using var progress = ProgressReporting.Start($"download {file}", metadata.Size ?? 0, "B");
        var reported = 0L;
        for (var attempt = 1; ; attempt++)
        {
            var have = File.Exists(incomplete) ? new FileInfo(incomplete).Length : 0;
            if (metadata.Size is { } expected && have > expected) (have, _) = (0, Truncate(incomplete));
            progress.Advance(have - reported);
            reported = have;
            if (metadata.Size is { } size && have == size && have > 0) break;
            try
            {
                using var response = client.Get(repo, file, metadata.Location, have);
                // A server that ignores Range answers 200 with the whole file: start over rather than append it.
                if (have > 0 && response.StatusCode != System.Net.HttpStatusCode.PartialContent) (have, reported) = (Truncate(incomplete), 0);
                using var body = response.Content.ReadAsStream();
                using var output = new FileStream(incomplete, FileMode.Append, FileAccess.Write, FileShare.None, BufferBytes);
                var buffer = new byte[BufferBytes];
                int read;
                while ((read = body.Read(buffer)) > 0)
                {
                    output.Write(buffer, 0, read);
                    progress.Advance(read);
                    reported += read;
                }
                if (metadata.Size is null) break;
                if (output.Length == metadata.Size) break;
                if (output.Length > metadata.Size) throw Corrupt(repo, file, incomplete, $"{output.Length} bytes, the Hub reports {metadata.Size}");
            }
            catch (IOException e) when (e is not HubException && attempt < Attempts)
            {
                continue; // a cut connection: resume from what was written
            }
            catch (Exception e) when (e is IOException or HttpRequestException && e is not HubException)
            {
                throw new HubException($"{file} of {repo}: the download was interrupted ({e.Message}); run the command again to resume it from "
                    + $"{new FileInfo(incomplete).Length} bytes", e);
            }
            if (attempt >= Attempts)
                throw new HubException($"{file} of {repo}: the download stopped short {Attempts} times; run the command again to resume it");
        }
        Verify(repo, file, metadata, incomplete);
        File.Move(incomplete, blob, overwrite: true);
    }

    private static void Verify(HubRepo repo, string file, HubFileMetadata metadata, string incomplete)
    {
        var length = new FileInfo(incomplete).Length;
        if (metadata.Size is { } size && length != size) throw Corrupt(repo, file, incomplete, $"{length} bytes, the Hub reports {size}");
        if (Sha256Pattern().IsMatch(metadata.Etag))
        {
            using var stream = File.OpenRead(incomplete);
            var hash = Convert.ToHexStringLower(SHA256.HashData(stream));
            if (hash != metadata.Etag) throw Corrupt(repo, file, incomplete, $"sha256 {hash}, the Hub reports {metadata.Etag}");
        }
        else if (GitSha1Pattern().IsMatch(metadata.Etag) && GitBlobId(incomplete, length) is var id && id != metadata.Etag)
            throw Corrupt(repo, file, incomplete, $"git blob id {id}, the Hub reports {metadata.Etag}");
    }

    /// <summary>git hash-object: the sha1 of "blob &lt;size&gt;\0" followed by the bytes.</summary>
    private static string GitBlobId(string path, long length)
    {
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        sha1.AppendData(System.Text.Encoding.ASCII.GetBytes($"blob {length}\0"));
        sha1.AppendData(File.ReadAllBytes(path));
        return Convert.ToHexStringLower(sha1.GetHashAndReset());
    }

    private static HubException Corrupt(HubRepo repo, string file, string incomplete, string problem)
    {
        File.Delete(incomplete);
        return new HubException($"{file} of {repo}: the download has {problem}; the partial file was removed, run the command again");
    }

    private static long Truncate(string path)
    {
        File.WriteAllBytes(path, []);
        return 0;
    }
}
