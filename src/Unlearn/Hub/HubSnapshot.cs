namespace SimNpo.Unlearn.Hub;

/// <summary>
/// One revision of a Hub repository in the local cache: its commit, the files the revision has, and each file fetched
/// on demand into snapshots/&lt;commit&gt;/. Online, the revision is looked up once through the API (which also lists its
/// files) and each file's metadata by a HEAD at that commit; a cached file costs no request beyond the lookup. Offline
/// (HF_HUB_OFFLINE), or when the Hub cannot be reached, only the cache answers: refs/&lt;revision&gt; gives the commit and
/// the snapshot's files are the list, as hf_hub_download falls back (file_download.py, commit
/// ee0a4510f4bc15e26cb722be2efc2bdb01383ca0).
/// </summary>
public sealed class HubSnapshot : IDisposable
{
    private readonly HubClient? client;
    private readonly HashSet<string> files;

    public HubRepo Repo { get; }
    public HubCache Cache { get; }
    public string Commit { get; }
    /// <summary>Whether files come from the cache only (offline, or the Hub unreachable).</summary>
    public bool CacheOnly => client is null;
    /// <summary>snapshots/&lt;commit&gt;: the folder a model or data set is read from.</summary>
    public string Folder => Cache.SnapshotFolder(Repo, Commit);
    public IReadOnlyCollection<string> Files => files;

    private HubSnapshot(HubRepo repo, HubCache cache, string commit, IEnumerable<string> files, HubClient? client)
    {
        (Repo, Cache, Commit, this.client) = (repo, cache, commit, client);
        this.files = new HashSet<string>(files, StringComparer.Ordinal);
    }

    public static HubSnapshot Open(HubRepo repo, HubSettings settings)
    {
        var cache = new HubCache(settings.CacheDirectory);
        if (settings.Offline) return FromCache(repo, cache, "HF_HUB_OFFLINE is set");
        var client = new HubClient(settings);
        try
        {
            var revision = client.Revision(repo);
            cache.Tag();
            cache.WriteRef(repo, revision.Commit);
            return new HubSnapshot(repo, cache, revision.Commit, revision.Files, client);
        }
        catch (HubUnreachableException e) when (cache.CachedCommit(repo) is not null)
        {
            client.Dispose();
            return FromCache(repo, cache, e.Message);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private static HubSnapshot FromCache(HubRepo repo, HubCache cache, string why)
    {
        var commit = cache.CachedCommit(repo);
        if (commit is null || !Directory.Exists(cache.SnapshotFolder(repo, commit)))
            throw new HubException($"{repo} is not in the cache {cache.Root} ({why}); download it first with `simnpo download {repo.Id}"
                + (repo.Revision == HubRepo.DefaultRevision ? "" : $"@{repo.Revision}") + (repo.Type == HubRepoType.Dataset ? " --repo-type dataset" : "") + "`");
        return new HubSnapshot(repo, cache, commit, cache.SnapshotFiles(repo, commit), null);
    }

    public bool Has(string file) => files.Contains(file);

    /// <summary>
    /// The cached path of a file of the revision, downloaded when it is not cached yet; a file the revision lacks is
    /// recorded in .no_exist (as huggingface_hub does after a 404) and refused.
    /// </summary>
    public string Get(string file)
    {
        var pointer = Cache.PointerPath(Repo, Commit, file);
        if (File.Exists(pointer)) return pointer;
        if (client is null)
            throw new HubException($"{file} of {Repo} is not in the cache {Cache.Root} (commit {Commit}, offline); download it first with `simnpo download`");
        if (!Has(file))
        {
            Cache.MarkMissing(Repo, Commit, file);
            throw new HubException($"{Repo} has no file {file} at commit {Commit}");
        }
        var metadata = client.Metadata(Repo, Commit, file);
        var blob = Cache.BlobPath(Repo, metadata.Etag);
        if (!File.Exists(blob)) BlobDownload.Fetch(client, Repo, file, metadata, blob);
        return Cache.Link(Repo, Commit, file, metadata.Etag);
    }

    /// <summary>Records, for the files a caller looked for and the revision lacks, that they are absent (what Python learns from its 404s).</summary>
    public void MarkMissing(IEnumerable<string> looked)
    {
        if (client is null) return;
        foreach (var file in looked.Where(file => !Has(file))) Cache.MarkMissing(Repo, Commit, file);
    }

    public void Dispose() => client?.Dispose();
}
