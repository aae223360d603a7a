using SimNpo.Kernels;
using SimNpo.Model;

namespace SimNpo.Tests.Model;

/// <summary>What fusing the output projection into the loss saves: the [scored rows, vocab] logits become one chunk.</summary>
public class ActivationMemoryTests
{
    [Test]
    public void ALlama32OneBShapedStepKeepsOneChunkOfLogitsInsteadOfTwoGiB()
    {
        var config = new LlamaConfig
        {
            HiddenSize = 2048, IntermediateSize = 8192, NumHiddenLayers = 16, NumAttentionHeads = 32, NumKeyValueHeads = 8, HeadDim = 64,
            VocabSize = 128256, TieWordEmbeddings = true, MaxPositionEmbeddings = 131072,
        };
        const int rows = 8 * 512;
        var fused = Activations<float>.Count(config, 8, 512, rows, fullLogits: false);
        var unfused = Activations<float>.Count(config, 8, 512, rows, fullLogits: true);
        // 4096 × 128256 floats (2004 MiB) become 4096 × (4096 + 1) (64 MiB of scratch).
        Assert.That(unfused - fused, Is.EqualTo((long)rows * 128256 - ChunkedOutputLoss.ScratchLength(rows, 128256, Activations<float>.OutputChunk)));
        Assert.That(4.0 * (unfused - fused) / (1 << 20), Is.EqualTo(1940).Within(1));
    }
}
