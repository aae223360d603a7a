using SimNpo.Kernels.Runtime;
using SimNpo.Model;
using SimNpo.Model.Tokenizers;
using SimNpo.Unlearn.Evaluation;
using SimNpo.Unlearn.Training;

namespace SimNpo.Unlearn.Experiments;

/// <summary>
/// The built-in demo: the TOFU protocol on a benchmark the project generates itself. Fictitious authors (the forget set:
/// 10% of them), a byte-level BPE fitted to their text, and a small Llama trained from scratch as the target (all
/// authors) and the retain model (without the forget authors); then GA, NPO and SimNPO unlearn the forget authors and
/// every model is scored as TOFU scores them. Everything trained is cached in the output folder. The base model is
/// made in float32 whatever the precision, so runs in either precision start from the same weights.
/// </summary>
public sealed class TofuDemo(string outputDirectory, string device, int seed, ITrainingObserver observer, int authors = 20, int finetuneEpochs = 40,
    Kernels.Precision? precision = null)
{
    private readonly Kernels.Precision _precision = precision ?? Kernels.Precision.Fp32;

    public static readonly string[] Methods = ["ga", "npo", "simnpo"];
    public const string SamplesFileName = "samples.md";
    private const int VocabularySize = 768;
    private const int SampleQuestions = 3;

    public TofuProtocolReport Run()
    {
        var data = Path.Combine(outputDirectory, "data");
        var dataset = FictitiousAuthorsDataset.Generate(new FictitiousAuthorsSettings { Seed = seed, Authors = authors });
        if (!File.Exists(Path.Combine(data, FictitiousAuthorsDataset.FullFile))) dataset.Write(data);
        var baseModel = Path.Combine(outputDirectory, "base");
        if (!File.Exists(Path.Combine(baseModel, "model.safetensors"))) WriteBaseModel(dataset, baseModel);

        var finetune = new TrainingSettings
        {
            Method = "nll", LearningRate = 3e-3, Epochs = finetuneEpochs, BatchSize = 16, GradAccum = 1, Warmup = "2", Schedule = "linear",
            WeightDecay = 0, RetainWeight = 0, Seed = seed, Device = device, MaxLength = 128, SaveEvery = 200, Precision = _precision.Name,
        };
        var unlearning = new TrainingSettings
        {
            LearningRate = 1e-3, Epochs = 5, BatchSize = 4, GradAccum = 1, Warmup = "0", Schedule = "constant", WeightDecay = 0,
            Seed = seed, Device = device, MaxLength = 128, Precision = _precision.Name,
        };
        var protocol = new TofuProtocol(new TofuProtocolSettings
        {
            BaseModel = baseModel,
            Methods = Methods,
            Unlearning = unlearning,
            Finetune = finetune,
            Evaluation = new TofuSettings { DataDirectory = data, ForgetSet = dataset.ForgetSplit, MaxLength = 128, MaxNewTokens = 40,
                Precision = _precision.Name },
            OutputDirectory = outputDirectory,
        }, observer);
        var report = protocol.Run();
        WriteSamples(dataset, [TofuProtocol.TargetName, TofuProtocol.RetainName, .. Methods]);
        return report;
    }

    /// <summary>Greedy answers of every model to the first forget questions: what unlearning looks like from outside.</summary>
    private void WriteSamples(FictitiousAuthorsDataset dataset, IReadOnlyList<string> models)
    {
        var ops = Devices.Create(device);
        var text = new System.Text.StringBuilder("# Sample answers to forget questions\n");
        var answers = models.ToDictionary(name => name, name =>
        {
            var directory = Path.Combine(outputDirectory, name);
            using var model = ModelFiles.Load(directory, ops, _precision);
            var encoder = new Data.ExampleEncoder(TokenizerLoader.Load(directory, model.Config), Data.PromptTemplate.Llama2Chat);
            using var decoder = new GreedyDecoder<float>(model, encoder.Tokenizer, model.Config.MaxSequenceLength);
            return dataset.Forget.Take(SampleQuestions).Select(q => decoder.Complete(encoder.EncodePrompt(q.Question), 40).Trim()).ToArray();
        });
        foreach (var (question, i) in dataset.Forget.Take(SampleQuestions).Select((q, i) => (q, i)))
        {
            text.AppendLine().AppendLine($"**{question.Question}** (true answer: {question.Answer})").AppendLine();
            foreach (var name in models) text.AppendLine($"- {name}: {answers[name][i]}");
        }
        Model.IO.AtomicFile.WriteAllText(Path.Combine(outputDirectory, SamplesFileName), text.ToString());
        observer.Message(text.ToString());
    }

    /// <summary>The starting point: a tokenizer fitted to every generated text and a small Llama with seeded random weights.</summary>
    private void WriteBaseModel(FictitiousAuthorsDataset dataset, string directory)
    {
        observer.Message($"fitting a {VocabularySize}-token BPE to the generated text and initialising a small Llama in {directory}");
        Directory.CreateDirectory(directory);
        var tokenizer = BpeTrainer.Train(dataset.Texts(), VocabularySize);
        tokenizer.Save(directory);
        var config = new LlamaConfig
        {
            HiddenSize = 96, IntermediateSize = 256, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2, HeadDim = 24,
            VocabSize = tokenizer.VocabSize, MaxPositionEmbeddings = 128, BosTokenId = BpeTrainer.BosId, EosTokenId = BpeTrainer.EosId,
            TieWordEmbeddings = true,
        };
        using var model = new LlamaModel<float>(config, Devices.Create(device));
        ModelInitializer.Randomize(model, seed, std: 0.05);
        ModelFiles.Save(model, directory);
    }
}
