using System.Text.Json.Nodes;

namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>Checks that the per-item lists of one split describe the same items, else the aggregates would mix questions.</summary>
public static class LogIndices
{
    /// <summary>The first list's keys, once every other list holds exactly the same keys.</summary>
    public static IReadOnlyList<string> Same(LogJson log, string firstName, JsonObject first, params (string Name, JsonObject Values)[] others)
    {
        var keys = first.Select(p => p.Key).ToArray();
        if (keys.Length == 0) throw log.Bad(firstName, "holds no items");
        foreach (var (name, values) in others)
        {
            if (values.Count != keys.Length) throw log.Bad(name, $"has {values.Count} items where {firstName} has {keys.Length}");
            var missing = keys.FirstOrDefault(k => !values.ContainsKey(k));
            if (missing is not null) throw log.Bad(name, $"has no item '{missing}', which {firstName} has");
        }
        return keys;
    }

    /// <summary>Every item must have as many perturbed answers as the first (their mean is over a fixed count).</summary>
    public static void CheckPerturbedCounts(LogJson log, string field, IReadOnlyList<TofuLogItem> items)
    {
        foreach (var item in items)
        {
            if (item.PerturbedLosses.Count == 0) throw log.Bad($"{field} item '{item.Index}'", "has no perturbed answers");
            if (item.PerturbedLosses.Count != item.PerturbedProbs.Count)
                throw log.Bad($"{field} item '{item.Index}'", $"has {item.PerturbedProbs.Count} probabilities for {item.PerturbedLosses.Count} losses");
            if (item.PerturbedLosses.Count != items[0].PerturbedLosses.Count)
                throw log.Bad($"{field} item '{item.Index}'",
                    $"has {item.PerturbedLosses.Count} perturbed answers where item '{items[0].Index}' has {items[0].PerturbedLosses.Count}");
        }
    }
}
