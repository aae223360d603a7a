using System.Text.RegularExpressions;

namespace SimNpo.Unlearn.Hub;

public enum HubRepoType { Model, Dataset }

/// <summary>
/// A repository on the Hub at a revision (a branch, a tag or a commit hash): written `org/name` or `org/name@revision`
/// on the command line. Its cache folder is huggingface_hub's repo_folder_name: `models--org--name` or
/// `datasets--org--name` (file_download.py at commit ee0a4510f4bc15e26cb722be2efc2bdb01383ca0).
/// </summary>
public sealed partial record HubRepo(string Id, HubRepoType Type, string Revision = HubRepo.DefaultRevision)
{
    public const string DefaultRevision = "main";

    /// <summary>Repository ids as utils/_validators.py's validate_repo_id accepts them, with the namespace required.</summary>
    [GeneratedRegex(@"^[\w\-.]+/[\w\-.]{1,96}$")]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitPattern();

    /// <summary>`org/name[@revision]`; null when the text is not such an id (a path, a bare name).</summary>
    public static HubRepo? TryParse(string text, HubRepoType type)
    {
        var at = text.IndexOf('@');
        var (id, revision) = at < 0 ? (text, DefaultRevision) : (text[..at], text[(at + 1)..]);
        if (!IdPattern().IsMatch(id) || id.Contains("--", StringComparison.Ordinal) || id.Contains("..", StringComparison.Ordinal)
            || id.StartsWith('.') || id.EndsWith('.') || revision.Length == 0) return null;
        return new HubRepo(id, type, revision);
    }

    public string TypeName => Type == HubRepoType.Model ? "model" : "dataset";

    /// <summary>repo_folder_name: "{type}s" and the id's parts joined by "--".</summary>
    public string FolderName => string.Join("--", [TypeName + "s", .. Id.Split('/')]);

    /// <summary>Whether the revision is a full commit hash (REGEX_COMMIT_HASH), which needs no ref.</summary>
    public static bool IsCommit(string revision) => CommitPattern().IsMatch(revision);

    /// <summary>The id as URLs carry it: datasets under "datasets/" (constants.REPO_TYPES_URL_PREFIXES).</summary>
    public string UrlId => Type == HubRepoType.Dataset ? "datasets/" + Id : Id;

    public override string ToString() => Revision == DefaultRevision ? $"{TypeName} {Id}" : $"{TypeName} {Id}@{Revision}";
}
