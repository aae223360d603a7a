using SimNpo.Model;
using SimNpo.Model.Conversion;
using SimNpo.Unlearn.Performance;

namespace SimNpo.Tests.Performance;

public class BenchmarkModelsTests
{
    /// <summary>
    /// By hand, tied embeddings: vocab·d + layers·(2d + 2d·qWidth + 2d·kvWidth + 3d·ffn) + d. 15M: 32000·288 +
    /// 6·(576 + 331,776 + 663,552) + 288; 110M: 32000·768 + 12·(1536 + 2,359,296 + 4,718,592) + 768; mid: 32000·512 +
    /// 8·(1024 + 1,048,576 + 2,113,536) + 512; 1B: 128256·2048 + 16·(4096 + 2·2048² + 2·512·2048 + 3·2048·8192) + 2048.
    /// </summary>
    [TestCase("stories260K", 260_032)]
    [TestCase("15M", 15_191_712)]
    [TestCase("mid", 41_689_600)]
    [TestCase("110M", 109_529_856)]
    [TestCase("1B", 1_235_814_400)]
    public void ParameterCountsMatchTheHandCount(string name, long parameters) =>
        Assert.That(new ParameterLayout(BenchmarkModels.Get(name).Config).TotalLength, Is.EqualTo(parameters));

    [Test]
    public void Stories260KIsTheSharedCheckpointsShape()
    {
        var checkpoint = Llama2CCheckpoint.Read(Stories260K.Checkpoint);
        Assert.That(BenchmarkModels.Get("stories260K").Config, Is.EqualTo(checkpoint.Header.ToConfig()));
    }

    [Test]
    public void EveryShapeIsAValidConfig()
    {
        foreach (var shape in BenchmarkModels.All)
            Assert.DoesNotThrow(() => shape.Config.Validate(shape.Name));
    }

    [Test]
    public void BatchAndSequenceCanBeReplaced()
    {
        var shape = BenchmarkModels.Get("15m", batchSize: 2, sequenceLength: 64);
        Assert.That((shape.Name, shape.BatchSize, shape.SequenceLength, shape.Tokens), Is.EqualTo(("15M", 2, 64, 128)));
        Assert.That(BenchmarkModels.Get("110M").Tokens, Is.EqualTo(4 * 512));
    }

    [Test]
    public void AnUnknownNameListsTheKnownOnes() =>
        Assert.That(() => BenchmarkModels.Get("13B"), Throws.ArgumentException.With.Message.Contains("15M, mid, 110M"));
}
