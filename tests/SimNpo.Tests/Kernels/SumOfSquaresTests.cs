using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>Σ x² (the gradient norm's square) on every backend and storage against the float64 sum.</summary>
public class SumOfSquaresTests
{
    private static IEnumerable<TestCaseData> Cases() =>
        from backend in OpBackend.All
        from storage in backend == OpBackend.Reference ? [Storage.Native] : new[] { Storage.Native, Storage.BFloat16 }
        // One partial warp; a partial group; several groups on both devices, or seven of the fast path's ranges.
        from length in backend.IsSimulator ? new[] { 1, 37, 20_000 } : [1, 37, 100_000]
        select new TestCaseData(backend, storage, length).SetArgDisplayNames(backend.ToString(), storage.ToString(), length.ToString());

    /// <summary>
    /// Squares of float32 or bfloat16 numbers are exact in float64. The reference and the fast path sum them in float64 (in
    /// different orders): n·2⁻⁵³ relative, under 1e-10 at these lengths. A simulated device's thread adds at most 64 positive
    /// terms in float32, within 64·2⁻²⁴ ≈ 3.8e-6 of exact, relative, and the rest is float64: 4e-6 relative.
    /// </summary>
    [TestCaseSource(nameof(Cases))]
    public void MatchesTheFloat64Sum(OpBackend backend, Storage storage, int length)
    {
        var values = OpData.Random(new Random(length), length, scale: 3);
        if (storage == Storage.BFloat16) values = OpData.RoundToBFloat16(values);
        var expected = values.Sum(x => x * x);
        var ops = backend.Ops;
        Assert.That(ops.SumOfSquares(ops.Upload(storage, values)), Is.EqualTo(expected).Within((backend.IsSimulator ? 4e-6 : 1e-10) * expected));
    }

    [TestCaseSource(typeof(OpBackend), nameof(OpBackend.All))]
    public void SumsOnlyItsView(OpBackend backend) =>
        Assert.That(backend.Ops.SumOfSquares(backend.Ops.Upload(100, 1, 2, 100).Slice(1, 2)), Is.EqualTo(5));
}
