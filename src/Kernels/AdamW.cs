using System.Numerics;

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
}
