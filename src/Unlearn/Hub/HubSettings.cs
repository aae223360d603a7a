namespace SimNpo.Unlearn.Hub;

/// <summary>
/// Where the Hub is and where its files are cached, read from the environment exactly as huggingface_hub reads it
/// (src/huggingface_hub/constants.py and utils/_auth.py at commit ee0a4510f4bc15e26cb722be2efc2bdb01383ca0), so that one
/// cache serves Python's tools and ours:
/// HF_ENDPOINT (default https://huggingface.co, trailing '/' dropped); HF_HOME (default $XDG_CACHE_HOME/huggingface,
/// else ~/.cache/huggingface); HF_HUB_CACHE, else the older HUGGINGFACE_HUB_CACHE, else HF_HOME/hub; HF_TOKEN, else
/// HUGGING_FACE_HUB_TOKEN, else the file HF_TOKEN_PATH (default HF_HOME/token), sent as a Bearer token; HF_HUB_OFFLINE
/// (or TRANSFORMERS_OFFLINE) set to 1, ON, YES or TRUE: no request at all, the cache only.
/// </summary>
public sealed record HubSettings(string Endpoint, string CacheDirectory, string? Token, bool Offline)
{
    public const string DefaultEndpoint = "https://huggingface.co";

    private static readonly string[] TrueValues = ["1", "ON", "YES", "TRUE"];

    public static HubSettings FromEnvironment() => From(Environment.GetEnvironmentVariable);

    public static HubSettings From(Func<string, string?> variable)
    {
        string? Set(string name) => variable(name) is { Length: > 0 } value ? value : null;
        var home = Expand(Set("HF_HOME") ?? Path.Combine(Set("XDG_CACHE_HOME") ?? Path.Combine(UserHome(), ".cache"), "huggingface"));
        var cache = Expand(Set("HF_HUB_CACHE") ?? Set("HUGGINGFACE_HUB_CACHE") ?? Path.Combine(home, "hub"));
        var token = Clean(Set("HF_TOKEN") ?? Set("HUGGING_FACE_HUB_TOKEN")) ?? TokenFile(Expand(Set("HF_TOKEN_PATH") ?? Path.Combine(home, "token")));
        var offline = (Set("HF_HUB_OFFLINE") ?? Set("TRANSFORMERS_OFFLINE")) is { } flag && TrueValues.Contains(flag.ToUpperInvariant());
        return new HubSettings((Set("HF_ENDPOINT") ?? DefaultEndpoint).TrimEnd('/'), cache, token, offline);
    }

    private static string UserHome() => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    /// <summary>os.path.expanduser then os.path.expandvars, as constants.py applies them to the folders.</summary>
    private static string Expand(string path)
    {
        if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal)) path = UserHome() + path[1..];
        return Environment.ExpandEnvironmentVariables(path);
    }

    /// <summary>_clean_token: surrounding whitespace removed, an empty token is none.</summary>
    private static string? Clean(string? token) => token?.Trim() is { Length: > 0 } clean ? clean : null;

    private static string? TokenFile(string path) => File.Exists(path) ? Clean(File.ReadAllText(path)) : null;
}
