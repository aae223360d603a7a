using System.Reflection;
using SimNpo.Kernels;
using SimNpo.Model;

namespace SimNpo.Tests.Model;

/// <summary>
/// What the activations take: fusing the output projection into the loss (one chunk of logits instead of all), keeping
/// one layer's activations with recomputation, and which tensors are bulk (the precision's storage) or statistics (float32).
/// </summary>
public class ActivationMemoryTests
{
    private static LlamaConfig Llama2_7B() => new()
    {
        HiddenSize = 4096, IntermediateSize = 11008, NumHiddenLayers = 32, NumAttentionHeads = 32, NumKeyValueHeads = 32, HeadDim = 128,
        VocabSize = 32000, MaxPositionEmbeddings = 4096, NormEps = 1e-5,
    };

    /// <summary>The fixture's widths (tools/fixtures/make_llama_fixture.py) with four layers, so three layers' worth can go.</summary>
    private static LlamaConfig Small() => new()
    {
        HiddenSize = 24, IntermediateSize = 40, NumHiddenLayers = 4, NumAttentionHeads = 4, NumKeyValueHeads = 2, HeadDim = 8,
        VocabSize = 61, MaxPositionEmbeddings = 256,
    };

    /// <summary>
    /// The activation elements counted by hand from the architecture, apart from the carving code: per layer the two norm
    /// outputs and the mid residual (hidden wide), q and the attention output (heads × head dim), k and v (kv heads × head
    /// dim), gate, up and their product (ffn wide); the kept residual stream (layers + 1); the final norm, the scored
    /// rows' hidden states and their gradient; the gradient scratch of one layer. Statistics: two inverse RMS per row and
    /// one log-sum-exp per head and row per layer, the final norm's, the fused loss's scratch (a 4096-column chunk and a
    /// running value per scored row), three values per scored row, two per sequence.
    /// </summary>
    private static ActivationSize ByHand(LlamaConfig c, int batch, int length, int scored, int keptLayers)
    {
        long rows = batch * length, hidden = c.HiddenSize, ffn = c.IntermediateSize, q = c.QueryWidth, kv = c.KvWidth;
        var layerBulk = rows * (3 * hidden + 2 * q + 2 * kv + 3 * ffn);
        var layerStatistics = 2 * rows + (long)batch * c.NumAttentionHeads * length;
        var bulk = (c.NumHiddenLayers + 1) * rows * hidden + keptLayers * layerBulk + rows * hidden + 2L * scored * hidden
            + rows * (3 * hidden + 2 * q + 2 * kv + 3 * ffn);
        var statistics = keptLayers * layerStatistics + rows + (long)scored * (Math.Min(c.VocabSize, Activations<float>.OutputChunk) + 1) + 3L * scored
            + 2L * batch;
        return new ActivationSize(bulk, statistics);
    }

    [Test]
    public void ALlama32OneBShapedStepKeepsOneChunkOfLogitsInsteadOfTwoGiB()
    {
        var config = new LlamaConfig
        {
            HiddenSize = 2048, IntermediateSize = 8192, NumHiddenLayers = 16, NumAttentionHeads = 32, NumKeyValueHeads = 8, HeadDim = 64,
            VocabSize = 128256, TieWordEmbeddings = true, MaxPositionEmbeddings = 131072,
        };
        const int rows = 8 * 512;
        var fused = Activations<float>.Count(config, new ActivationShape(8, 512, rows, FullLogits: false)).Bytes(Storage.Native, 4);
        var unfused = Activations<float>.Count(config, new ActivationShape(8, 512, rows, FullLogits: true)).Bytes(Storage.Native, 4);
        // 4096 × 128256 floats (2004 MiB) become 4096 × (4096 + 1) (64 MiB of scratch).
        Assert.That(unfused - fused, Is.EqualTo(4L * rows * 128256 - 4L * ChunkedOutputLoss.ScratchLength(rows, 128256, Activations<float>.OutputChunk)));
        Assert.That((unfused - fused) / (double)(1 << 20), Is.EqualTo(1940).Within(1));
    }

    [TestCase(Recompute.None, 4)]
    [TestCase(Recompute.Layers, 1)]
    public void TheCarvingTakesWhatTheArchitectureNeeds(Recompute recompute, int keptLayers)
    {
        foreach (var (config, batch, length) in new[] { (Small(), 3, 16), (Llama2_7B(), 4, 512) })
        {
            var scored = batch * length - batch;
            Assert.That(Activations<float>.Count(config, new ActivationShape(batch, length, scored, FullLogits: false, recompute)),
                Is.EqualTo(ByHand(config, batch, length, scored, recompute == Recompute.None ? config.NumHiddenLayers : keptLayers)));
        }
    }

    /// <summary>
    /// Recomputing the layers drops all but one layer's block activations: for the small config at 3 × 16, exactly
    /// three layers' worth; the residual stream and the gradient scratch stay. Bytes are reported in both modes.
    /// </summary>
    [Test]
    public void RecomputingTheLayersKeepsOneLayersActivations()
    {
        var config = Small();
        var shape = new ActivationShape(3, 16, 45, FullLogits: false);
        var none = Activations<float>.Count(config, shape);
        var layers = Activations<float>.Count(config, shape with { Recompute = Recompute.Layers });
        var layer = ByHand(config, 3, 16, 45, 1).BulkElements - ByHand(config, 3, 16, 45, 0).BulkElements;
        var layerStatistics = ByHand(config, 3, 16, 45, 1).StatisticElements - ByHand(config, 3, 16, 45, 0).StatisticElements;
        Assert.That(none.BulkElements - layers.BulkElements, Is.EqualTo(3 * layer));
        Assert.That(none.StatisticElements - layers.StatisticElements, Is.EqualTo(3 * layerStatistics));
        foreach (var precision in Precision.All)
            TestContext.Out.WriteLine(
                $"small config (4 layers, dim 24, ffn 40) at 3 x 16, {precision.Name}: recompute none {none.Bytes(precision.Bulk, 4):N0} bytes, "
                + $"layers {layers.Bytes(precision.Bulk, 4):N0} bytes");
        Assert.That(none.Bytes(Storage.Native, 4), Is.EqualTo(4 * (none.BulkElements + none.StatisticElements)));
        Assert.That(none.Bytes(Storage.BFloat16, 4), Is.EqualTo(2 * none.BulkElements + 4 * none.StatisticElements));
    }

    /// <summary>
    /// Llama-2-7B at 4 × 512 in bf16: 32 layers of block activations (134.7 M bf16 values each, 269 MB) take 8.99 GB
    /// with the residual stream; with recomputation 1.14 GB remain: the residual stream itself (33 × 2048 × 4096, 0.55 GB),
    /// one layer's block activations, one layer's gradient scratch and the fused loss's float32 scratch (33.6 MB).
    /// </summary>
    [Test]
    public void Llama2SevenBActivationsFallFromNineGigabytesToOne()
    {
        var config = Llama2_7B();
        var shape = new ActivationShape(4, 512, 4 * 512, FullLogits: false);
        var none = Activations<float>.Count(config, shape).Bytes(Storage.BFloat16, 4);
        var layers = Activations<float>.Count(config, shape with { Recompute = Recompute.Layers }).Bytes(Storage.BFloat16, 4);
        TestContext.Out.WriteLine(
            $"Llama-2-7B at 4 x 512, bf16: recompute none {none:N0} bytes ({none / 1e9:F2} GB), layers {layers:N0} bytes ({layers / 1e9:F2} GB)");
        Assert.That(none, Is.EqualTo(8_985_813_024));
        Assert.That(layers, Is.EqualTo(1_143_267_360));
        var residualStream = 33L * 2048 * 4096 * 2;
        var oneLayer = 2048L * (3 * 4096 + 4 * 4096 + 3 * 11008) * 2;
        Assert.That(none - layers, Is.EqualTo(31 * (oneLayer + 4L * (2 * 2048 + 4 * 32 * 512))));
        Assert.That(layers - residualStream, Is.LessThan(3 * oneLayer),
            "besides the residual stream: one layer's activations, one layer's gradient scratch, the loss scratch");
    }

    /// <summary>The contract's split: bulk tensors in the bulk buffer (bf16 here), statistics in the float32 one.</summary>
    [TestCase(false)]
    [TestCase(true)]
    public void BulkTensorsAndStatisticsAreCarvedFromTheirOwnBuffers(bool fullLogits)
    {
        var config = Small();
        var shape = new ActivationShape(2, 8, 10, fullLogits, Recompute.Layers);
        var size = Activations<float>.Count(config, shape);
        var bulk = new HostBFloat16Buffer((int)size.BulkElements);
        var statistics = new HostBuffer<float>((int)size.StatisticElements);
        var activations = new Activations<float>(config, shape,
            new ActivationCarving<float>(new ViewCarver<float>(bulk).Take, new ViewCarver<float>(statistics).Take));
        string[] statisticNames = ["AttentionInvRms", "AttentionLogSumExp", "MlpInvRms", "FinalInvRms", "LogitsLogSumExp", "TokenLogProbs", "TokenLogProbGrad",
            "SequenceLogProbs", "SequenceWeights", .. fullLogits ? Array.Empty<string>() : ["Logits"]];
        var views = Views(activations).Concat(Views(activations.Layer(0))).ToList();
        Assert.That(views, Has.Count.EqualTo(9 + 11 + 13), "every view of the step (forward, gradient scratch) and of its layer");
        foreach (var (name, view) in views)
            Assert.That(view.Storage, Is.EqualTo(statisticNames.Contains(name) ? Storage.Native : Storage.BFloat16), name);
        Assert.That(activations.Residuals.Select(r => r.Storage), Is.All.EqualTo(Storage.BFloat16));
    }

    /// <summary>Every view the owner holds, the optional ones (a LayerNorm's means, a gated MLP's gate) where present.</summary>
    private static IEnumerable<(string Name, View<float> View)> Views(object owner) =>
        owner.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.PropertyType == typeof(View<float>) || p.PropertyType == typeof(View<float>?))
            .Select(p => (p.Name, View: (View<float>?)p.GetValue(owner)))
            .Where(v => v.View is not null).Select(v => (v.Name, v.View!.Value));
}
