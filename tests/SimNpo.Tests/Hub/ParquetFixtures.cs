using Parquet;
using Parquet.Schema;

namespace SimNpo.Tests.Hub;

/// <summary>
/// Parquet files of string columns written with Parquet.Net (Debian has no pyarrow for /usr/bin/python3 to write a
/// committed fixture with), one row group per batch of rows, as the Hub's data sets store their splits.
/// </summary>
public static class ParquetFixtures
{
    public static byte[] Strings(string[] columns, params IReadOnlyList<string?[]>[] rowGroups) => Write(columns, rowGroups).GetAwaiter().GetResult();

    private static async Task<byte[]> Write(string[] columns, IReadOnlyList<string?[]>[] rowGroups)
    {
        var fields = columns.Select(name => new DataField<string>(name)).ToArray();
        using var stream = new MemoryStream();
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream))
        {
            foreach (var rows in rowGroups)
            {
                using var group = writer.CreateRowGroup();
                for (var c = 0; c < fields.Length; c++) await group.WriteAsync(fields[c], rows.Select(row => row[c]).ToArray());
            }
        }
        return stream.ToArray();
    }
}
