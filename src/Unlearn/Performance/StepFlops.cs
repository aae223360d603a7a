using SimNpo.Model;

namespace SimNpo.Unlearn.Performance;

/// <summary>
/// The useful floating-point work of one training step (forward and backward), counted analytically as model-FLOPs
/// utilisation counts it: what the model needs, not what the kernels happen to do (the chunked output loss recomputes
/// its logits in backward; that recomputation is not counted).
/// <code>
/// matmuls:   6 · P_layers · B·T  +  6 · V·d · S      (2 per multiply-add forward, twice that backward)
/// attention: 6 · B · T² · H·d_head · layers           (QKᵀ and A·V are 2·B·T²·H·d_head each forward without the
///                                                      mask; causal halves that: 2·B·T²·H·d_head; backward is twice
///                                                      forward; so 3 × 2 = 6)
/// </code>
/// P_layers is the weights of the layers' seven projections, B·T the positions in the batch, V·d the output projection
/// and S the scored positions (only those reach the output projection). Norms, RoPE, SwiGLU and the optimizer are
/// elementwise: memory-bound and left out, as the usual 6·N·tokens count leaves them out.
/// </summary>
public static class StepFlops
{
    public static double Of(LlamaConfig config, int batchSize, int sequenceLength, int scoredPositions)
    {
        double d = config.HiddenSize, positions = (double)batchSize * sequenceLength;
        var layerWeights = d * config.QueryWidth + 2 * d * config.KvWidth + config.QueryWidth * d + 3 * d * config.IntermediateSize;
        var matMuls = 6 * config.NumHiddenLayers * layerWeights * positions + 6 * (double)config.VocabSize * d * scoredPositions;
        var attention = 6.0 * batchSize * sequenceLength * (double)sequenceLength * config.QueryWidth * config.NumHiddenLayers;
        return matMuls + attention;
    }
}
