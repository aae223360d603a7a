using SimNpo.Kernels;
using SimNpo.Model.Families;

namespace SimNpo.Model;

/// <summary>
/// The transformer block and the pieces the graph shares with generation (embedding, norms, linear layers, the head),
/// each choosing its ops from the family's features: RMSNorm (weight offset 1 for Gemma's 1 + w) or LayerNorm, a bias
/// after a projection where the layout has one, a gated or plain MLP, a sequential or parallel block.
/// </summary>
public sealed partial class LlamaModel<T>
{
    private View<T>? OptionalWeight(ParameterEntry? entry) => entry is { } e ? Weight(e) : null;

    private View<T>? OptionalGradient(ParameterEntry? entry) => entry is { } e ? Gradient(e) : null;

    /// <summary>Gemma's (1 + w) is RMSNorm with the weight offset by 1; the other RMSNorms use w itself.</summary>
    private float NormWeightOffset => Family.Norm == NormKind.RmsNormPlusOne ? 1 : 0;

    /// <summary>output[r] = the embedding of tokens[r], times <see cref="EmbeddingScale"/> where the family scales it.</summary>
    internal void Embed(View<T> output, View<int> tokens)
    {
        Ops.GatherRows(output, tokens, Weight(Layout.Embedding), Config.HiddenSize);
        if (Family.ScalesEmbedding) Ops.Scale(output, EmbeddingScale);
    }

    /// <summary>output = norm(input) per row of hidden_size; inverseScale (1/rms or 1/std) and, for a LayerNorm, mean are kept.</summary>
    internal void Normalize(View<T> output, View<T> inverseScale, View<T>? mean, View<T> input, NormParameters norm)
    {
        var eps = (float)Config.NormEps;
        if (Family.Norm == NormKind.LayerNorm)
            Ops.LayerNorm(output, mean!.Value, inverseScale, input, Weight(norm.Weight), Weight(norm.Bias!), Config.HiddenSize, eps);
        else Ops.RmsNorm(output, inverseScale, input, Weight(norm.Weight), Config.HiddenSize, eps, NormWeightOffset);
    }

    /// <summary>inputGrad += what flows back through <see cref="Normalize"/>; the norm's weight (and bias) gradients add too.</summary>
    private void NormalizeBackward(View<T> inputGrad, View<T> outputGrad, View<T> input, NormParameters norm, View<T> inverseScale, View<T>? mean)
    {
        if (Family.Norm == NormKind.LayerNorm)
            Ops.LayerNormBackward(inputGrad, Gradient(norm.Weight), Gradient(norm.Bias!), outputGrad, input, Weight(norm.Weight), mean!.Value, inverseScale,
                Config.HiddenSize);
        else Ops.RmsNormBackward(inputGrad, Gradient(norm.Weight), outputGrad, input, Weight(norm.Weight), inverseScale, Config.HiddenSize, NormWeightOffset);
    }

    /// <summary>output[rows, outDim] = input·Wᵀ (+ b where the layer has a bias).</summary>
    private void Project(View<T> output, View<T> input, LinearParameters linear, int rows, int inDim, int outDim)
    {
        Ops.MatMul(output, input, Weight(linear.Weight), rows, inDim, outDim);
        if (linear.Bias is { } bias) Ops.AddBias(output, Weight(bias), outDim);
    }

    /// <summary>inputGrad += outputGrad·W; the weight's (and bias's) gradients add what they receive.</summary>
    private void ProjectBackward(View<T> inputGrad, View<T> outputGrad, View<T> input, LinearParameters linear, int rows, int inDim, int outDim)
    {
        if (linear.Bias is { } bias) Ops.AddBiasBackward(Gradient(bias), outputGrad, outDim);
        Ops.MatMulBackward(inputGrad, Gradient(linear.Weight), outputGrad, input, Weight(linear.Weight), rows, inDim, outDim);
    }

    /// <summary>logits[rows, vocab] = hidden·lm_headᵀ (+ lm_head's bias): the head of the paths that keep whole logits.</summary>
    internal void ProjectToLogits(View<T> logits, View<T> hidden, int rows)
    {
        Ops.MatMul(logits, hidden, Weight(Layout.OutputProjection), rows, Config.HiddenSize, Config.VocabSize);
        if (Layout.OutputBias is { } bias) Ops.AddBias(logits, Weight(bias), Config.VocabSize);
    }

    /// <summary>
    /// One transformer block. Sequential (Llama, Mistral, Qwen2, Gemma): x → mid = x + o(attention(rope(q), rope(k), v))
    /// → output = mid + mlp(norm(mid)). Parallel (Phi): h = norm(x), output = x + o(attention(h)) + mlp(h). The MLP is
    /// down(act(gate)·up) or down(act(up)). Keys and values go to keyOut/valueOut; attention reads keyAll/valueAll, which
    /// differ only when decoding with a cache. A null output stops after the MLP's activation: a recomputation needs
    /// the activations, not the block's output again.
    /// </summary>
    internal void LayerForward(LayerParameters weights, LayerActivations<T> a, View<T> input, View<T>? output,
        (View<T> Write, View<T> Read) keys, (View<T> Write, View<T> Read) values, View<int> positions, View<int> lengths,
        AttentionShape shape, int rows, View<T> projectionScratch)
    {
        var ops = Ops;
        int hidden = Config.HiddenSize, ffn = Config.IntermediateSize;
        Normalize(a.AttentionNorm, a.AttentionInvRms, a.AttentionMean, input, weights.InputNorm);
        Project(a.Query, a.AttentionNorm, weights.Query, rows, hidden, Config.QueryWidth);
        Project(keys.Write, a.AttentionNorm, weights.Key, rows, hidden, Config.KvWidth);
        Project(values.Write, a.AttentionNorm, weights.Value, rows, hidden, Config.KvWidth);
        ops.Rope(a.Query, positions, RopeInverseFrequencies, Config.NumAttentionHeads, Config.HeadDim, Config.RotaryDim);
        ops.Rope(keys.Write, positions, RopeInverseFrequencies, Config.NumKeyValueHeads, Config.HeadDim, Config.RotaryDim);
        ops.Attention(a.AttentionOutput, a.AttentionLogSumExp, a.Query, keys.Read, values.Read, lengths, shape);
        Project(projectionScratch, a.AttentionOutput, weights.Output, rows, Config.QueryWidth, hidden);
        ops.Add(a.Mid, input, projectionScratch);
        // A parallel block has no second norm: a.MlpNorm is the attention's norm output.
        if (weights.PostAttentionNorm is { } mlpNorm) Normalize(a.MlpNorm, a.MlpInvRms, a.MlpMean, a.Mid, mlpNorm);
        Project(a.Up, a.MlpNorm, weights.Up, rows, hidden, ffn);
        if (weights.Gate is { } gate)
        {
            Project(a.Gate!.Value, a.MlpNorm, gate, rows, hidden, ffn);
            ops.GatedActivation(a.MlpHidden, a.Gate.Value, a.Up, Family.Activation);
        }
        else ops.Activate(a.MlpHidden, a.Up, Family.Activation);
        if (output is not { } blockOutput) return;
        Project(projectionScratch, a.MlpHidden, weights.Down, rows, ffn, hidden);
        ops.Add(blockOutput, a.Mid, projectionScratch);
    }

    /// <summary>
    /// Backward through one block. On entry ResidualGrad holds d(output); on exit d(input): the residual path passes the
    /// gradient through unchanged and each norm backward adds its part. In a parallel block both branches' gradients
    /// with respect to the shared norm output are summed in NormGrad before its one norm backward.
    /// </summary>
    private void LayerBackward(LayerParameters weights, LayerActivations<T> a, View<T> input, Activations<T> g, BatchIndices indices, int rows)
    {
        var ops = Ops;
        int hidden = Config.HiddenSize, ffn = Config.IntermediateSize;

        ops.Zero(g.MlpHiddenGrad);
        ProjectBackward(g.MlpHiddenGrad, g.ResidualGrad, a.MlpHidden, weights.Down, rows, ffn, hidden);
        ops.Zero(g.UpGrad);
        if (weights.Gate is not null)
        {
            ops.Zero(g.GateGrad!.Value);
            ops.GatedActivationBackward(g.GateGrad.Value, g.UpGrad, g.MlpHiddenGrad, a.Gate!.Value, a.Up, Family.Activation);
        }
        else ops.ActivateBackward(g.UpGrad, g.MlpHiddenGrad, a.Up, Family.Activation);
        ops.Zero(g.NormGrad);
        if (weights.Gate is { } gate) ProjectBackward(g.NormGrad, g.GateGrad!.Value, a.MlpNorm, gate, rows, hidden, ffn);
        ProjectBackward(g.NormGrad, g.UpGrad, a.MlpNorm, weights.Up, rows, hidden, ffn);
        if (weights.PostAttentionNorm is { } mlpNorm)
        {
            NormalizeBackward(g.ResidualGrad, g.NormGrad, a.Mid, mlpNorm, a.MlpInvRms, a.MlpMean);
            ops.Zero(g.NormGrad);
        }

        ops.Zero(g.AttentionOutputGrad);
        ProjectBackward(g.AttentionOutputGrad, g.ResidualGrad, a.AttentionOutput, weights.Output, rows, Config.QueryWidth, hidden);
        ops.Zero(g.QueryGrad);
        ops.Zero(g.KeyGrad);
        ops.Zero(g.ValueGrad);
        ops.AttentionBackward(g.QueryGrad, g.KeyGrad, g.ValueGrad, g.AttentionOutputGrad, a.Query, a.Key, a.Value, a.AttentionOutput,
            a.AttentionLogSumExp, indices.Lengths, g.Attention);
        ops.RopeBackward(g.QueryGrad, indices.Positions, RopeInverseFrequencies, Config.NumAttentionHeads, Config.HeadDim, Config.RotaryDim);
        ops.RopeBackward(g.KeyGrad, indices.Positions, RopeInverseFrequencies, Config.NumKeyValueHeads, Config.HeadDim, Config.RotaryDim);
        // The biases were added before the rotation: their gradients are the rotated-back ones.
        ProjectBackward(g.NormGrad, g.QueryGrad, a.AttentionNorm, weights.Query, rows, hidden, Config.QueryWidth);
        ProjectBackward(g.NormGrad, g.KeyGrad, a.AttentionNorm, weights.Key, rows, hidden, Config.KvWidth);
        ProjectBackward(g.NormGrad, g.ValueGrad, a.AttentionNorm, weights.Value, rows, hidden, Config.KvWidth);
        NormalizeBackward(g.ResidualGrad, g.NormGrad, input, weights.InputNorm, a.AttentionInvRms, a.AttentionMean);
    }
}
