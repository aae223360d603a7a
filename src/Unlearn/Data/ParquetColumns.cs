using Parquet;
using Parquet.Schema;
using SimNpo.Model.IO;

namespace SimNpo.Unlearn.Data;

/// <summary>
/// String columns of a Parquet file (the Hub's data sets, e.g. MUSE's, are stored so), read through Parquet.Net: every
/// row group in order, one string[] per row in the order the columns are asked for. A missing column, a null value or a
/// file that is not Parquet is refused with the file's name and, for a value, its 1-based row.
/// </summary>
public static class ParquetColumns
{
    public const string Extension = ".parquet";

    public static bool IsParquet(string path) => path.EndsWith(Extension, StringComparison.OrdinalIgnoreCase);

    public static IReadOnlyList<string[]> ReadStrings(string path, params string[] columns)
    {
        if (!File.Exists(path)) throw new BadInputException(path, "file not found");
        try
        {
            return Read(path, columns).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not BadInputException and (IOException or InvalidDataException or NotSupportedException or ArgumentException
            or InvalidOperationException or Parquet.ParquetException))
        {
            throw new BadInputException(path, $"not a readable Parquet file ({e.Message})", null, e);
        }
    }

    private static async Task<IReadOnlyList<string[]>> Read(string path, string[] columns)
    {
        await using var stream = File.OpenRead(path);
        await using var reader = await ParquetReader.CreateAsync(stream);
        var fields = columns.Select(name => reader.Schema.DataFields.FirstOrDefault(field => field.Name == name)
            ?? throw new BadInputException(path, $"no column '{name}' (columns: {string.Join(", ", reader.Schema.DataFields.Select(f => f.Name))})")).ToArray();
        var rows = new List<string[]>();
        for (var group = 0; group < reader.RowGroupCount; group++)
        {
            using var rowGroup = reader.OpenRowGroupReader(group);
            var count = checked((int)rowGroup.RowCount);
            var values = new string?[fields.Length][];
            for (var c = 0; c < fields.Length; c++)
            {
                values[c] = new string?[count];
                await rowGroup.ReadAsync(fields[c], values[c].AsMemory(), null);
            }
            for (var r = 0; r < count; r++)
            {
                var row = new string[fields.Length];
                for (var c = 0; c < fields.Length; c++)
                    row[c] = values[c][r] ?? throw new BadInputException(path, $"row {rows.Count + 1}: '{columns[c]}' is null");
                rows.Add(row);
            }
        }
        if (rows.Count == 0) throw new BadInputException(path, "no records");
        return rows;
    }
}
