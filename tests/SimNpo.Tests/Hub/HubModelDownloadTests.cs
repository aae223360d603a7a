using SimNpo.Model.SafeTensors;
using SimNpo.Tests.Cli;
using SimNpo.Unlearn.Hub;

namespace SimNpo.Tests.Hub;

/// <summary>
/// Models fetched from a Hub on the loopback interface into huggingface_hub's cache layout: what is fetched, where it
/// lands, that the cache then answers without a download, resumption of cut transfers, gated and missing repositories.
/// </summary>
public class HubModelDownloadTests : LoopbackHubFixture
{
    private const string Commit = "0123456789abcdef0123456789abcdef01234567";

    private Dictionary<string, byte[]> files = null!;

    [SetUp]
    public void AddTinyModel()
    {
        files = ModelFiles(TinyModelFiles.SaveModel(Work.File("plain")));
        // Files of the repository that a model load does not read: they must not be downloaded.
        files["README.md"] = "# tiny"u8.ToArray();
        files["pytorch_model.bin"] = new byte[4096];
        Server.Add("models", "tiny/llama", Commit, files, gated: false, "v1");
    }

    private static Dictionary<string, byte[]> ModelFiles(string folder) =>
        Directory.GetFiles(folder).ToDictionary(path => Path.GetFileName(path), File.ReadAllBytes);

    [Test]
    public void AModelLandsInHuggingFaceHubsCacheLayoutWithOnlyTheFilesTheEngineReads()
    {
        var folder = HubModels.Resolve("tiny/llama", Settings());

        var repository = Work.File("cache/models--tiny--llama");
        Assert.That(folder, Is.EqualTo(Path.Combine(repository, "snapshots", Commit)));
        Assert.That(File.ReadAllText(Path.Combine(repository, "refs", "main")), Is.EqualTo(Commit), "refs/main holds the commit, without a newline");
        Assert.That(File.ReadAllText(Work.File("cache/CACHEDIR.TAG")), Does.StartWith("Signature: 8a477f597d28d172789f06886806bc55\n"));
        string[] expected = ["config.json", "merges.txt", SafeTensorsCheckpoint.SingleFileName, "vocab.json"];
        Assert.That(Directory.GetFiles(folder).Select(Path.GetFileName).Order(), Is.EqualTo(expected));
        foreach (var name in expected)
        {
            var link = new FileInfo(Path.Combine(folder, name));
            Assert.That(link.LinkTarget, Is.EqualTo($"../../blobs/{LoopbackHub.Etag(name, files[name])}"), name);
            Assert.That(File.ReadAllBytes(link.FullName), Is.EqualTo(files[name]), name);
        }
        // An LFS file's blob is named by its sha256, any other file's by its git blob sha1 (the ETags the Hub sends).
        Assert.That(LoopbackHub.Etag("model.safetensors", files["model.safetensors"]), Has.Length.EqualTo(64));
        Assert.That(LoopbackHub.Etag("config.json", files["config.json"]), Has.Length.EqualTo(40));
        Assert.That(Directory.GetFiles(Path.Combine(repository, "blobs")), Has.Length.EqualTo(expected.Length), "no .incomplete left behind");
        Assert.That(File.Exists(Path.Combine(repository, ".no_exist", Commit, HubModels.GenerationConfigFileName)), "absent optional files are recorded");
        Assert.That(Server.Count(r => r.Contains("pytorch_model.bin") || r.Contains("README.md")), Is.Zero);
        Assert.That(Server.Count(r => r.StartsWith("GET /cdn/", StringComparison.Ordinal)), Is.EqualTo(1), "the weights came through the 302 to the CDN");

        var before = Server.Requests.Count;
        Assert.That(HubModels.Resolve("tiny/llama", Settings()), Is.EqualTo(folder));
        Assert.That(Server.Requests.Skip(before).ToArray(), Is.EqualTo(new[] { "GET /api/models/tiny/llama/revision/main" }),
            "a cached model costs the revision lookup alone");
        before = Server.Requests.Count;
        Assert.That(HubModels.Resolve("tiny/llama", Settings(offline: true)), Is.EqualTo(folder));
        Assert.That(Server.Requests, Has.Count.EqualTo(before), "offline, not one request");
    }

    [Test]
    public void ARevisionAfterTheAtSignIsRecordedAsARef()
    {
        var folder = HubModels.Resolve("tiny/llama@v1", Settings());
        Assert.That(folder, Does.EndWith(Path.Combine("snapshots", Commit)));
        Assert.That(File.ReadAllText(Work.File("cache/models--tiny--llama/refs/v1")), Is.EqualTo(Commit));
        Assert.That(Server.Requests, Has.Some.EqualTo("GET /api/models/tiny/llama/revision/v1"));
        Assert.That(HubModels.Resolve($"tiny/llama@{Commit}", Settings(offline: true)), Is.EqualTo(folder), "a commit hash needs no ref");
    }

    [Test]
    public void ShardsNamedByTheIndexAreFetchedAndNothingElse()
    {
        var sharded = Work.File("sharded");
        TinyModelFiles.SaveModel(sharded);
        HuggingFaceCacheTests.SplitIntoShards(sharded);
        var shardedFiles = ModelFiles(sharded);
        shardedFiles["model-00009-of-00009.safetensors"] = new byte[100]; // in the repository, named by no index
        Server.Add("models", "tiny/sharded", Commit, shardedFiles);

        var folder = HubModels.Resolve("tiny/sharded", Settings());
        Assert.That(Directory.GetFiles(folder).Select(Path.GetFileName).Where(name => name!.StartsWith("model", StringComparison.Ordinal)).Order(),
            Is.EqualTo(new[] { "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", SafeTensorsCheckpoint.IndexFileName }));
        var plain = Simnpo.Run("generate", "--model", Work.File("plain"), "--prompt", "ab", "--max-new-tokens", "5");
        using (new HubEnvironment(Settings(offline: true)))
        {
            var cached = Simnpo.Run("generate", "--model", "tiny/sharded", "--prompt", "ab", "--max-new-tokens", "5");
            Assert.That(cached.Code, Is.EqualTo(0), cached.Error);
            Assert.That(cached.Output, Is.EqualTo(plain.Output), "the sharded cached model generates as the plain folder does");
        }
    }

    [Test]
    public void ACutTransferResumesWithARangeRequest()
    {
        Server.CutNextTransferAfter = 1000;
        var folder = HubModels.Resolve("tiny/llama", Settings());
        Assert.That(File.ReadAllBytes(Path.Combine(folder, "model.safetensors")), Is.EqualTo(files["model.safetensors"]));
        var sha = LoopbackHub.Sha256(files["model.safetensors"]);
        Assert.That(Server.Requests, Has.Some.EqualTo($"GET /cdn/{sha} Range: bytes=1000-"));
    }

    [Test]
    public void AnIncompleteBlobLeftByAnEarlierRunIsResumed()
    {
        var sha = LoopbackHub.Sha256(files["model.safetensors"]);
        var blobs = Directory.CreateDirectory(Work.File("cache/models--tiny--llama/blobs")).FullName;
        File.WriteAllBytes(Path.Combine(blobs, sha + ".incomplete"), files["model.safetensors"][..777]);
        var folder = HubModels.Resolve("tiny/llama", Settings());
        Assert.That(File.ReadAllBytes(Path.Combine(folder, "model.safetensors")), Is.EqualTo(files["model.safetensors"]));
        Assert.That(Server.Requests.Where(r => r.StartsWith("GET /cdn/", StringComparison.Ordinal)), Is.EqualTo(new[] { $"GET /cdn/{sha} Range: bytes=777-" }));
        Assert.That(File.Exists(Path.Combine(blobs, sha + ".incomplete")), Is.False);
    }

    [Test]
    public void BytesThatDoNotHashToTheLfsEtagAreRefusedAndRemoved()
    {
        var sha = LoopbackHub.Sha256(files["model.safetensors"]);
        var blobs = Directory.CreateDirectory(Work.File("cache/models--tiny--llama/blobs")).FullName;
        var wrong = files["model.safetensors"][..100].ToArray();
        wrong[0] ^= 1;
        File.WriteAllBytes(Path.Combine(blobs, sha + ".incomplete"), wrong);
        var error = Assert.Throws<HubException>(() => HubModels.Resolve("tiny/llama", Settings()))!;
        Assert.That(error.Message, Does.Contain("model.safetensors of model tiny/llama").And.Contain("sha256"));
        Assert.That(Directory.GetFiles(blobs, sha + "*"), Is.Empty, "neither the bad blob nor its partial file stays");
    }

    /// <summary>A file kept in git (not LFS) is checked against its ETag, the git blob id: sha1 of "blob &lt;size&gt;\0" and the bytes.</summary>
    [Test]
    public void BytesThatDoNotHashToTheGitBlobIdAreRefusedAndRemoved()
    {
        var id = LoopbackHub.GitBlobSha1(files["config.json"]);
        var blobs = Directory.CreateDirectory(Work.File("cache/models--tiny--llama/blobs")).FullName;
        var wrong = files["config.json"][..10].ToArray();
        wrong[0] ^= 1;
        File.WriteAllBytes(Path.Combine(blobs, id + ".incomplete"), wrong);
        var error = Assert.Throws<HubException>(() => HubModels.Resolve("tiny/llama", Settings()))!;
        Assert.That(error.Message, Does.Contain("config.json of model tiny/llama").And.Contain($"the Hub reports {id}"));
        Assert.That(Directory.GetFiles(blobs, id + "*"), Is.Empty, "neither the bad blob nor its partial file stays");
    }

    [Test]
    public void AGatedRepositoryNeedsHfTokenAndSaysSo()
    {
        Server.Add("models", "locked/llama", Commit, files, gated: true);
        using (new HubEnvironment(Settings()))
        {
            var refused = Simnpo.Run("info", "--model", "locked/llama");
            Assert.That(refused.Code, Is.EqualTo(1));
            Assert.That(refused.Error, Does.Contain("locked/llama").And.Contain("HTTP 401").And.Contain("HF_TOKEN").And.Contain("licence"));
            Assert.That(refused.Error, Does.Not.Contain("   at "), "no stack trace");
        }
        using (new HubEnvironment(Settings(token: "hf_wrong")))
            Assert.That(Simnpo.Run("info", "--model", "locked/llama").Error, Does.Contain("with the token in HF_TOKEN"));
        using (new HubEnvironment(Settings(token: Server.Token)))
        {
            var allowed = Simnpo.Run("info", "--model", "locked/llama");
            Assert.That(allowed.Code, Is.EqualTo(0), allowed.Error);
            Assert.That(Server.Requests, Has.Some.EndsWith($"Authorization: Bearer {Server.Token}"));
            Assert.That(Server.Requests.Where(r => r.StartsWith("GET /cdn/", StringComparison.Ordinal)), Has.None.Contains("Authorization"),
                "the token is not sent to the CDN");
        }
    }

    [Test]
    public void MissingRepositoriesAndOfflineMissesAreClearErrors()
    {
        using (new HubEnvironment(Settings()))
        {
            var missing = Simnpo.Run("info", "--model", "nobody/nothing");
            Assert.That(missing.Code, Is.EqualTo(1));
            Assert.That(missing.Error, Does.Contain("nobody/nothing").And.Contain("not found"));
            Assert.That(Simnpo.Run("info", "--model", "tiny/llama@v9").Error, Does.Contain("revision 'v9' not found"));
        }
        using (new HubEnvironment(Settings(offline: true)))
        {
            var offline = Simnpo.Run("info", "--model", "tiny/llama");
            Assert.That(offline.Code, Is.EqualTo(1));
            Assert.That(offline.Error, Does.Contain("model tiny/llama is not in the cache").And.Contain("HF_HUB_OFFLINE").And.Contain("simnpo download tiny/llama"));
        }
        Assert.That(Server.Requests, Has.None.Contains("/resolve/"), "no file request for a missing repository or offline");
    }

    [Test]
    public void DownloadPrefetchesSoThatAnOfflineRunNeedsNoRequest()
    {
        using (new HubEnvironment(Settings()))
        {
            var run = Simnpo.Run("download", "tiny/llama", "--revision", "v1");
            Assert.That(run.Code, Is.EqualTo(0), run.Error);
            Assert.That(run.Output, Does.Contain($"model tiny/llama@v1 at commit {Commit}"));
        }
        var before = Server.Requests.Count;
        using (new HubEnvironment(Settings(offline: true)))
        {
            var generated = Simnpo.Run("generate", "--model", "tiny/llama@v1", "--prompt", "ab", "--max-new-tokens", "5");
            Assert.That(generated.Code, Is.EqualTo(0), generated.Error);
            Assert.That(generated.Output, Is.EqualTo(Simnpo.Run("generate", "--model", Work.File("plain"), "--prompt", "ab", "--max-new-tokens", "5").Output));
        }
        Assert.That(Server.Requests, Has.Count.EqualTo(before));
    }

    [Test]
    public void AnExistingLocalFolderWinsOverARepositoryOfTheSameName()
    {
        var local = Directory.CreateDirectory(Work.File("tiny/llama")).FullName;
        var previous = Environment.CurrentDirectory;
        try
        {
            Environment.CurrentDirectory = Work.Path;
            Assert.That(HubModels.Resolve("tiny/llama", Settings()), Is.EqualTo(local));
        }
        finally
        {
            Environment.CurrentDirectory = previous;
        }
        Assert.That(Server.Requests, Is.Empty);
    }
}
