using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace SimNpo.Unlearn.Hub;

/// <summary>A revision as the Hub's API reports it: its commit and the paths of its files.</summary>
public sealed record HubRevision(string Commit, IReadOnlyList<string> Files);

/// <summary>What a HEAD on a file's resolve URL tells (huggingface_hub's HfFileMetadata): its blob name, commit, size and where its bytes are.</summary>
public sealed record HubFileMetadata(string Etag, string? Commit, long? Size, Uri Location);

/// <summary>
/// The Hub's HTTP endpoints that a download needs, as huggingface_hub calls them (hf_api.py model_info/dataset_info,
/// file_download.py get_hf_file_metadata and http_get, utils/_http.py hf_raise_for_status; commit
/// ee0a4510f4bc15e26cb722be2efc2bdb01383ca0): the token goes as "Authorization: Bearer", HEAD requests follow only
/// relative redirects (a renamed repository) so that the CDN's absolute Location is what is downloaded, and the metadata
/// prefer X-Linked-Etag and X-Linked-Size (the LFS object's) over ETag and Content-Length.
/// </summary>
public sealed class HubClient : IDisposable
{
    private const int MaxRedirects = 10;

    /// <summary>constants.HF_HUB_ETAG_TIMEOUT: how long a lookup or a connection may take before the Hub counts as unreachable.</summary>
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(10);

    private readonly HubSettings settings;
    private readonly HttpClient http;

    public HubClient(HubSettings settings)
    {
        this.settings = settings;
        // Redirects are followed by hand: HEAD must stop at the CDN's, and the token must not follow a redirect to another host.
        http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None, ConnectTimeout = MetadataTimeout,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("simnpo", "1.0"));
    }

    /// <summary>GET {endpoint}/api/{models|datasets}/{id}/revision/{revision}: the commit and every file of the revision.</summary>
    public HubRevision Revision(HubRepo repo)
    {
        var url = new Uri($"{settings.Endpoint}/api/{repo.TypeName}s/{repo.Id}/revision/{Uri.EscapeDataString(repo.Revision)}");
        using var response = Send(HttpMethod.Get, url, repo, null, followAbsolute: false);
        using var document = JsonDocument.Parse(response.Content.ReadAsStream());
        var root = document.RootElement;
        if (!root.TryGetProperty("sha", out var sha) || sha.GetString() is not { } commit || !HubRepo.IsCommit(commit))
            throw new HubException($"{repo}: the Hub's answer for revision '{repo.Revision}' has no commit hash ({url})");
        var files = root.TryGetProperty("siblings", out var siblings) && siblings.ValueKind == JsonValueKind.Array
            ? siblings.EnumerateArray().Select(sibling => sibling.GetProperty("rfilename").GetString()!).ToArray()
            : [];
        return new HubRevision(commit, files);
    }

    /// <summary>HEAD {endpoint}/{[datasets/]id}/resolve/{commit}/{file}, as get_hf_file_metadata.</summary>
    public HubFileMetadata Metadata(HubRepo repo, string commit, string file)
    {
        var url = ResolveUrl(repo, commit, file);
        using var response = Send(HttpMethod.Head, url, repo, file, followAbsolute: false);
        string? Header(string name) => response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
        var redirected = (int)response.StatusCode / 100 == 3;
        var etag = Normalize(Header("X-Linked-Etag") ?? response.Headers.ETag?.Tag)
            ?? throw new HubException($"{repo}: the Hub sent no ETag for {file}, so it cannot be cached ({url})");
        var size = long.TryParse(Header("X-Linked-Size"), out var linked) ? linked : redirected ? null : response.Content.Headers.ContentLength;
        var location = redirected && response.Headers.Location is { } target ? new Uri(response.RequestMessage!.RequestUri!, target) : response.RequestMessage!.RequestUri!;
        return new HubFileMetadata(etag, Header("X-Repo-Commit"), size, location);
    }

    /// <summary>GET of url (redirects followed), from byte `from` on when it is above 0: the response, its status 200 or 206.</summary>
    public HttpResponseMessage Get(HubRepo repo, string file, Uri url, long from)
    {
        var range = from > 0 ? new RangeHeaderValue(from, null) : null;
        return Send(HttpMethod.Get, url, repo, file, followAbsolute: true, range, HttpCompletionOption.ResponseHeadersRead);
    }

    public Uri ResolveUrl(HubRepo repo, string revision, string file) =>
        new($"{settings.Endpoint}/{repo.UrlId}/resolve/{Uri.EscapeDataString(revision)}/{string.Join('/', file.Split('/').Select(Uri.EscapeDataString))}");

    /// <summary>_normalize_etag: W/"x" and "x" become x.</summary>
    private static string? Normalize(string? etag) => etag is null ? null : (etag.StartsWith("W/", StringComparison.Ordinal) ? etag[2..] : etag).Trim('"');

    private HttpResponseMessage Send(HttpMethod method, Uri url, HubRepo repo, string? file, bool followAbsolute, RangeHeaderValue? range = null,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        var hub = new Uri(settings.Endpoint).Authority;
        for (var redirects = 0; ; redirects++)
        {
            using var request = new HttpRequestMessage(method, url);
            // The Hub's host gets the token; a CDN on another host serves signed URLs and must not see it (file_download.py drops
            // "authorization" when the download's netloc differs from the resolve URL's).
            if (settings.Token is { } token && url.Authority == hub) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            request.Headers.Range = range;
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
            HttpResponseMessage response;
            // A lookup has MetadataTimeout in all; a download's body may take as long as it takes.
            using var timeout = completion == HttpCompletionOption.ResponseContentRead ? new CancellationTokenSource(MetadataTimeout) : null;
            try
            {
                response = http.Send(request, completion, timeout?.Token ?? CancellationToken.None);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                throw new HubUnreachableException($"{repo}: cannot reach the Hub at {settings.Endpoint} ({e.Message}); set HF_HUB_OFFLINE=1 to use the cache only", e);
            }
            var status = (int)response.StatusCode;
            if (status / 100 == 3 && response.Headers.Location is { } location && redirects < MaxRedirects
                && (followAbsolute || !location.IsAbsoluteUri))
            {
                url = new Uri(url, location);
                response.Dispose();
                continue;
            }
            if (response.IsSuccessStatusCode || status / 100 == 3) return response;
            using (response) throw Failure(response, repo, file, url);
        }
    }

    /// <summary>hf_raise_for_status's cases, worded for the command line.</summary>
    private HubException Failure(HttpResponseMessage response, HubRepo repo, string? file, Uri url)
    {
        var status = (int)response.StatusCode;
        var code = response.Headers.TryGetValues("X-Error-Code", out var codes) ? codes.FirstOrDefault() : null;
        var what = file is null ? $"{repo}" : $"{file} of {repo}";
        var page = $"{settings.Endpoint}/{repo.UrlId}";
        return (status, code) switch
        {
            (401 or 403, _) or (_, "GatedRepo") => new HubException(settings.Token is null
                ? $"{what}: access denied (HTTP {status}); the repository is gated or private: accept its licence at {page} and set HF_TOKEN to an access token"
                : $"{what}: access denied (HTTP {status}) with the token in HF_TOKEN; accept the repository's licence at {page} with that account, or use a token that has access"),
            (_, "RevisionNotFound") => new HubException($"{repo}: revision '{repo.Revision}' not found"),
            (_, "EntryNotFound") or (404, _) when file is not null => new HubException($"{what}: file not found on the Hub ({url})"),
            (404, _) or (_, "RepoNotFound") => new HubException(
                $"{repo}: repository or revision not found on {settings.Endpoint} (a private repository needs HF_TOKEN); a local folder of that name does not exist either"),
            _ => new HubException($"{what}: HTTP {status} {response.ReasonPhrase} from {url}"),
        };
    }

    public void Dispose() => http.Dispose();
}
