using System.Numerics;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Floats = ILGPU.ArrayView<float>;

namespace SimNpo.Kernels;

/// <summary>
/// One step of AdamW exactly as torch.optim.AdamW (decoupled weight decay, bias-corrected moments, step counted from 1):
/// p −= lr·wd·p; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; p −= lr · (m / (1−β1ᵗ)) / (sqrt(v / (1−β2ᵗ)) + eps).
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
    /// A step's constants for the float32 kernels, formed in float64 and narrowed once (1 − β2 taken in float32 would be off
    /// by 5e-5, relative): p = p·Decay − StepSize · m / (sqrt(v)·SecondScale + Epsilon) is the reference's update with the
    /// bias corrections folded in.
    /// </summary>
    internal readonly record struct Float32Step(float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2, float Decay, float StepSize,
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
    /// The device kernel: one thread per parameter, reading p, g, m, v once and writing p, m, v once, in float32 with the
    /// <see cref="Float32Step"/> constants.
    /// </summary>
    public static class Ilgpu
    {
        public sealed class Launcher(Accelerator accelerator)
        {
            private readonly Action<Index1D, Floats, Floats, Floats, Floats, float, float, float, float, float, float, float, float> _step =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, Floats, Floats, Floats, Floats, float, float, float, float, float, float, float, float>(StepKernel);

            public void Step(Floats parameters, Floats gradients, Floats firstMoment, Floats secondMoment, AdamWStep step)
            {
                ShapeCheck.Length((int)gradients.Length, (int)parameters.Length, nameof(gradients));
                ShapeCheck.Length((int)firstMoment.Length, (int)parameters.Length, nameof(firstMoment));
                ShapeCheck.Length((int)secondMoment.Length, (int)parameters.Length, nameof(secondMoment));
                var c = Float32Step.From(step);
                _step((int)parameters.Length, parameters, gradients, firstMoment, secondMoment, c.Beta1, c.OneMinusBeta1, c.Beta2, c.OneMinusBeta2,
                    c.Decay, c.StepSize, c.SecondScale, c.Epsilon);
            }
        }

        /// <summary>p = p·decay − stepSize · m / (sqrt(v)·secondScale + eps), the reference's update with the corrections folded in.</summary>
        private static void StepKernel(Index1D i, Floats parameters, Floats gradients, Floats firstMoment, Floats secondMoment,
            float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2, float decay, float stepSize, float secondScale, float eps)
        {
            var g = gradients[i];
            var m = beta1 * firstMoment[i] + oneMinusBeta1 * g;
            var v = beta2 * secondMoment[i] + oneMinusBeta2 * g * g;
            parameters[i] = parameters[i] * decay - stepSize * m / (XMath.Sqrt(v) * secondScale + eps);
            firstMoment[i] = m;
            secondMoment[i] = v;
        }
    }
}
