namespace SimNpo.Model.Generation;

/// <summary>
/// Picks the next token from a row of logits: the argmax when Temperature is 0, otherwise a draw from
/// softmax(logits / Temperature) cut to its nucleus (the smallest set of most probable tokens holding at least TopP of
/// the probability) and renormalised. The draws come from a seeded Random, so a generation can be repeated exactly.
/// </summary>
public sealed class TokenSampler
{
    private readonly Random random;
    private double[] weights = [];
    private int[] order = [];

    public TokenSampler(double temperature, double topP, int seed)
    {
        if (!(temperature >= 0 && double.IsFinite(temperature)))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "temperature must be finite and >= 0 (0 means greedy)");
        if (!(topP > 0 && topP <= 1))
            throw new ArgumentOutOfRangeException(nameof(topP), topP, "top-p must be in (0, 1] (1 keeps every token)");
        Temperature = temperature;
        TopP = topP;
        random = new Random(seed);
    }

    public double Temperature { get; }

    public double TopP { get; }

    public int Next(ReadOnlySpan<float> logits)
    {
        if (logits.IsEmpty) throw new ArgumentException("there are no logits to pick from", nameof(logits));
        if (Temperature == 0) return Argmax(logits);

        // Unnormalised softmax in double: exp((l - max) / T) cannot overflow, and the nucleus test scales TopP by the sum instead.
        var vocab = logits.Length;
        if (weights.Length != vocab) (weights, order) = (new double[vocab], new int[vocab]);
        var max = float.NegativeInfinity;
        foreach (var logit in logits) max = Math.Max(max, logit);
        var total = 0.0;
        for (var i = 0; i < vocab; i++)
        {
            weights[i] = Math.Exp((logits[i] - (double)max) / Temperature);
            total += weights[i];
            order[i] = i;
        }

        // Most probable first, lower index first on ties; with TopP = 1 every token is kept, so the order does not matter.
        if (TopP < 1) order.AsSpan().Sort((a, b) => weights[a] != weights[b] ? weights[b].CompareTo(weights[a]) : a.CompareTo(b));
        var kept = 0;
        var nucleusMass = 0.0;
        do nucleusMass += weights[order[kept++]];
        while (nucleusMass < TopP * total && kept < vocab);

        // Drawing u * nucleusMass over the kept weights is drawing from the renormalised nucleus.
        var target = random.NextDouble() * nucleusMass;
        var cumulative = 0.0;
        for (var k = 0; k < kept - 1; k++)
        {
            cumulative += weights[order[k]];
            if (target < cumulative) return order[k];
        }
        return order[kept - 1];
    }

    /// <summary>The index of the largest logit, the lowest one on ties.</summary>
    public static int Argmax(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
            if (logits[i] > logits[best]) best = i;
        return best;
    }
}
