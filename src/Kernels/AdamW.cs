using System.Numerics;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Floats = ILGPU.ArrayView<float>;

namespace SimNpo.Kernels;

/// <summary>
/// One step of AdamW exactly as torch.optim.AdamW (decoupled weight decay, bias-corrected moments, step counted from 1):
/// p −= lr·wd·p; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; p −= lr · (m / (1−β1ᵗ)) / (sqrt(v / (1−β2ᵗ)) + eps).
/// The fast kernels also take bfloat16 operands (widened on load, rounded on store) and float32 master weights: when
/// the parameters are bfloat16 an update of lr 1e-5 is far below their 2^-8 spacing and would round away, so the step
/// runs on the master and the parameters receive its rounding in the same pass.
/// </summary>
public static class AdamW
{
    /// <summary>The CPU reference: the specification every device kernel of this op is held to. Each element in float64.</summary>
    public static class Reference
    {
        public static void Step<T>(Span<T> parameters, ReadOnlySpan<T> gradients, Span<T> firstMoment, Span<T> secondMoment, AdamWStep step)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            ShapeCheck.Length(gradients.Length, parameters.Length, nameof(gradients));
            ShapeCheck.Length(firstMoment.Length, parameters.Length, nameof(firstMoment));
            ShapeCheck.Length(secondMoment.Length, parameters.Length, nameof(secondMoment));
            if (step.Step < 1) throw new ArgumentOutOfRangeException(nameof(step), $"AdamW steps count from 1, got {step.Step}");
            double lr = step.LearningRate, beta1 = step.Beta1, beta2 = step.Beta2, eps = step.Epsilon;
            var decay = 1 - lr * step.WeightDecay;
            var firstCorrection = 1 - Math.Pow(beta1, step.Step);
            var secondCorrection = 1 - Math.Pow(beta2, step.Step);
            for (var i = 0; i < parameters.Length; i++)
            {
                var g = double.CreateTruncating(gradients[i]);
                var m = beta1 * double.CreateTruncating(firstMoment[i]) + (1 - beta1) * g;
                var v = beta2 * double.CreateTruncating(secondMoment[i]) + (1 - beta2) * g * g;
                var p = double.CreateTruncating(parameters[i]) * decay;
                parameters[i] = T.CreateTruncating(p - lr * (m / firstCorrection) / (Math.Sqrt(v / secondCorrection) + eps));
                firstMoment[i] = T.CreateTruncating(m);
                secondMoment[i] = T.CreateTruncating(v);
            }
        }
    }

    /// <summary>
    /// The checks every fast kernel of this op makes: equal lengths; master weights, when given, stored in the compute type
    /// beside narrower parameters (the case they exist for: the parameters are then written as the master's rounding).
    /// </summary>
    internal static void CheckOperands<T>(View<T> parameters, View<T> gradients, View<T> firstMoment, View<T> secondMoment, View<T>? masterWeights)
        where T : unmanaged
    {
        ShapeCheck.Length(gradients.Length, parameters.Length, nameof(gradients));
        ShapeCheck.Length(firstMoment.Length, parameters.Length, nameof(firstMoment));
        ShapeCheck.Length(secondMoment.Length, parameters.Length, nameof(secondMoment));
        if (masterWeights is not { } master) return;
        ShapeCheck.Length(master.Length, parameters.Length, nameof(masterWeights));
        if (master.Storage != Storage.Native)
            throw new ArgumentException($"AdamW master weights must be stored in the compute type, not {master.Storage}", nameof(masterWeights));
        if (parameters.Storage == Storage.Native)
            throw new ArgumentException("AdamW master weights are for parameters stored narrower than the compute type; these are native",
                nameof(masterWeights));
    }

    /// <summary>
    /// A step's constants for the float32 kernels, formed in float64 and narrowed once (1 − β2 taken in float32 would be off
    /// by 5e-5, relative): p = p·Decay − StepSize · m / (sqrt(v)·SecondScale + Epsilon) is the reference's update with the
    /// bias corrections folded in.
    /// </summary>
    public readonly record struct Float32Step(float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2, float Decay, float StepSize,
        float SecondScale, float Epsilon)
    {
        public static Float32Step From(AdamWStep step)
        {
            if (step.Step < 1) throw new ArgumentOutOfRangeException(nameof(step), $"AdamW steps count from 1, got {step.Step}");
            var firstCorrection = 1 - Math.Pow(step.Beta1, step.Step);
            var secondCorrection = 1 - Math.Pow(step.Beta2, step.Step);
            return new Float32Step((float)step.Beta1, (float)(1 - step.Beta1), (float)step.Beta2, (float)(1 - step.Beta2),
                (float)(1 - step.LearningRate * step.WeightDecay), (float)(step.LearningRate / firstCorrection), (float)(1 / Math.Sqrt(secondCorrection)),
                (float)step.Epsilon);
        }
    }

    /// <summary>
    /// The device kernel: one thread per parameter, reading p (or its master), g, m, v once and writing them once, in float32
    /// with the <see cref="Float32Step"/> constants. Each operand is float32 or bfloat16 words (ILGPU has no bfloat16 type):
    /// the kernel takes each as an <see cref="Operand"/> that says which one holds it, so one kernel serves every mix.
    /// </summary>
    public static class Ilgpu
    {
        public sealed class Launcher(Accelerator accelerator)
        {
            private readonly Action<Index1D, Operand, Operand, Operand, Operand, Floats, int, Float32Step> _step =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, Operand, Operand, Operand, Operand, Floats, int, Float32Step>(StepKernel);

            /// <summary>Each operand as its float32 view or its bfloat16 words (<see cref="Operand"/>), master weights float32 or none.</summary>
            public void Step(Operand parameters, Operand gradients, Operand firstMoment, Operand secondMoment, Floats? masterWeights, int length,
                AdamWStep step) =>
                _step(length, parameters, gradients, firstMoment, secondMoment, masterWeights ?? default, masterWeights is null ? 0 : 1,
                    Float32Step.From(step));
        }

        /// <summary>A float32 operand of the kernel: its float view, or (when <see cref="IsWords"/>) its bfloat16 words.</summary>
        public readonly struct Operand(Floats floats, ArrayView<ushort> words, int isWords)
        {
            public readonly Floats Floats = floats;
            public readonly ArrayView<ushort> Words = words;
            public readonly int IsWords = isWords;

            public static Operand OfFloats(Floats floats) => new(floats, default, 0);

            public static Operand OfWords(ArrayView<ushort> words) => new(default, words, 1);

            public float Read(Index1D i) => IsWords != 0 ? BFloat16.ToFloat(Words[i]) : Floats[i];

            /// <summary>Stores a float32 value, rounded to nearest even when the operand is bfloat16.</summary>
            public void Write(Index1D i, float value)
            {
                if (IsWords != 0) Words[i] = BFloat16.FromFloat(value);
                else Floats[i] = value;
            }
        }

        /// <summary>p = p·decay − stepSize · m / (sqrt(v)·secondScale + eps), on the master when there is one, whose rounding becomes p.</summary>
        private static void StepKernel(Index1D i, Operand parameters, Operand gradients, Operand firstMoment, Operand secondMoment, Floats master,
            int hasMaster,
            Float32Step c)
        {
            var g = gradients.Read(i);
            var m = c.Beta1 * firstMoment.Read(i) + c.OneMinusBeta1 * g;
            var v = c.Beta2 * secondMoment.Read(i) + c.OneMinusBeta2 * g * g;
            var p = hasMaster != 0 ? master[i] : parameters.Read(i);
            p = p * c.Decay - c.StepSize * m / (XMath.Sqrt(v) * c.SecondScale + c.Epsilon);
            if (hasMaster != 0) master[i] = p;
            parameters.Write(i, p);
            firstMoment.Write(i, m);
            secondMoment.Write(i, v);
        }
    }
}
