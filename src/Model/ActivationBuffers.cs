using System.Numerics;
using SimNpo.Kernels;

namespace SimNpo.Model;

/// <summary>
/// The two buffers a set of activations is carved from (<see cref="ActivationCarving{T}"/>): bulk tensors in the model's
/// bulk storage, statistics in <typeparamref name="T"/>. They grow to what a carving needs and never shrink, so a model
/// whose batch shapes change (forget and retain batches, each with its own scored rows) carves them anew without a
/// reallocation per micro-batch. Shared by the training step's activations and the generator's step buffers.
/// </summary>
internal sealed class ActivationBuffers<T>(IOps<T> ops, Storage bulk) : IDisposable where T : unmanaged, IFloatingPointIeee754<T>
{
    private DeviceBuffer<T>? _bulk;
    private DeviceBuffer<T>? _statistics;

    /// <summary>
    /// Runs <paramref name="carve"/> once counting, grows the buffers to that size (after <paramref name="check"/>, which may
    /// refuse it), and runs it again on the buffers from their start: the carving code is written once, and sized by itself.
    /// </summary>
    public TViews Carve<TViews>(Func<ActivationCarving<T>, TViews> carve, Action<ActivationSize>? check = null)
    {
        var counter = new CountingCarving<T>();
        carve(counter.Carving);
        check?.Invoke(counter.Size);
        Grow(ref _bulk, counter.Size.BulkElements, bulk);
        Grow(ref _statistics, counter.Size.StatisticElements, Storage.Native);
        return carve(new ActivationCarving<T>(new ViewCarver<T>(_bulk!).Take, new ViewCarver<T>(_statistics!).Take));
    }

    /// <summary>Whether the view lives in these buffers (and so is overwritten by the next carving's writes).</summary>
    public bool Holds(View<T> view) => view.Buffer == _bulk || view.Buffer == _statistics;

    private void Grow(ref DeviceBuffer<T>? buffer, long length, Storage storage)
    {
        if (buffer is not null && buffer.Length >= length) return;
        buffer?.Dispose();
        buffer = null; // a failed allocation must not leave a disposed buffer behind
        buffer = ops.Allocate(checked((int)length), storage);
    }

    public void Dispose()
    {
        _bulk?.Dispose();
        _statistics?.Dispose();
    }
}
