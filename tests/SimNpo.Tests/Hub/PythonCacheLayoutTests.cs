using System.Security.Cryptography;
using System.Text;
using SimNpo.Tests.Cli;
using SimNpo.Unlearn.Evaluation;
using SimNpo.Unlearn.Hub;

namespace SimNpo.Tests.Hub;

/// <summary>
/// A cache laid out by hand exactly as huggingface_hub's hf_hub_download leaves it (file_download.py at commit
/// ee0a4510f4bc15e26cb722be2efc2bdb01383ca0: blobs named by ETag, snapshots/&lt;commit&gt;/&lt;path&gt; relative links to them,
/// refs/main holding the commit without a newline) is found with no request: offline, and with the Hub unreachable.
/// </summary>
public class PythonCacheLayoutTests
{
    private const string Commit = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";

    /// <summary>What hf_hub_download writes for one file: the blob, the link (../../blobs/x, one ../ more per folder), the ref.</summary>
    private static void AddAsPython(string repository, string file, byte[] bytes, bool lfs)
    {
        var etag = lfs ? Convert.ToHexStringLower(SHA256.HashData(bytes)) : LoopbackHub.GitBlobSha1(bytes);
        Directory.CreateDirectory(Path.Combine(repository, "blobs"));
        File.WriteAllBytes(Path.Combine(repository, "blobs", etag), bytes);
        var pointer = Path.Combine([repository, "snapshots", Commit, .. file.Split('/')]);
        Directory.CreateDirectory(Path.GetDirectoryName(pointer)!);
        var depth = file.Count(c => c == '/');
        File.CreateSymbolicLink(pointer, string.Concat(Enumerable.Repeat("../", depth + 2)) + "blobs/" + etag);
        Directory.CreateDirectory(Path.Combine(repository, "refs"));
        File.WriteAllText(Path.Combine(repository, "refs", "main"), Commit);
    }

    [Test]
    public void AModelCachedByPythonLoadsOfflineAndWithTheHubUnreachable()
    {
        using var work = new TempDirectory();
        var plain = TinyModelFiles.SaveModel(work.File("plain"));
        var repository = work.File("hub/models--someone--tiny");
        foreach (var file in Directory.GetFiles(plain))
            AddAsPython(repository, Path.GetFileName(file), File.ReadAllBytes(file), file.EndsWith(".safetensors", StringComparison.Ordinal));
        var expected = Simnpo.Run("generate", "--model", plain, "--prompt", "abc", "--max-new-tokens", "6").Output;

        // Offline by HF_HUB_OFFLINE; then online against a port where nothing listens: the ref and snapshot answer alike.
        var closed = new LoopbackHub();
        var unreachable = closed.Endpoint;
        closed.Dispose();
        foreach (var settings in new[] { new HubSettings("http://127.0.0.1:9", work.File("hub"), null, true), new HubSettings(unreachable, work.File("hub"), null, false) })
            using (new HubEnvironment(settings))
            {
                var run = Simnpo.Run("generate", "--model", "someone/tiny", "--prompt", "abc", "--max-new-tokens", "6");
                Assert.That(run.Code, Is.EqualTo(0), run.Error);
                Assert.That(run.Output, Is.EqualTo(expected));
            }
        Assert.That(Directory.GetFiles(Path.Combine(repository, "blobs")), Has.Length.EqualTo(Directory.GetFiles(plain).Length), "nothing was added");
    }

    [Test]
    public void ADataSetCachedByPythonInSubfoldersIsReadOffline()
    {
        using var work = new TempDirectory();
        var repository = work.File("hub/datasets--muse-bench--MUSE-News");
        AddAsPython(repository, "verbmem/forget-00000-of-00001.parquet", ParquetFixtures.Strings(["prompt", "gt"], [["The prompt", "its continuation"]]), true);
        AddAsPython(repository, "knowmem/forget_qa-00000-of-00001.parquet", ParquetFixtures.Strings(["question", "answer"], [["Who?", "Me."]]), true);
        AddAsPython(repository, "knowmem/forget_qa_icl-00000-of-00001.parquet", ParquetFixtures.Strings(["question", "answer"], [["Q?", "A."]]), true);
        AddAsPython(repository, "README.md", Encoding.UTF8.GetBytes("# MUSE-News"), false);
        Assert.That(new FileInfo(Path.Combine(repository, "snapshots", Commit, "verbmem", "forget-00000-of-00001.parquet")).LinkTarget,
            Does.StartWith("../../../blobs/"));

        var folder = HubDatasets.ResolveMuse(HubDatasets.MuseNews, new HubSettings("http://127.0.0.1:9", work.File("hub"), null, true));
        Assert.That(folder, Is.EqualTo(Path.Combine(repository, "snapshots", Commit)));
        var files = MuseFiles.Of(new MuseSettings { DataDirectory = folder });
        Assert.That(MuseData.ReadVerbMem(files.VerbMem), Is.EqualTo(new[] { new VerbatimPassage("The prompt", "its continuation") }));
        Assert.That(MuseData.ReadQa(files.KnowMem).Single(), Is.EqualTo(new QuestionAnswer("Who?", "Me.")));
        Assert.That((files.RetainQa, files.PrivLeakForget), Is.EqualTo(((string?)null, (string?)null)), "parts the cache lacks are absent, not errors");

        var error = Assert.Throws<HubException>(() => HubDatasets.ResolveTofu(HubDatasets.Tofu, ["forget01_perturbed"],
            new HubSettings("http://127.0.0.1:9", work.File("hub"), null, true)))!;
        Assert.That(error.Message, Does.Contain("dataset locuslab/TOFU is not in the cache").And.Contain("--repo-type dataset"));
    }
}
