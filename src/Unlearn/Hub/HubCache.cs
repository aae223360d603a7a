namespace SimNpo.Unlearn.Hub;

/// <summary>
/// huggingface_hub's cache layout under one root (file_download.py, hf_hub_download's docstring and
/// _hf_hub_download_to_cache_dir, at commit ee0a4510f4bc15e26cb722be2efc2bdb01383ca0):
/// <code>
/// models--org--name/
///   blobs/&lt;etag&gt;                 each file's bytes once, named by its ETag: the sha256 for LFS files, the git sha1 otherwise
///   refs/&lt;revision&gt;             the commit hash a branch or tag resolved to (no newline)
///   snapshots/&lt;commit&gt;/&lt;path&gt;   a relative symbolic link to ../../blobs/&lt;etag&gt; (one more ../ per folder in the path)
///   .no_exist/&lt;commit&gt;/&lt;path&gt;   an empty file: the path is known to be absent at that commit
/// </code>
/// and CACHEDIR.TAG at the root. Everything written here is what Python writes, so either side reads the other's cache.
/// </summary>
public sealed class HubCache(string root)
{
    /// <summary>_local_folder.py CACHEDIR_TAG_CONTENT.</summary>
    private const string CacheDirTag = "Signature: 8a477f597d28d172789f06886806bc55\n"
        + "# This file is a cache directory tag created by huggingface_hub.\n"
        + "# For information about cache directory tags, see:\n"
        + "#\thttps://bford.info/cachedir/\n";

    public string Root { get; } = Path.GetFullPath(root);

    public string RepoFolder(HubRepo repo) => Path.Combine(Root, repo.FolderName);

    public string SnapshotFolder(HubRepo repo, string commit) => Path.Combine(RepoFolder(repo), "snapshots", commit);

    public string PointerPath(HubRepo repo, string commit, string file) => Path.Combine(SnapshotFolder(repo, commit), Local(file));

    public string BlobPath(HubRepo repo, string etag) => Path.Combine(RepoFolder(repo), "blobs", etag);

    /// <summary>The commit a revision names in the cache: itself when a commit hash, else refs/&lt;revision&gt;'s content; null when unknown.</summary>
    public string? CachedCommit(HubRepo repo)
    {
        if (HubRepo.IsCommit(repo.Revision)) return repo.Revision;
        var reference = Path.Combine(RepoFolder(repo), "refs", Local(repo.Revision));
        return File.Exists(reference) ? File.ReadAllText(reference) : null;
    }

    /// <summary>_cache_commit_hash_for_specific_revision: refs/&lt;revision&gt; holds the commit (atomically), unless the revision is that commit.</summary>
    public void WriteRef(HubRepo repo, string commit)
    {
        if (repo.Revision == commit) return;
        var reference = Path.Combine(RepoFolder(repo), "refs", Local(repo.Revision));
        if (File.Exists(reference) && File.ReadAllText(reference) == commit) return;
        Directory.CreateDirectory(Path.GetDirectoryName(reference)!);
        var temporary = $"{reference}.{Guid.NewGuid():N}.tmp";
        File.WriteAllText(temporary, commit);
        File.Move(temporary, reference, overwrite: true);
    }

    /// <summary>_create_symlink: the snapshot's path links to the blob by a path relative to the link's folder.</summary>
    public string Link(HubRepo repo, string commit, string file, string etag)
    {
        var pointer = PointerPath(repo, commit, file);
        if (File.Exists(pointer)) return pointer;
        var folder = Path.GetDirectoryName(pointer)!;
        Directory.CreateDirectory(folder);
        File.CreateSymbolicLink(pointer, Path.GetRelativePath(folder, BlobPath(repo, etag)));
        return pointer;
    }

    /// <summary>What _get_metadata_or_catch_error records for a 404 at a known commit: .no_exist/&lt;commit&gt;/&lt;path&gt;.</summary>
    public void MarkMissing(HubRepo repo, string commit, string file)
    {
        var marker = Path.Combine(RepoFolder(repo), ".no_exist", commit, Local(file));
        if (File.Exists(marker)) return;
        Directory.CreateDirectory(Path.GetDirectoryName(marker)!);
        File.WriteAllBytes(marker, []);
    }

    /// <summary>The files of a cached snapshot, as repository paths ('/'-separated); links to missing blobs are not files.</summary>
    public IReadOnlyList<string> SnapshotFiles(HubRepo repo, string commit)
    {
        var folder = SnapshotFolder(repo, commit);
        if (!Directory.Exists(folder)) return [];
        return Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(File.Exists)
            .Select(path => Path.GetRelativePath(folder, path).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal)
            .ToArray();
    }

    /// <summary>_create_cachedir_tag: marks the root for backup tools, once.</summary>
    public void Tag()
    {
        Directory.CreateDirectory(Root);
        var tag = Path.Combine(Root, "CACHEDIR.TAG");
        if (!File.Exists(tag)) File.WriteAllText(tag, CacheDirTag);
    }

    /// <summary>A repository path ("a/b.json") as a path on this system.</summary>
    private static string Local(string file) => Path.Combine(file.Split('/'));
}
