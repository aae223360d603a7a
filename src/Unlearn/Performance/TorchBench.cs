using System.Diagnostics;
using System.ComponentModel;
using System.Globalization;
using SimNpo.Kernels;
using SimNpo.Model;

namespace SimNpo.Unlearn.Performance;

/// <summary>
/// The PyTorch side of a comparison: tools/bench/torch_bench.py run by a Python with torch, one process per suite
/// and model shape (so each has its own peak memory), on the same device kind and thread count as SimNpo.
/// </summary>
public sealed class TorchBench(string python, string script, string device, int threads, string version)
{
    public const string ScriptPath = "tools/bench/torch_bench.py";
    private const string InstallHint = "install it with `apt-get install python3-torch libopenblas0-pthread` (Debian, Ubuntu) or `pip install torch`";

    public string Python { get; } = python;
    public string Script { get; } = script;
    /// <summary>torch's device: "cuda" against a CUDA device, "cpu" against everything else.</summary>
    public string Device { get; } = device;
    public int Threads { get; } = threads;
    public string Version { get; } = version;

    /// <summary>The script in the checkout: looked for above the current directory, then above the executable's.</summary>
    public static string FindScript()
    {
        static IEnumerable<string> SelfAndParents(string? directory)
        {
            for (; directory is not null; directory = Path.GetDirectoryName(directory)) yield return directory;
        }
        return SelfAndParents(Directory.GetCurrentDirectory()).Concat(SelfAndParents(AppContext.BaseDirectory))
            .Select(directory => Path.Combine(directory, ScriptPath)).FirstOrDefault(File.Exists) ?? ScriptPath;
    }

    /// <summary>Checks that the script is there and that the Python imports torch; the errors say what to install.</summary>
    public static TorchBench Open(string python, string script, string device, int threads)
    {
        if (!File.Exists(script))
            throw new FileNotFoundException($"{script}: the PyTorch benchmark script is missing (pass its path with --torch-script)", script);
        var (code, output) = RunToEnd(python, "-c", "import torch; print(torch.__version__)");
        if (code != 0) throw new NotSupportedException($"{python} cannot import torch: {InstallHint}\n{output.Trim()}");
        return new TorchBench(python, script, device, threads, output.Trim());
    }

    /// <summary>A worker timing the linear layer's forward and backward at each (rows, in, out) shape.</summary>
    public WorkerProcess Sgemm(IEnumerable<MatMulShape> shapes, double minSeconds, Precision precision) =>
        Start("sgemm", minSeconds, precision, ["--shapes", string.Join(",", shapes.Select(s => s.ToString()))]);

    /// <summary>A worker timing causal scaled_dot_product_attention, forward and forward+backward, at each B×H×T×D shape.</summary>
    public WorkerProcess Attention(IEnumerable<AttentionCase> cases, double minSeconds, Precision precision) =>
        Start("attention", minSeconds, precision, ["--shapes", string.Join(",", cases.Select(c => c.ToString()))]);

    /// <summary>
    /// A worker timing <see cref="SyntheticStep"/>'s computation at the shape, in eager PyTorch: float32 against fp32, and
    /// against bf16 what people run, torch.autocast(bfloat16) over float32 parameters (fused AdamW on CUDA).
    /// </summary>
    public WorkerProcess Step(BenchmarkShape shape, double minSeconds, Precision precision)
    {
        var c = shape.Config;
        string Int(int value) => value.ToString(CultureInfo.InvariantCulture);
        List<string> arguments =
        [
            "--hidden-size", Int(c.HiddenSize), "--intermediate-size", Int(c.IntermediateSize), "--layers", Int(c.NumHiddenLayers),
            "--heads", Int(c.NumAttentionHeads), "--kv-heads", Int(c.NumKeyValueHeads), "--head-dim", Int(c.HeadDim), "--vocab", Int(c.VocabSize),
            "--rope-theta", c.RopeTheta.ToString("R", CultureInfo.InvariantCulture), "--rms-norm-eps", c.NormEps.ToString("R", CultureInfo.InvariantCulture),
            "--batch", Int(shape.BatchSize), "--seq", Int(shape.SequenceLength), "--prompt-len", Int(SyntheticStep.PromptLength),
        ];
        if (c.TieWordEmbeddings) arguments.Add("--tied");
        if (shape.Recompute == Recompute.Layers) arguments.Add("--recompute");
        return Start("step", minSeconds, precision, arguments);
    }

    private WorkerProcess Start(string suite, double minSeconds, Precision precision, IEnumerable<string> arguments) =>
        WorkerProcess.Start($"PyTorch ({Script} {suite} {precision})", Python,
        [
            Script, suite, "--serve", "--device", Device, "--threads", Threads.ToString(CultureInfo.InvariantCulture),
            "--min-seconds", minSeconds.ToString("R", CultureInfo.InvariantCulture), "--precision", precision.Name, .. arguments,
        ]);

    private static (int Code, string Output) RunToEnd(string fileName, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        try
        {
            using var process = Process.Start(start)!;
            var error = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, process.ExitCode == 0 ? output : error.Result);
        }
        catch (Win32Exception e)
        {
            throw new FileNotFoundException($"Python not found at '{fileName}' ({e.Message}): pass --python PATH, or {InstallHint}", fileName, e);
        }
    }
}
