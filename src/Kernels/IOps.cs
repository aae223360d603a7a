using System.Numerics;

namespace SimNpo.Kernels;

/// <summary>
/// Shape of one attention call. Queries of sequence b sit at absolute positions QueryStart .. QueryStart+QueryLength-1
/// and see keys 0..position (causal) that are also below the sequence's length (right padding). Training uses
/// QueryStart 0 and QueryLength = KeyLength; decoding with a KV cache uses one query at the current position.
/// A positive Window (Mistral's sliding_window) keeps only the last Window of those keys: the query at position p sees
/// keys j with p − Window &lt; j ≤ p, as transformers' sliding-window masks define it; 0 means no window.
/// </summary>
public readonly record struct AttentionShape(int Batch, int QueryLength, int KeyLength, int Heads, int KvHeads, int HeadDim, int QueryStart = 0,
    int Window = 0)
{
    public int QueryWidth => Heads * HeadDim;
    public int KvWidth => KvHeads * HeadDim;
}

/// <summary>
/// Every op the Llama graph needs, forward and backward. Layout is row-major; a "row" is one token position.
/// Backward ops ADD into their gradient outputs (never overwrite), so a residual stream's gradient and the gradients
/// of weights used twice (tied embeddings) accumulate without extra copies; the caller zeroes them first.
/// Implemented by the plain CPU reference, the fast CPU backend and the ILGPU backend, so the graph is written once.
/// </summary>
public interface IOps<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    string Name { get; }

    /// <summary>
    /// A zeroed buffer of <paramref name="length"/> elements stored as <paramref name="storage"/> says; a backend that cannot
    /// store that type throws <see cref="NotSupportedException"/> (check <see cref="Supports"/> first).
    /// </summary>
    DeviceBuffer<T> Allocate(int length, Storage storage = Storage.Native);

    /// <summary>Whether this backend stores and computes on buffers of that storage (the reference: only its own type).</summary>
    bool Supports(Storage storage);

    DeviceBuffer<int> AllocateInts(int length);

    /// <summary>
    /// Waits until every op queued so far has finished. Device backends launch kernels asynchronously, so a timer
    /// must synchronize before reading the clock; the CPU backends run each op to completion and do nothing here.
    /// </summary>
    void Synchronize();

    void Zero(View<T> x);

    void Copy(View<T> destination, View<T> source);

    /// <summary>output[r, :] = table[indices[r], :]: the token embedding, the scored rows, a per-sequence value onto its tokens.</summary>
    void GatherRows(View<T> output, View<int> indices, View<T> table, int dim);

    /// <summary>table[indices[r], :] += rows[r, :], in row order: the gather's backward, and the per-sequence sums.</summary>
    void ScatterAddRows(View<T> table, View<int> indices, View<T> rows, int dim);

    /// <summary>
    /// output = input / rms(input) · (weightOffset + weight) per row; invRms[r] = 1 / sqrt(mean(input[r]²) + eps) is kept for
    /// backward. weightOffset is 0 for Llama, 1 for Gemma (whose checkpoints store the gain minus one).
    /// </summary>
    void RmsNorm(View<T> output, View<T> invRms, View<T> input, View<T> weight, int dim, float eps, float weightOffset);

    /// <summary>inputGrad += …, weightGrad += Σ_r outputGrad·input·invRms (the same whatever the offset).</summary>
    void RmsNormBackward(View<T> inputGrad, View<T> weightGrad, View<T> outputGrad, View<T> input, View<T> weight, View<T> invRms, int dim,
        float weightOffset);

    /// <summary>output = (input − mean)/sqrt(var + eps) · weight + bias per row (population variance); mean[r], invStd[r] kept (statistics, T).</summary>
    void LayerNorm(View<T> output, View<T> mean, View<T> invStd, View<T> input, View<T> weight, View<T> bias, int dim, float eps);

    /// <summary>inputGrad += …, weightGrad += Σ_r outputGrad·x̂, biasGrad += Σ_r outputGrad (rows summed in order).</summary>
    void LayerNormBackward(View<T> inputGrad, View<T> weightGrad, View<T> biasGrad, View<T> outputGrad, View<T> input, View<T> weight,
        View<T> mean, View<T> invStd, int dim);

    /// <summary>x[r, :] += bias (a linear layer's bias, applied after its MatMul, in place).</summary>
    void AddBias(View<T> x, View<T> bias, int dim);

    /// <summary>biasGrad += Σ_r outputGrad[r, :].</summary>
    void AddBiasBackward(View<T> biasGrad, View<T> outputGrad, int dim);

    /// <summary>output[rows, outDim] = input[rows, inDim] · weightᵀ, weight stored [outDim, inDim] as Hugging Face does.</summary>
    void MatMul(View<T> output, View<T> input, View<T> weight, int rows, int inDim, int outDim);

    /// <summary>inputGrad += outputGrad · weight; weightGrad += outputGradᵀ · input.</summary>
    void MatMulBackward(View<T> inputGrad, View<T> weightGrad, View<T> outputGrad, View<T> input, View<T> weight, int rows, int inDim, int outDim);

    /// <summary>
    /// Rotates x[rows, heads, headDim] in place, Hugging Face layout: within each head the first rotaryDim elements (even,
    /// at most headDim; headDim for Llama, less for Phi's partial rotary) rotate, element i paired with i + rotaryDim/2 at
    /// angle positions[r] · inverseFrequencies[i] (rotaryDim/2 of them); the rest of the head passes unchanged.
    /// </summary>
    void Rope(View<T> x, View<int> positions, View<T> inverseFrequencies, int heads, int headDim, int rotaryDim);

    /// <summary>The rotation is orthogonal: its backward rotates the gradient in place by the opposite angle.</summary>
    void RopeBackward(View<T> xGrad, View<int> positions, View<T> inverseFrequencies, int heads, int headDim, int rotaryDim);

    /// <summary>
    /// Causal grouped-query attention with scale 1/sqrt(headDim), within the shape's window if it has one. q [batch, queryLength, heads·headDim], k and v
    /// [batch, keyLength, kvHeads·headDim], output like q, logSumExp [batch, heads, queryLength] kept for backward.
    /// Query rows at or past a sequence's length get output 0.
    /// </summary>
    void Attention(View<T> output, View<T> logSumExp, View<T> q, View<T> k, View<T> v, View<int> lengths, AttentionShape shape);

    void AttentionBackward(View<T> qGrad, View<T> kGrad, View<T> vGrad, View<T> outputGrad,
        View<T> q, View<T> k, View<T> v, View<T> output, View<T> logSumExp, View<int> lengths, AttentionShape shape);

    /// <summary>output = act(gate) · up, elementwise: SwiGLU with <see cref="Activation.Silu"/>, GeGLU with <see cref="Activation.GeluTanh"/>.</summary>
    void GatedActivation(View<T> output, View<T> gate, View<T> up, Activation activation);

    /// <summary>gateGrad += outputGrad · up · act'(gate); upGrad += outputGrad · act(gate).</summary>
    void GatedActivationBackward(View<T> gateGrad, View<T> upGrad, View<T> outputGrad, View<T> gate, View<T> up, Activation activation);

    /// <summary>output = act(input), elementwise (Phi's MLP: fc1 → gelu_new → fc2).</summary>
    void Activate(View<T> output, View<T> input, Activation activation);

    /// <summary>inputGrad += outputGrad · act'(input).</summary>
    void ActivateBackward(View<T> inputGrad, View<T> outputGrad, View<T> input, Activation activation);

    /// <summary>output = a + b (the residual connection; its backward is the identity on both inputs).</summary>
    void Add(View<T> output, View<T> a, View<T> b);

    /// <summary>
    /// logProb[r] = log softmax(logits[r, :])[labels[r]], logSumExp[r] kept for backward; rows with label &lt; 0 give 0.
    /// The reference sums in float64; device kernels per thread in float32, combined across the group.
    /// </summary>
    void LogSoftmaxAtLabels(View<T> logProb, View<T> logSumExp, View<T> logits, View<int> labels, int vocab);

    /// <summary>
    /// logitsGrad[r, :] = logProbGrad[r] · (onehot(labels[r]) − softmax(logits[r, :])), written over logits in place
    /// (logitsGrad may be the logits view itself: the softmax is never stored). Rows with label &lt; 0 get 0.
    /// This one op overwrites instead of adding: the logits are consumed here.
    /// </summary>
    void LogSoftmaxAtLabelsBackward(View<T> logitsGrad, View<T> logits, View<T> logSumExp, View<int> labels, View<T> logProbGrad, int vocab);

    /// <summary>output[r, :] = log softmax(logits[r, :]), output may be the logits view (in place).</summary>
    void LogSoftmax(View<T> output, View<T> logits, int vocab);

    /// <summary>
    /// kl[r] = KL(exp(targetLogProbs[r, :]) ‖ softmax(logits[r, :])) = Σ_v exp(t_v)·(t_v − (logits_v − logSumExp[r])),
    /// logSumExp[r] kept for backward. The reference sums in float64; device kernels per thread in float32, combined across the group.
    /// </summary>
    void KlDivergence(View<T> kl, View<T> logSumExp, View<T> logits, View<T> targetLogProbs, int vocab);

    /// <summary>
    /// logitsGrad[r, :] = rowWeight[r] · (softmax(logits[r, :]) − exp(targetLogProbs[r, :])), overwriting like
    /// <see cref="LogSoftmaxAtLabelsBackward"/>: logitsGrad may be the logits view itself.
    /// </summary>
    void KlDivergenceBackward(View<T> logitsGrad, View<T> logits, View<T> logSumExp, View<T> targetLogProbs, View<T> rowWeight, int vocab);

    /// <summary>
    /// The output projection fused with <see cref="LogSoftmaxAtLabels"/> in vocabulary chunks: for hidden [rows, dim] and
    /// weight [vocab, dim], logProb[r] and logSumExp[r] as LogSoftmaxAtLabels gives them for hidden·weightᵀ, with only one
    /// chunk of logits alive at a time in logitsScratch (<see cref="ChunkedOutputLoss.ScratchLength"/> elements), so the
    /// [rows, vocab] logits are never stored. With a bias [vocab] (Phi's lm_head) the logits are hidden·weightᵀ + bias;
    /// null is no bias.
    /// </summary>
    void ChunkedOutputLoss(View<T> logProb, View<T> logSumExp, View<T> logitsScratch, View<T> hidden, View<T> weight, View<T>? bias,
        View<int> labels, int rows, int dim, int vocab, int chunk);

    /// <summary>
    /// Its backward, recomputing each chunk's logits: hiddenGrad += dLogits·weight, weightGrad += dLogitsᵀ·hidden with
    /// dLogits = logProbGrad[r]·(onehot − softmax), and with a bias biasGrad += Σ_r dLogits[r] (both null, or both given).
    /// </summary>
    void ChunkedOutputLossBackward(View<T> hiddenGrad, View<T> weightGrad, View<T> logitsScratch, View<T> hidden, View<T> weight, View<T>? bias,
        View<T>? biasGrad, View<T> logSumExp, View<int> labels, View<T> logProbGrad, int rows, int dim, int vocab, int chunk);

    /// <summary>Σ x² (global gradient norms), returned in float64.</summary>
    double SumOfSquares(View<T> x);

    /// <summary>
    /// x *= factor, the factor rounded to the compute type (float64 keeps it whole: Gemma's √hidden embedding scale is
    /// exact in a float64 model, as transformers casts it to the hidden dtype).
    /// </summary>
    void Scale(View<T> x, double factor);

    /// <summary>
    /// One AdamW step with decoupled weight decay: p -= lr·(m̂ / (sqrt(v̂) + eps) + weightDecay·p), step counted from 1.
    /// Parameters, gradients and moments may be stored narrower than T (all arithmetic stays in T). With masterWeights
    /// (stored as T, beside narrower parameters) the step updates the master and writes its rounding to the parameters.
    /// </summary>
    void AdamW(View<T> parameters, View<T> gradients, View<T> firstMoment, View<T> secondMoment, AdamWStep step, View<T>? masterWeights = null);
}

/// <summary>Hyperparameters in float64 so a float64 run reproduces PyTorch exactly; kernels narrow them as they need.</summary>
public readonly record struct AdamWStep(double LearningRate, double Beta1, double Beta2, double Epsilon, double WeightDecay, int Step);
