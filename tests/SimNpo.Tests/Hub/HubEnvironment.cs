using SimNpo.Unlearn.Hub;

namespace SimNpo.Tests.Hub;

/// <summary>
/// Sets the Hub's environment variables for the commands run in process (tests run one at a time), and restores them:
/// HF_ENDPOINT at a loopback Hub, HF_HUB_CACHE in a temporary folder, HF_TOKEN and HF_HUB_OFFLINE as given.
/// </summary>
public sealed class HubEnvironment : IDisposable
{
    private static readonly string[] Names = ["HF_ENDPOINT", "HF_HUB_CACHE", "HF_TOKEN", "HF_HUB_OFFLINE", "HF_HOME", "HUGGINGFACE_HUB_CACHE", "HUGGING_FACE_HUB_TOKEN",
        "TRANSFORMERS_OFFLINE", "HF_TOKEN_PATH"];

    private readonly Dictionary<string, string?> saved = Names.ToDictionary(name => name, Environment.GetEnvironmentVariable);

    public HubEnvironment(HubSettings settings)
    {
        foreach (var name in Names) Environment.SetEnvironmentVariable(name, null);
        Environment.SetEnvironmentVariable("HF_ENDPOINT", settings.Endpoint);
        Environment.SetEnvironmentVariable("HF_HUB_CACHE", settings.CacheDirectory);
        Environment.SetEnvironmentVariable("HF_TOKEN", settings.Token);
        Environment.SetEnvironmentVariable("HF_HUB_OFFLINE", settings.Offline ? "1" : null);
        // No token file of the machine's user may stand in for HF_TOKEN.
        Environment.SetEnvironmentVariable("HF_TOKEN_PATH", Path.Combine(settings.CacheDirectory, "no-token"));
    }

    public void Dispose()
    {
        foreach (var (name, value) in saved) Environment.SetEnvironmentVariable(name, value);
    }
}
