using System.Collections;
using System.Text.Json;
using System.Text.Json.Nodes;
using SimNpo.Model.IO;

namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>
/// Metrics in open-unlearning's log layout (TOFU_EVAL.json, MUSE_EVAL.json): metric name → {"agg_value": x,
/// "value_by_index": {"0": {...}}}, or for mia_* {"forget": {...}, "holdout": {...}, "auc": a, "agg_value": a}.
/// The summary (TOFU_SUMMARY.json, report.json's `summary`) is name → agg_value. Entries keep the order they were added.
/// </summary>
public sealed class OpenUnlearningMetrics : IEnumerable<KeyValuePair<string, JsonObject>>
{
    private readonly List<KeyValuePair<string, JsonObject>> entries = [];

    public int Count => entries.Count;

    public JsonObject this[string name] => TryGet(name) ?? throw new KeyNotFoundException($"no metric '{name}'");

    public bool Contains(string name) => TryGet(name) is not null;

    public JsonObject? TryGet(string name) => entries.FirstOrDefault(e => e.Key == name).Value;

    /// <summary>Adds a metric; a name added twice is a bug in the caller, not something to overwrite quietly.</summary>
    public void Add(string name, JsonObject entry)
    {
        if (Contains(name)) throw new ArgumentException($"metric '{name}' was already added", nameof(name));
        if (entry["agg_value"] is null && !entry.ContainsKey("agg_value"))
            throw new ArgumentException($"metric '{name}' has no agg_value", nameof(entry));
        entries.Add(new(name, entry));
    }

    /// <summary>Every entry of the other collection (e.g. a report's Extra), in its order.</summary>
    public void AddAll(OpenUnlearningMetrics? other)
    {
        if (other is null) return;
        foreach (var (name, entry) in other) Add(name, (JsonObject)entry.DeepClone());
    }

    /// <summary>An entry with only an aggregate (forget_quality, model_utility, privleak).</summary>
    public void AddValue(string name, double? value) => Add(name, new JsonObject { ["agg_value"] = value });

    /// <summary>An entry with its aggregate and one object of fields per item, indexed "0", "1", ... in order.</summary>
    public void AddPerItem(string name, double aggregate, IEnumerable<JsonObject> items)
    {
        var byIndex = new JsonObject();
        var i = 0;
        foreach (var item in items) byIndex[(i++).ToString(System.Globalization.CultureInfo.InvariantCulture)] = item;
        Add(name, new JsonObject { ["agg_value"] = aggregate, ["value_by_index"] = byIndex });
    }

    /// <summary>name → agg_value (null where open-unlearning stores None).</summary>
    public JsonObject Summary()
    {
        var summary = new JsonObject();
        foreach (var (name, entry) in entries) summary[name] = entry["agg_value"]?.DeepClone();
        return summary;
    }

    public JsonObject ToJson()
    {
        var all = new JsonObject();
        foreach (var (name, entry) in entries) all[name] = entry.DeepClone();
        return all;
    }

    public void WriteEval(string path) => AtomicFile.WriteAllText(path, Serialize(ToJson()));

    public void WriteSummary(string path) => AtomicFile.WriteAllText(path, Serialize(Summary()));

    /// <summary>Indented as open-unlearning's json.dump(indent=4); NaN and infinities kept as Python writes them.</summary>
    private static string Serialize(JsonObject value) => value.ToJsonString(Options) + "\n";

    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        IndentSize = 4,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public IEnumerator<KeyValuePair<string, JsonObject>> GetEnumerator() => entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
