using ILGPU;
using ILGPU.Runtime;
using SimNpo.Kernels.Ilgpu;

namespace SimNpo.Kernels;

/// <summary>
/// Copy between storages: float32 to bfloat16 rounds to nearest even, bfloat16 to float32 widens exactly, and a copy
/// within one storage moves the stored words unchanged. The CPU reference is <see cref="BFloat16.Narrow"/> and
/// <see cref="BFloat16.Widen"/>, which the host buffers' uploads and downloads use.
/// </summary>
public static class Conversion
{
    /// <summary>
    /// The device copies: one thread per element when the storages differ, a device memory copy otherwise. The one place
    /// the widening and narrowing kernels are compiled; the bfloat16 ops that work on widened float32 copies use them too.
    /// </summary>
    public static class Ilgpu
    {
        public sealed class Launcher(Accelerator accelerator)
        {
            private readonly Action<Index1D, ArrayView<ushort>, ArrayView<float>> _narrow =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<ushort>, ArrayView<float>>(
                    ConvertKernel<ushort, BFloat16Words, float, Float32Words>);

            private readonly Action<Index1D, ArrayView<float>, ArrayView<ushort>> _widen =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<ushort>>(
                    ConvertKernel<float, Float32Words, ushort, BFloat16Words>);

            /// <summary>destination = source, converted to the destination's storage.</summary>
            public void Copy(View<float> destination, View<float> source)
            {
                ShapeCheck.Length(source.Length, destination.Length, nameof(source));
                switch (destination.Storage, source.Storage)
                {
                    case (Storage.Native, Storage.Native):
                        destination.ArrayView().CopyFrom(source.ArrayView());
                        break;
                    case (Storage.BFloat16, Storage.BFloat16):
                        destination.Words().CopyFrom(source.Words());
                        break;
                    case (Storage.BFloat16, Storage.Native):
                        Narrow(destination.Words(), source.ArrayView());
                        break;
                    case (Storage.Native, Storage.BFloat16):
                        Widen(destination.ArrayView(), source.Words());
                        break;
                    default:
                        throw new NotSupportedException($"Copy: no conversion from {source.Storage} to {destination.Storage} storage on ILGPU");
                }
            }

            /// <summary>words = floats rounded to bfloat16 (nearest even), element by element.</summary>
            public void Narrow(ArrayView<ushort> words, ArrayView<float> floats)
            {
                ShapeCheck.Length((int)floats.Length, (int)words.Length, nameof(floats));
                if (words.Length > 0) _narrow((int)words.Length, words, floats);
            }

            /// <summary>floats = words widened exactly, element by element.</summary>
            public void Widen(ArrayView<float> floats, ArrayView<ushort> words)
            {
                ShapeCheck.Length((int)words.Length, (int)floats.Length, nameof(words));
                if (floats.Length > 0) _widen((int)floats.Length, floats, words);
            }
        }

        private static void ConvertKernel<TToWord, TTo, TFromWord, TFrom>(Index1D i, ArrayView<TToWord> to, ArrayView<TFromWord> from)
            where TToWord : unmanaged
            where TTo : struct, IStoredFloats<TToWord>
            where TFromWord : unmanaged
            where TFrom : struct, IStoredFloats<TFromWord> =>
            default(TTo).Store(to, i.X, default(TFrom).Load(from, i.X));
    }
}
