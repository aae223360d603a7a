namespace SimNpo.Kernels;

/// <summary>
/// The one check by which the fast CPU and ILGPU backends choose an op's kernels: an op's bulk views (weights, activations,
/// gradients) share one storage, float32 or bfloat16 words, and its statistics (log-sum-exps, norm inverses, log-probs,
/// weights, scratch) are float32 always. Which of an op's views is which is the op's contract, the same on every backend.
/// </summary>
public static class BulkStorage
{
    /// <summary>
    /// Whether an op's bulk views are bfloat16 (else they are all float32), and a clear error, named by
    /// <paramref name="op"/>, where the bulk views mix storages or a statistic is not float32.
    /// </summary>
    public static bool IsBFloat16(string op, ReadOnlySpan<View<float>> bulk, ReadOnlySpan<View<float>> statistics = default)
    {
        var storage = bulk[0].Storage;
        foreach (var view in bulk)
            if (view.Storage != storage)
                throw new ArgumentException($"{op}: its bulk views mix {storage} and {view.Storage} storage; one call reads and writes one storage");
        foreach (var view in statistics)
            if (view.Storage != Storage.Native)
                throw new ArgumentException($"{op}: its statistics (log-sum-exps, norms, log-probs, weights, scratch) are float32, not {view.Storage}");
        return storage == Storage.BFloat16;
    }

    /// <summary>The optional views that are given (a head's bias and its gradient), for an op's list of bulk views.</summary>
    public static View<float>[] Present(params View<float>?[] optional) => [.. optional.OfType<View<float>>()];
}
