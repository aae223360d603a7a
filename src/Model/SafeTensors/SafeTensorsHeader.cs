using System.Text.Json;
using System.Text.Unicode;
using SimNpo.Model.IO;

namespace SimNpo.Model.SafeTensors;

/// <summary>
/// The JSON header of a safetensors file, checked against the format: every entry well typed, each tensor's byte
/// length matching its shape and dtype, and the tensors tiling the data buffer exactly, with no gap, overlap or
/// byte missing. Anything else is refused with a message naming the file and the problem.
/// </summary>
public sealed record SafeTensorsHeader(IReadOnlyDictionary<string, TensorInfo> Tensors, IReadOnlyDictionary<string, string> Metadata)
{
    public const string MetadataKey = "__metadata__";

    /// <summary>The reference implementation refuses larger headers, so that a corrupt length cannot exhaust memory.</summary>
    public const long MaxLength = 100_000_000;

    /// <summary>Refuses duplicate keys, which JSON parsers otherwise resolve silently (first or last wins).</summary>
    internal static readonly JsonDocumentOptions StrictJson = new() { AllowDuplicateProperties = false };

    public static SafeTensorsHeader Parse(byte[] json, long dataLength, string file)
    {
        BadInputException Bad(string problem) => new(file, problem);

        if (!Utf8.IsValid(json)) throw Bad("header is not valid UTF-8");
        // The format demands '{' as the first byte; checking it first also names the problem for "[...]" or "1".
        if (json.Length == 0 || json[0] != (byte)'{') throw Bad("header is not a JSON object (the format requires it to begin with '{')");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, StrictJson);
        }
        catch (JsonException error)
        {
            throw new BadInputException(file, $"header is not valid JSON: {error.Message}", inner: error);
        }

        using (document)
        {
            var tensors = new Dictionary<string, TensorInfo>();
            var metadata = new Dictionary<string, string>();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == MetadataKey) ReadMetadata(property.Value, metadata, Bad);
                else tensors.Add(property.Name, ReadTensor(property.Name, property.Value, Bad));
            }

            CheckTiling(tensors.Values, dataLength, Bad);
            return new SafeTensorsHeader(tensors, metadata);
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, Func<string, BadInputException> bad)
    {
        if (value.ValueKind != JsonValueKind.Object) throw bad($"{MetadataKey} must be a JSON object, not {value.ValueKind}");
        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw bad($"{MetadataKey} value for '{entry.Name}' must be a string, not {entry.Value.ValueKind}");
            metadata.Add(entry.Name, entry.Value.GetString()!);
        }
    }

    private static TensorInfo ReadTensor(string name, JsonElement entry, Func<string, BadInputException> bad)
    {
        if (entry.ValueKind != JsonValueKind.Object) throw bad($"tensor '{name}': entry must be a JSON object, not {entry.ValueKind}");

        JsonElement Field(string field, JsonValueKind kind)
        {
            if (!entry.TryGetProperty(field, out var value)) throw bad($"tensor '{name}': missing '{field}'");
            if (value.ValueKind != kind) throw bad($"tensor '{name}': '{field}' must be a JSON {kind}, not {value.ValueKind}");
            return value;
        }

        long[] Integers(string field) => Field(field, JsonValueKind.Array).EnumerateArray()
            .Select(item => item.ValueKind == JsonValueKind.Number && item.TryGetInt64(out var number)
                ? number
                : throw bad($"tensor '{name}': '{field}' must hold integers, found {item.GetRawText()}"))
            .ToArray();

        var dtypeName = Field("dtype", JsonValueKind.String).GetString()!;
        if (!SafeTensorsDTypes.TryParse(dtypeName, out var dtype)) throw bad($"tensor '{name}': unknown dtype '{dtypeName}'");
        var shape = Integers("shape");
        var offsets = Integers("data_offsets");
        var shapeText = $"[{string.Join(", ", shape)}]";
        foreach (var field in entry.EnumerateObject())
        {
            if (field.Name is not ("dtype" or "shape" or "data_offsets")) throw bad($"tensor '{name}': unknown field '{field.Name}'");
        }

        if (shape.Any(dim => dim < 0)) throw bad($"tensor '{name}': negative dimension in shape {shapeText}");
        if (offsets.Length != 2) throw bad($"tensor '{name}': 'data_offsets' must hold 2 integers [begin, end], found {offsets.Length}");
        var (begin, end) = (offsets[0], offsets[1]);
        if (begin < 0 || end < begin) throw bad($"tensor '{name}': data_offsets [{begin}, {end}] must satisfy 0 <= begin <= end");

        long elements, bytes;
        try
        {
            elements = shape.Aggregate(1L, (product, dim) => checked(product * dim));
            bytes = checked(elements * dtype.SizeInBytes());
        }
        catch (OverflowException)
        {
            throw bad($"tensor '{name}': shape {shapeText} of {dtypeName} overflows a 64-bit byte count");
        }

        var tensor = new TensorInfo(name, dtype, shape, elements, begin, end);
        if (tensor.ByteLength != bytes)
            throw bad($"tensor '{name}': data_offsets [{begin}, {end}] span {tensor.ByteLength} bytes, but shape {shapeText} of {dtypeName} needs {bytes}");
        return tensor;
    }

    /// <summary>Sorted by begin (empty tensors first at a tie), each tensor must start where the previous one ended.</summary>
    private static void CheckTiling(IEnumerable<TensorInfo> tensors, long dataLength, Func<string, BadInputException> bad)
    {
        var covered = 0L;
        foreach (var tensor in tensors.OrderBy(t => t.DataBegin).ThenBy(t => t.DataEnd))
        {
            var offsets = $"data_offsets [{tensor.DataBegin}, {tensor.DataEnd}]";
            if (tensor.DataEnd > dataLength)
                throw bad($"tensor '{tensor.Name}': {offsets} run past the data buffer, which holds {dataLength} bytes (truncated file?)");
            if (tensor.DataBegin > covered)
                throw bad($"gap in the data buffer: bytes [{covered}, {tensor.DataBegin}) before tensor '{tensor.Name}' belong to no tensor");
            if (tensor.DataBegin < covered)
                throw bad($"tensor '{tensor.Name}': {offsets} overlap the tensor before it, which ends at {covered}");
            covered = tensor.DataEnd;
        }

        if (covered != dataLength)
            throw bad(
                $"the data buffer holds {dataLength} bytes but the tensors cover only {covered}: {dataLength - covered} trailing bytes belong to no tensor");
    }
}
