namespace SimNpo.Unlearn.Performance;

/// <summary>The buffers a suite's rounds own, disposed with them.</summary>
internal sealed class OwnedBuffers(IReadOnlyList<IDisposable> buffers) : IDisposable
{
    public void Dispose()
    {
        foreach (var buffer in buffers) buffer.Dispose();
    }
}
