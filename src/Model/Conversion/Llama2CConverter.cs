using SimNpo.Model.IO;
using SimNpo.Model.SafeTensors;

namespace SimNpo.Model.Conversion;

/// <summary>What a conversion wrote: the model's config and the files, in the order written.</summary>
public sealed record Llama2CConversion(LlamaConfig Config, IReadOnlyList<string> Files);

/// <summary>
/// A llama2.c checkpoint and tokenizer to a Hugging Face model directory: config.json, model.safetensors (float32,
/// Hugging Face names and rotary layout) and a SentencePiece tokenizer.model.
/// </summary>
public static class Llama2CConverter
{
    public static Llama2CConversion Convert(string checkpointPath, string tokenizerPath, string outputDirectory)
    {
        var checkpoint = Llama2CCheckpoint.Read(checkpointPath);
        var vocabulary = Llama2CVocabulary.Read(tokenizerPath);
        var header = checkpoint.Header;
        if (vocabulary.Tokens.Count != header.Vocab)
            throw new BadInputException(tokenizerPath,
                $"has {vocabulary.Tokens.Count} tokens but the checkpoint {checkpointPath} has a vocabulary of {header.Vocab}");
        var tokenizer = SentencePieceModel.FromLlama2C(vocabulary, tokenizerPath);
        var config = header.ToConfig();
        config.Validate(checkpointPath);
        var layout = new ParameterLayout(config);
        var parameters = ToParameters(checkpoint, layout);

        Directory.CreateDirectory(outputDirectory);
        var files = new[] { SafeTensorsCheckpoint.SingleFileName, "tokenizer.model", ModelFiles.ConfigFileName }
            .Select(name => Path.Combine(outputDirectory, name)).ToArray();
        ModelFiles.WriteWeights(layout, parameters, outputDirectory);
        tokenizer.Save(files[1]);
        // config.json last: a directory that has one holds a complete model.
        config.Save(files[2]);
        return new Llama2CConversion(config, files);
    }

    /// <summary>Every tensor placed at its Hugging Face name's offset; llama2.c stacks the per-layer tensors, layer after layer.</summary>
    private static float[] ToParameters(Llama2CCheckpoint checkpoint, ParameterLayout layout)
    {
        var parameters = new float[layout.TotalLength];
        var header = checkpoint.Header;
        void Copy(string source, int layer, ParameterEntry target) =>
            checkpoint.Tensors[source].AsSpan(layer * target.Length, target.Length).CopyTo(parameters.AsSpan(checked((int)target.Start), target.Length));
        void CopyRotary(string source, int layer, ParameterEntry target, int heads) =>
            InterleavedToHalfSplitRows(checkpoint.Tensors[source].AsSpan(layer * target.Length, target.Length),
                parameters.AsSpan(checked((int)target.Start), target.Length), heads, header.HeadSize, header.Dim);

        Copy("token_embedding", 0, layout.Embedding);
        for (var i = 0; i < header.Layers; i++)
        {
            var layer = layout.Layers[i];
            Copy("rms_att", i, layer.InputNorm.Weight);
            CopyRotary("wq", i, layer.Query.Weight, header.Heads);
            CopyRotary("wk", i, layer.Key.Weight, header.KvHeads);
            Copy("wv", i, layer.Value.Weight);
            Copy("wo", i, layer.Output.Weight);
            Copy("rms_ffn", i, layer.PostAttentionNorm!.Weight);
            Copy("w1", i, layer.Gate!.Weight);
            Copy("w2", i, layer.Down.Weight);
            Copy("w3", i, layer.Up.Weight);
        }
        Copy("rms_final", 0, layout.FinalNorm.Weight);
        if (!header.SharedWeights) Copy("wcls", 0, layout.OutputProjection);
        return parameters;
    }

    /// <summary>
    /// llama2.c rotates the adjacent rows (2i, 2i+1) of each head together; Hugging Face rotates rows i and i + d/2.
    /// Row 2i + k of a head moves to row k·d/2 + i (k = 0, 1), which is the permute() of Hugging Face's
    /// convert_llama_weights_to_hf.py, so the converted model computes the same attention.
    /// </summary>
    private static void InterleavedToHalfSplitRows(ReadOnlySpan<float> source, Span<float> destination, int heads, int headSize, int columns)
    {
        var half = headSize / 2;
        for (var head = 0; head < heads; head++)
            for (var i = 0; i < half; i++)
                for (var k = 0; k < 2; k++)
                    source.Slice((head * headSize + 2 * i + k) * columns, columns)
                        .CopyTo(destination.Slice((head * headSize + k * half + i) * columns, columns));
    }
}
