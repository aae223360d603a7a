using SimNpo.Unlearn.Performance;

namespace SimNpo.Tests.Performance;

/// <summary>The lines tools/bench/torch_bench.py --serve writes (copied from a run), and a round trip through Serve.</summary>
public class WorkerProtocolTests
{
    private const string Worker = "PyTorch";

    [Test]
    public void TheTorchScriptsLinesParse()
    {
        var info = WorkerProtocol.ParseReady(
            """{"ready": true, "torch": "1.13.0a0", "blas": "libblas.so.3, libopenblasp-r0.3.21.so", "threads": 2, "device": "cpu", "attention": "explicit"}""",
            Worker);
        Assert.That(info, Is.EqualTo(new Dictionary<string, string>
        {
            ["torch"] = "1.13.0a0", ["blas"] = "libblas.so.3, libopenblasp-r0.3.21.so", ["threads"] = "2", ["device"] = "cpu", ["attention"] = "explicit",
        }));
        var figures = WorkerProtocol.ParseFigures("""{"figures": {"matmul 128x128x128 GFLOP/s": 40.258426222117, "backward 128x128x128 GFLOP/s": 55}}""",
            Worker);
        Assert.That(figures,
            Is.EqualTo(new Dictionary<string, double> { ["matmul 128x128x128 GFLOP/s"] = 40.258426222117, ["backward 128x128x128 GFLOP/s"] = 55 }));
        var memory = WorkerProtocol.ParseMemory("""{"memory": {"cuda_max_allocated_bytes": 6442450944, "cuda_max_reserved_bytes": 7516192768}}""", Worker);
        Assert.That(memory, Is.EqualTo(new Dictionary<string, long> { ["cuda_max_allocated_bytes"] = 6442450944, ["cuda_max_reserved_bytes"] = 7516192768 }));
    }

    [TestCase(null, "ended its output")]
    [TestCase("Traceback (most recent call last):", "malformed")]
    [TestCase("""{"memory": {"peak_rss_bytes": 1}}""", "expected a \"figures\" line")]
    [TestCase("""{"figures": {"tokens/s": "fast"}}""", "where a number belongs")]
    public void ABadLineNamesTheWorkerAndTheProblem(string? line, string problem)
    {
        var error = Assert.Throws<IOException>(() => WorkerProtocol.ParseFigures(line, Worker))!;
        Assert.That(error.Message, Does.Contain(Worker).And.Contain(problem));
    }

    [Test]
    public void ServeAnswersEachRoundThenReportsMemory()
    {
        var output = new StringWriter();
        WorkerProtocol.Serve(new CountingRounds(), new StringReader("round\nround\n"), output);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(4));
        Assert.That(WorkerProtocol.ParseReady(lines[0], Worker), Is.EqualTo(new Dictionary<string, string> { ["device"] = "test" }));
        Assert.That(WorkerProtocol.ParseFigures(lines[1], Worker)["tokens/s"], Is.EqualTo(1));
        Assert.That(WorkerProtocol.ParseFigures(lines[2], Worker)["tokens/s"], Is.EqualTo(2));
        Assert.That(WorkerProtocol.ParseMemory(lines[3], Worker), Is.EqualTo(new Dictionary<string, long> { [PeakMemory.ResidentKey] = 1L << 33 }));
    }

    private sealed class CountingRounds : IBenchRounds
    {
        private int _rounds;

        public IReadOnlyDictionary<string, string> Info { get; } = new Dictionary<string, string> { ["device"] = "test" };

        public IReadOnlyDictionary<string, double> Round() => new Dictionary<string, double> { ["tokens/s"] = ++_rounds };

        public IReadOnlyDictionary<string, long> Finish() => new Dictionary<string, long> { [PeakMemory.ResidentKey] = 1L << 33 };

        public void Dispose() { }
    }
}
