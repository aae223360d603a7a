using System.Runtime.CompilerServices;
using SimNpo.Cli;
using SimNpo.Tests.Cli;
using SimNpo.Unlearn.Distributed.Nccl;
using SimNpo.Unlearn.Training;

namespace SimNpo.Tests.Distributed;

/// <summary>
/// Which path sums the gradients: the choice, its one message, and that loading a missing libnccl.so.2 fails cleanly with
/// a reason rather than throwing. The NCCL calls themselves run against a host-memory stand-in (NcclBindingTests).
/// </summary>
public class NcclSelectionTests
{
    private const string Library = NcclLibrary.FileName;

    [Test]
    public void OffCudaOrOnOneRankTheHostPathIsTakenSilentlyWithoutLookingForNccl()
    {
        var looked = false;
        string? Load()
        {
            looked = true;
            return null;
        }
        Assert.That(StepGradients.Decide(GradientSum.Auto, onCuda: false, ranks: 4, Library, Load), Is.EqualTo((false, (string?)null)));
        Assert.That(StepGradients.Decide(GradientSum.Auto, onCuda: true, ranks: 1, Library, Load), Is.EqualTo((false, (string?)null)));
        Assert.That(StepGradients.Decide(GradientSum.Host, onCuda: true, ranks: 4, Library, Load), Is.EqualTo((false, (string?)null)), "host: never NCCL");
        Assert.That(looked, Is.False);
    }

    [Test]
    public void OnCudaWithoutNcclTheMpiHostPathIsTakenWithOneMessageSayingWhy()
    {
        var (useNccl, message) = StepGradients.Decide(GradientSum.Auto, onCuda: true, ranks: 2, Library, () => "libnccl.so.2 was not found");
        Assert.That(useNccl, Is.False);
        Assert.That(message, Is.EqualTo("NCCL: libnccl.so.2 was not found; gradients are summed over MPI through host memory instead "
            + "(copy to host, all-reduce, copy back)"));
    }

    [Test]
    public void OnCudaWithNcclItIsUsedAndSaidSo()
    {
        var (useNccl, message) = StepGradients.Decide(GradientSum.Auto, onCuda: true, ranks: 2, Library, () => null);
        Assert.That(useNccl, Is.True);
        Assert.That(message, Is.EqualTo("NCCL: gradients are summed on the device with libnccl.so.2 across 2 rank(s)"));
    }

    /// <summary>--gradient-sum nccl takes NCCL on any number of ranks (one: the one-GPU check), and where it cannot load, says why and stops.</summary>
    [Test]
    public void NcclAskedForIsUsedOnOneRankOrRefusedWithTheReason()
    {
        Assert.That(StepGradients.Decide(GradientSum.Nccl, onCuda: true, ranks: 1, Library, () => null).UseNccl, Is.True);
        var error = Assert.Throws<NotSupportedException>(() => StepGradients.Decide(GradientSum.Nccl, onCuda: true, ranks: 2, Library, () => "libnccl.so.2 was not found"));
        Assert.That(error!.Message, Is.EqualTo("--gradient-sum nccl: libnccl.so.2 was not found"));
    }

    [Test]
    public void AMissingLibraryIsAReasonNotAnException()
    {
        Assert.That(NcclLibrary.TryLoad(out var problem, "libnccl-absent-for-this-test.so.2"), Is.Null);
        Assert.That(problem, Does.StartWith("libnccl-absent-for-this-test.so.2 was not found"));
    }

    /// <summary>ncclUniqueId is 128 bytes passed by value (nccl.h NCCL_UNIQUE_ID_BYTES): the struct must be exactly that.</summary>
    [Test]
    public void TheUniqueIdIsNcclsSize() => Assert.That(Unsafe.SizeOf<NcclUniqueId>(), Is.EqualTo(128));

    /// <summary>NCCL serves CUDA buffers only: asked for on another device, the command stops before loading anything.</summary>
    [Test]
    public void NcclOffCudaIsBadUsage()
    {
        using var run = new TinyRun();
        var (code, _, error) = Simnpo.Run(run.Unlearn(run.File("out"), "--gradient-sum", "nccl", "--device", "cpu"));
        Assert.That(code, Is.EqualTo(CommandRunner.Usage));
        Assert.That(error, Does.Contain("--gradient-sum nccl sums GPU buffers: it needs a CUDA device (--device cuda), not cpu"));
        Assert.That(File.Exists(Path.Combine(run.File("out"), "log.jsonl")), Is.False);
    }

    /// <summary>The same from --config (options the command line leaves unset come from it), and run.json records the three.</summary>
    [Test]
    public void TheDataParallelOptionsComeFromConfigAndGoIntoRunJson()
    {
        using var run = new TinyRun();
        var config = run.File("config.json");
        File.WriteAllText(config, """{ "gradient-sum": "nccl" }""");
        var (code, _, error) = Simnpo.Run(run.Unlearn(run.File("refused"), "--config", config, "--device", "cpu"));
        Assert.That(code, Is.EqualTo(CommandRunner.Usage));
        Assert.That(error, Does.Contain("--gradient-sum nccl sums GPU buffers"));

        File.WriteAllText(config, """{ "gradient-sum": "fastest" }""");
        (code, _, error) = Simnpo.Run(run.Unlearn(run.File("bad"), "--config", config));
        Assert.That(code, Is.EqualTo(CommandRunner.Failure));
        Assert.That(error, Does.Contain(config).And.Contain("'gradient-sum' is 'fastest', not one of auto, nccl, host"));

        File.WriteAllText(config, """{ "gradient-sum": "host", "nccl-library": "/opt/nccl/libnccl.so.2" }""");
        (code, _, error) = Simnpo.Run(run.Unlearn(run.File("host"), "--config", config, "--epochs", "1"));
        Assert.That(code, Is.EqualTo(CommandRunner.Success), error);
        var recorded = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(run.File("host"), "run.json")))!;
        Assert.That((recorded["gradient-sum"]!.GetValue<string>(), recorded["nccl-library"]!.GetValue<string>(), recorded["shard-optimizer"]!.GetValue<bool>()),
            Is.EqualTo(("host", "/opt/nccl/libnccl.so.2", false)));
    }
}
