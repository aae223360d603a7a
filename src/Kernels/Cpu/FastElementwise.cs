namespace SimNpo.Kernels.Cpu;

/// <summary>
/// The elementwise ops (zeroing, copies, the residual add, scaling) over fixed ranges in parallel, each range one
/// vectorised loop: the same values as <see cref="Residual.Reference"/> and <see cref="Scale.Reference"/>, rounded once to
/// the storage. Copies convert between storages (widening exactly, or rounding to nearest even).
/// </summary>
internal static class FastElementwise
{
    /// <summary>Zero words are +0 in every storage.</summary>
    public static void Zero<TWord>(Memory<TWord> x) =>
        Partitions.For(x.Length, Partitions.Elements, part => part.Of(x).Clear());

    public static void Copy(View<float> destination, View<float> source)
    {
        ShapeCheck.Length(source.Length, destination.Length, nameof(source));
        switch (source.Storage, destination.Storage)
        {
            case (Storage.Native, Storage.Native): Convert<float, float>(source.Memory, destination.Memory, (from, to) => from.CopyTo(to)); break;
            case (Storage.BFloat16, Storage.BFloat16): Convert<ushort, ushort>(source.Bits(), destination.Bits(), (from, to) => from.CopyTo(to)); break;
            case (Storage.BFloat16, Storage.Native): Convert<ushort, float>(source.Bits(), destination.Memory, BFloat16.Widen); break;
            case (Storage.Native, Storage.BFloat16): Convert<float, ushort>(source.Memory, destination.Bits(), BFloat16.Narrow); break;
            default: throw new ArgumentException($"Copy: the fast CPU path copies no {source.Storage} to {destination.Storage}");
        }
    }

    private delegate void Conversion<TFrom, TTo>(ReadOnlySpan<TFrom> source, Span<TTo> destination);

    private static void Convert<TFrom, TTo>(ReadOnlyMemory<TFrom> source, Memory<TTo> destination, Conversion<TFrom, TTo> convert) =>
        Partitions.For(source.Length, Partitions.Elements, part => convert(part.Of(source), part.Of(destination)));

    /// <summary>output = a + b.</summary>
    public static void Add<TWord, TFormat>(Memory<TWord> output, ReadOnlyMemory<TWord> a, ReadOnlyMemory<TWord> b)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        ShapeCheck.Length(a.Length, output.Length, nameof(a));
        ShapeCheck.Length(b.Length, output.Length, nameof(b));
        Partitions.For(output.Length, Partitions.Elements, part => Vectors.Add<TWord, TFormat>(part.Of(output), part.Of(a), part.Of(b)));
    }

    /// <summary>x *= factor.</summary>
    public static void Scale<TWord, TFormat>(Memory<TWord> x, float factor) where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord> =>
        Partitions.For(x.Length, Partitions.Elements, part =>
        {
            var range = part.Of(x);
            for (var i = 0; i < range.Length; i += Vectors.Width) TFormat.Store(TFormat.Load(range, i) * factor, range, i);
        });
}
