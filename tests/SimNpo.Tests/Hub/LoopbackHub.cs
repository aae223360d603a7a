using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace SimNpo.Tests.Hub;

/// <summary>
/// A Hugging Face Hub on the loopback interface, answering as huggingface.co does for what a download uses:
/// GET /api/{models|datasets}/{id}/revision/{rev} (sha and siblings); HEAD and GET /[datasets/]{id}/resolve/{rev}/{path}
/// with X-Repo-Commit, and for LFS files (*.safetensors, *.parquet) a 302 to an absolute CDN URL with X-Linked-Etag
/// (the sha256) and X-Linked-Size, for others a 200 with the git blob sha1 as ETag; the CDN honours Range requests;
/// gated repositories answer 401 (X-Error-Code: GatedRepo) without the right Bearer token; a transfer can be cut
/// after a set number of bytes. Every request is recorded.
/// </summary>
public sealed class LoopbackHub : IDisposable
{
    private sealed record Repository(string Commit, IReadOnlyDictionary<string, byte[]> Files, IReadOnlyDictionary<string, string> Revisions, bool Gated);

    private readonly HttpListener listener = new();
    private readonly Dictionary<string, Repository> repositories = new(StringComparer.Ordinal);
    private readonly Dictionary<string, byte[]> cdn = new(StringComparer.Ordinal);
    private readonly Task serving;

    public string Endpoint { get; }
    public string CdnRoot { get; }
    /// <summary>"METHOD path [Range: ...] [Authorization: ...]" for each request, in order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();
    /// <summary>The token a gated repository accepts.</summary>
    public string Token { get; set; } = "hf_loopback";
    /// <summary>When set, the next CDN transfer sends this many bytes of its body and drops the connection.</summary>
    public int? CutNextTransferAfter { get; set; }

    public LoopbackHub()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Endpoint = $"http://127.0.0.1:{port}";
        listener.Prefixes.Add(Endpoint + "/");
        // The CDN answers on another host name of the same interface, as huggingface.co's LFS files come from another host.
        CdnRoot = $"http://localhost:{port}/cdn/";
        listener.Prefixes.Add($"http://localhost:{port}/");
        listener.Start();
        serving = Task.Run(Serve);
    }

    /// <summary>A repository (type "models" or "datasets") at one commit, named by main and any other revisions given.</summary>
    public void Add(string type, string id, string commit, IReadOnlyDictionary<string, byte[]> files, bool gated = false, params string[] otherRevisions)
    {
        var revisions = otherRevisions.Append("main").Append(commit).ToDictionary(r => r, _ => commit);
        repositories[$"{type}/{id}"] = new Repository(commit, files, revisions, gated);
        foreach (var bytes in files.Values) cdn[Sha256(bytes)] = bytes;
    }

    public static bool IsLfs(string path) => path.EndsWith(".safetensors", StringComparison.Ordinal) || path.EndsWith(".parquet", StringComparison.Ordinal);

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>The name git gives a blob: sha1 of "blob {size}\0" and the bytes.</summary>
    public static string GitBlobSha1(byte[] bytes) => Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {bytes.Length}\0"), .. bytes]));

    /// <summary>The blob name huggingface_hub stores a file under: its ETag.</summary>
    public static string Etag(string path, byte[] bytes) => IsLfs(path) ? Sha256(bytes) : GitBlobSha1(bytes);

    public int Count(Func<string, bool> match) => Requests.Count(match);

    private async Task Serve()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            try
            {
                Answer(context);
            }
            catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
            {
                // the client went away
            }
        }
    }

    private void Answer(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var path = Uri.UnescapeDataString(request.Url!.AbsolutePath);
        Requests.Enqueue($"{request.HttpMethod} {path}" + (request.Headers["Range"] is { } range ? $" Range: {range}" : "")
            + (request.Headers["Authorization"] is { } auth ? $" Authorization: {auth}" : ""));
        if (path.StartsWith("/cdn/", StringComparison.Ordinal) && cdn.TryGetValue(path["/cdn/".Length..], out var blob))
        {
            SendBytes(context, blob);
            return;
        }
        if (path.StartsWith("/api/", StringComparison.Ordinal) && path.Split('/') is [_, _, var type, var org, var name, "revision", .. var revision])
        {
            if (!repositories.TryGetValue($"{type}/{org}/{name}", out var repo)) { Error(response, 404, "RepoNotFound"); return; }
            if (!repo.Revisions.TryGetValue(string.Join('/', revision), out var commit)) { Error(response, 404, "RevisionNotFound"); return; }
            var siblings = repo.Files.Keys.Select(file => new { rfilename = file });
            Send(response, 200, Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { id = $"{org}/{name}", sha = commit, siblings })), request.HttpMethod);
            return;
        }
        var parts = path.TrimStart('/').Split('/');
        var (repoType, rest) = parts[0] == "datasets" ? ("datasets", parts[1..]) : ("models", parts);
        if (rest is [var owner, var repoName, "resolve", var rev, .. var file] && repositories.TryGetValue($"{repoType}/{owner}/{repoName}", out var repository))
        {
            if (!repository.Revisions.TryGetValue(rev, out var commit)) { Error(response, 404, "RevisionNotFound"); return; }
            response.Headers["X-Repo-Commit"] = commit;
            if (repository.Gated && request.Headers["Authorization"] != $"Bearer {Token}") { Error(response, 401, "GatedRepo"); return; }
            if (!repository.Files.TryGetValue(string.Join('/', file), out var bytes)) { Error(response, 404, "EntryNotFound"); return; }
            var filePath = string.Join('/', file);
            if (IsLfs(filePath))
            {
                response.Headers["X-Linked-Etag"] = $"\"{Sha256(bytes)}\"";
                response.Headers["X-Linked-Size"] = bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
                response.Headers["ETag"] = $"\"{GitBlobSha1(Encoding.ASCII.GetBytes("pointer " + Sha256(bytes)))}\"";
                response.RedirectLocation = CdnRoot + Sha256(bytes);
                Send(response, 302, [], "HEAD");
                return;
            }
            response.Headers["ETag"] = $"\"{GitBlobSha1(bytes)}\"";
            SendBytes(context, bytes);
            return;
        }
        Error(response, 404, "RepoNotFound");
    }

    /// <summary>The whole body, or from a "bytes=N-" Range on (206); cut short when a cut is armed.</summary>
    private void SendBytes(HttpListenerContext context, byte[] bytes)
    {
        var response = context.Response;
        var from = context.Request.Headers["Range"] is { } range && range.StartsWith("bytes=", StringComparison.Ordinal)
            ? long.Parse(range["bytes=".Length..].TrimEnd('-'), System.Globalization.CultureInfo.InvariantCulture) : 0;
        if (from > 0)
        {
            response.StatusCode = 206;
            response.Headers["Content-Range"] = $"bytes {from}-{bytes.Length - 1}/{bytes.Length}";
        }
        var body = bytes.AsSpan((int)from).ToArray();
        if (context.Request.HttpMethod != "HEAD" && CutNextTransferAfter is { } cut && cut < body.Length)
        {
            CutNextTransferAfter = null;
            response.ContentLength64 = body.Length;
            response.OutputStream.Write(body, 0, cut);
            response.OutputStream.Flush();
            response.Abort();
            return;
        }
        Send(response, response.StatusCode, body, context.Request.HttpMethod);
    }

    private static void Error(HttpListenerResponse response, int status, string code)
    {
        response.Headers["X-Error-Code"] = code;
        Send(response, status, Encoding.UTF8.GetBytes($"{{\"error\": \"{code}\"}}"), "GET");
    }

    private static void Send(HttpListenerResponse response, int status, byte[] body, string method)
    {
        response.StatusCode = status;
        response.ContentLength64 = body.Length;
        if (method != "HEAD") response.OutputStream.Write(body);
        response.Close();
    }

    public void Dispose()
    {
        listener.Stop();
        listener.Close();
        serving.Wait(TimeSpan.FromSeconds(5));
    }
}
