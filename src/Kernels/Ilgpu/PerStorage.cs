namespace SimNpo.Kernels.Ilgpu;

/// <summary>
/// One op's launcher for each bulk storage, each compiled the first time a call needs it (a float32 run never compiles the
/// bfloat16 kernels), disposed with the ops.
/// </summary>
internal sealed class PerStorage<TFloat32, TBFloat16>(Func<TFloat32> float32, Func<TBFloat16> bfloat16) : IDisposable
{
    private readonly Lazy<TFloat32> _float32 = new(float32);
    private readonly Lazy<TBFloat16> _bfloat16 = new(bfloat16);

    public TFloat32 Float32 => _float32.Value;

    public TBFloat16 BFloat16 => _bfloat16.Value;

    public void Dispose()
    {
        if (_float32 is { IsValueCreated: true, Value: IDisposable f }) f.Dispose();
        if (_bfloat16 is { IsValueCreated: true, Value: IDisposable b }) b.Dispose();
    }
}
