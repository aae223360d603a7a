using System.CommandLine;
using SimNpo.Unlearn.Hub;

namespace SimNpo.Cli;

/// <summary>
/// `simnpo download ID`: fetches a Hub model or data set into the Hugging Face cache ahead of time (what the other
/// commands would fetch on first use), so that later runs work offline (HF_HUB_OFFLINE=1).
/// </summary>
public static class DownloadCommand
{
    public static Command Create()
    {
        var id = new Argument<string>("repository") { Description = "Hub repository id: org/name, optionally org/name@revision" };
        var repoType = new Option<string>("--repo-type") { Description = "model or dataset", DefaultValueFactory = _ => "model" }
            .AcceptOnlyFromAmong("model", "dataset");
        var revision = new Option<string?>("--revision") { Description = "branch, tag or commit hash (default: main, or the @revision of the id)" };
        var command = new Command("download",
            "Prefetch a Hub model (config, safetensors weights or shards, tokenizer) or data set (for TOFU and MUSE the files the commands read, "
            + "else every file) into the Hugging Face cache")
        {
            id, repoType, revision,
        };
        command.SetAction(parse =>
        {
            var type = parse.GetRequiredValue(repoType) == "dataset" ? HubRepoType.Dataset : HubRepoType.Model;
            var repo = HubRepo.TryParse(parse.GetRequiredValue(id), type)
                ?? throw new UsageException($"'{parse.GetRequiredValue(id)}' is not a Hub repository id (org/name[@revision])");
            if (parse.GetValue(revision) is { } named) repo = repo with { Revision = named };
            var settings = HubSettings.FromEnvironment();
            var writer = parse.InvocationConfiguration.Output;
            using var snapshot = type == HubRepoType.Model ? HubModels.Fetch(repo, settings) : FetchDataset(repo, settings, writer);
            writer.WriteLine($"{repo} at commit {snapshot.Commit}" + (snapshot.CacheOnly ? " (offline: from the cache)" : ""));
            writer.WriteLine($"cached in {snapshot.Folder}");
            return CommandRunner.Success;
        });
        return command;
    }

    private static HubSnapshot FetchDataset(HubRepo repo, HubSettings settings, TextWriter writer)
    {
        var snapshot = HubSnapshot.Open(repo, settings);
        try
        {
            var (files, what) = HubDatasets.DownloadSelection(snapshot);
            writer.WriteLine($"{files.Count} files: {what}");
            foreach (var file in files) snapshot.Get(file);
            return snapshot;
        }
        catch
        {
            snapshot.Dispose();
            throw;
        }
    }
}
