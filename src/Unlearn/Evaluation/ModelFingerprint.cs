using System.Runtime.InteropServices;
using System.Security.Cryptography;
using SimNpo.Model.IO;
using SimNpo.Model.SafeTensors;

namespace SimNpo.Unlearn.Evaluation;

/// <summary>What a report records about the model and the machine, so that its numbers can be traced to both.</summary>
public static class ModelFingerprint
{
    /// <summary>
    /// sha256 of model.safetensors, in hex; a sharded checkpoint hashes its shards' bytes one after another in name order.
    /// </summary>
    public static string Sha256(string modelDirectory)
    {
        var single = Path.Combine(modelDirectory, SafeTensorsCheckpoint.SingleFileName);
        var files = File.Exists(single)
            ? [single]
            : Directory.Exists(modelDirectory) ? Directory.GetFiles(modelDirectory, "model-*.safetensors").Order(StringComparer.Ordinal).ToArray() : [];
        if (files.Length == 0) throw new BadInputException(modelDirectory, "no model.safetensors (or shards) to hash");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        foreach (var file in files)
        {
            using var stream = File.OpenRead(file);
            int read;
            while ((read = stream.Read(buffer)) > 0) hash.AppendData(buffer, 0, read);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The op implementation and the machine under it.</summary>
    public static string Device(string opsName) =>
        $"{opsName} ({Environment.ProcessorCount} CPU threads, {RuntimeInformation.OSDescription}, {RuntimeInformation.ProcessArchitecture})";
}
