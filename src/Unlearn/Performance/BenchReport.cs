using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using SimNpo.Model.IO;
using SimNpo.Unlearn.Evaluation;

namespace SimNpo.Unlearn.Performance;

/// <summary>
/// One figure on both sides: its values per round, their spreads, and the per-round ratio SimNpo / PyTorch.
/// AtPeak is the figure's value at the machine's measured float32 peak (for tokens/s: peak FLOP/s over FLOPs per token).
/// </summary>
public sealed record Comparison(string Figure, [property: JsonPropertyName("simnpo_rounds")] IReadOnlyList<double> SimNpoRounds,
    IReadOnlyList<double>? TorchRounds, double AtPeak)
{
    [JsonPropertyName("simnpo")]
    public Spread SimNpo => Spread.Of([.. SimNpoRounds]);
    public Spread? Torch => TorchRounds is null ? null : Spread.Of([.. TorchRounds]);
    public Spread? Ratio => TorchRounds is null ? null : Spread.OfRatios(SimNpoRounds, TorchRounds);
    [JsonPropertyName("simnpo_percent_of_peak")]
    public double SimNpoPercentOfPeak => 100 * SimNpo.Median / AtPeak;
    public double? TorchPercentOfPeak => Torch is { } torch ? 100 * torch.Median / AtPeak : null;
}

public sealed record SgemmResult(string Shape, string Precision, string UsedBy, [property: JsonPropertyName("matmul")] Comparison MatMul, Comparison Backward);

/// <summary>Causal attention at one B×H×T×D shape: the forward, and the forward with its backward (as autograd runs them).</summary>
public sealed record AttentionResult(string Shape, string Precision, string UsedBy, Comparison Forward, Comparison ForwardBackward);

/// <summary>One model shape's step: its size, throughput, and each side's peak memory by kind (see <see cref="PeakMemory"/>).</summary>
public sealed record StepResult(string Shape, string Precision, int BatchSize, int SequenceLength, long Parameters, double FlopsPerStep,
    Comparison TokensPerSecond,
    [property: JsonPropertyName("simnpo_memory")] IReadOnlyDictionary<string, long> SimNpoMemory, IReadOnlyDictionary<string, long>? TorchMemory);

/// <summary>A `simnpo bench` run as docs/results/bench-&lt;device&gt;-&lt;date&gt;.json holds it, with a Markdown twin.</summary>
public sealed record BenchReport
{
    public required DateTimeOffset Date { get; init; }
    public required string CommandLine { get; init; }
    public required MachineInfo Machine { get; init; }
    /// <summary>The device kind for file names (cuda, opencl, cpu, reference, ilgpu-cpu) and the backend's own description.</summary>
    public required string DeviceKind { get; init; }
    public required string Device { get; init; }
    public required MachinePeak Peak { get; init; }
    /// <summary>What the PyTorch side reported (torch version, BLAS, threads, device, attention) and the Python it ran with.</summary>
    public IReadOnlyDictionary<string, string>? Torch { get; init; }
    public required int Rounds { get; init; }
    public required double MinSeconds { get; init; }
    public IReadOnlyList<SgemmResult> Sgemm { get; init; } = [];
    public IReadOnlyList<AttentionResult> Attention { get; init; } = [];
    public IReadOnlyList<StepResult> Steps { get; init; } = [];

    public static readonly JsonSerializerOptions Json = new(TofuReport.Json);

    /// <summary>bench-&lt;device&gt;-&lt;yyyy-MM-dd&gt; under the folder: .json and .md, each written atomically; returns the .md path.</summary>
    public string Write(string folder)
    {
        var stem = Path.Combine(folder, $"bench-{DeviceKind}-{Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}");
        AtomicFile.WriteAllText(stem + ".json", JsonSerializer.Serialize(this, Json) + "\n");
        AtomicFile.WriteAllText(stem + ".md", ToMarkdown());
        return stem + ".md";
    }

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine($"# SimNpo benchmark: {Device}, {Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}").AppendLine();
        text.AppendLine($"- command: `{CommandLine}`");
        text.AppendLine($"- machine: {Machine.Cpu}, {Machine.Cores} cores, {Machine.Os}, {Machine.DotNet}");
        text.AppendLine($"- measured float32 peak of {Peak.Device}: {Number(Peak.Gflops)} GFLOP/s, {Number(Peak.GigabytesPerSecond)} GB/s");
        if (Torch is { } torch) text.AppendLine($"- PyTorch: {string.Join(", ", torch.Select(p => $"{p.Key} {p.Value}"))}");
        text.AppendLine($"- {Rounds} rounds after a warm-up, each at least {Number(MinSeconds)} s; figures are medians [min–max] over the rounds" +
            (Torch is null ? "" : "; ratio = SimNpo / PyTorch, the median [min–max] of per-round ratios (the two sides alternate round by round)"));
        if (Sgemm.Count > 0) AppendSgemm(text);
        if (Attention.Count > 0) AppendAttention(text);
        if (Steps.Count > 0) AppendSteps(text);
        return text.ToString();
    }

    private void AppendSgemm(StringBuilder text)
    {
        text.AppendLine().AppendLine("## matmul: GFLOP/s of the linear layer, forward (2·M·K·N) and backward (both gradients, 4·M·K·N)").AppendLine();
        AppendPairTable(text, ["M×K×N", "precision", "used by"], ["forward", "backward"],
            Sgemm.Select(r => (new[] { r.Shape, r.Precision, r.UsedBy }, r.MatMul, r.Backward)));
    }

    private void AppendAttention(StringBuilder text)
    {
        text.AppendLine().AppendLine("## causal attention: GFLOP/s, forward (4·B·H·T²·D/2) and forward + backward (14·B·H·T²·D/2)").AppendLine();
        AppendPairTable(text, ["B×H×T×D", "precision", "used by"], ["forward", "forward+backward"],
            Attention.Select(r => (new[] { r.Shape, r.Precision, r.UsedBy }, r.Forward, r.ForwardBackward)));
    }

    private void AppendPairTable(StringBuilder text, string[] keys, string[] passes, IEnumerable<(string[] Keys, Comparison First, Comparison Second)> rows)
    {
        var columns = new List<string>(keys);
        foreach (var pass in passes) columns.AddRange(SideColumns(pass));
        AppendRow(text, columns);
        AppendRow(text, columns.Select((_, i) => i < keys.Length ? "---" : "---:"));
        foreach (var (cells, first, second) in rows) AppendRow(text, [.. cells, .. SideCells(first), .. SideCells(second)]);
    }

    private void AppendSteps(StringBuilder text)
    {
        text.AppendLine().AppendLine("## SimNPO step: forward, loss, backward, clipping, AdamW on random weights").AppendLine();
        List<string> columns = ["shape", "precision", "batch × seq", "parameters", "GFLOP/step", .. SideColumns("tokens/s"), "SimNpo peak memory"];
        if (Torch is not null) columns.Add("PyTorch peak memory");
        AppendRow(text, columns);
        AppendRow(text, columns.Select((_, i) => i < 3 ? "---" : "---:"));
        foreach (var step in Steps)
        {
            List<string> cells = [step.Shape, step.Precision, $"{step.BatchSize} × {step.SequenceLength}", $"{step.Parameters / 1e6:F2} M",
                Number(step.FlopsPerStep / 1e9),
                .. SideCells(step.TokensPerSecond), Memory(step.SimNpoMemory)];
            if (Torch is not null) cells.Add(step.TorchMemory is { } torch ? Memory(torch) : "");
            AppendRow(text, cells);
        }
    }

    private IEnumerable<string> SideColumns(string figure) =>
        Torch is null ? [$"SimNpo {figure}", "% peak"] : [$"SimNpo {figure}", "% peak", $"PyTorch {figure}", "% peak", "ratio"];

    private IEnumerable<string> SideCells(Comparison c) => Torch is null
        ? [SpreadText(c.SimNpo), Number(c.SimNpoPercentOfPeak)]
        : [SpreadText(c.SimNpo), Number(c.SimNpoPercentOfPeak), c.Torch is { } t ? SpreadText(t) : "", c.TorchPercentOfPeak is { } p ? Number(p) : "",
            c.Ratio is { } r ? SpreadText(r, ratio: true) : ""];

    private static void AppendRow(StringBuilder text, IEnumerable<string> cells) => text.AppendLine($"| {string.Join(" | ", cells)} |");

    private static string SpreadText(Spread s, bool ratio = false)
    {
        string F(double value) => ratio ? value.ToString("F2", CultureInfo.InvariantCulture) : Number(value);
        return $"{F(s.Median)} [{F(s.Min)}–{F(s.Max)}]";
    }

    /// <summary>Three significant figures or more: 1234, 123.4 → 123, 12.34 → 12.3, 1.234 → 1.23.</summary>
    private static string Number(double value) =>
        value.ToString(Math.Abs(value) >= 100 ? "F0" : Math.Abs(value) >= 10 ? "F1" : "F2", CultureInfo.InvariantCulture);

    private static string Memory(IReadOnlyDictionary<string, long> peaks) =>
        string.Join(", ", peaks.Select(p => $"{MemoryLabels.GetValueOrDefault(p.Key, p.Key)} {p.Value / (double)(1 << 20):F0} MiB"));

    private static readonly Dictionary<string, string> MemoryLabels = new()
    {
        [PeakMemory.ResidentKey] = "RSS",
        [PeakMemory.DeviceKey] = "device",
        ["cuda_max_allocated_bytes"] = "allocated",
        ["cuda_max_reserved_bytes"] = "reserved",
    };
}
