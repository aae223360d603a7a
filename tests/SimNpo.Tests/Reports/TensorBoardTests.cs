using SimNpo.Unlearn.Reports.TensorBoard;
using SimNpo.Unlearn.Training;

namespace SimNpo.Tests.Reports;

/// <summary>
/// TensorBoard's event files: the CRC against RFC 3720's published vectors, and our files decoded by an independent
/// reader (Debian has no python3-tensorboard or python3-tensorflow to write a reference file with).
/// </summary>
public class TensorBoardTests
{
    /// <summary>RFC 3720 appendix B.4 (iSCSI CRC32C examples), and the usual check value of "123456789".</summary>
    private static readonly (byte[] Data, uint Crc)[] Vectors =
    [
        (new byte[32], 0x8A9136AA),
        (Enumerable.Repeat((byte)0xFF, 32).ToArray(), 0x62A8AB43),
        (Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(), 0x46DD794E),
        (Enumerable.Range(0, 32).Select(i => (byte)(31 - i)).ToArray(), 0x113FDB5C),
        ("123456789"u8.ToArray(), 0xE3069283),
    ];

    [Test]
    public void Crc32CMatchesThePublishedVectors()
    {
        foreach (var (data, crc) in Vectors)
        {
            Assert.That(MaskedCrc32C.Crc(data), Is.EqualTo(crc));
            Assert.That(EventFileReader.Crc32C(data), Is.EqualTo(crc)); // the test's own reader agrees
        }
        // TensorFlow's mask (core/lib/io/record_writer.cc, python/lib/io/python_io.py): rotate right 15, add 0xa282ead8 modulo 2^32.
        // By hand: 0x8A9136AA rotated is 0x6D551522; plus 0xA282EAD8 is 0x1_0FD7_FFFA, kept to 32 bits.
        Assert.That(MaskedCrc32C.Mask(0x8A9136AA), Is.EqualTo(0x0FD7FFFAu));
    }

    [Test]
    public void AnEventFileDecodesToTheScalarsWritten()
    {
        using var directory = new TempDirectory();
        var clock = 1_700_000_000.25;
        string path;
        using (var writer = new EventFileWriter(directory.Path, () => clock))
        {
            path = writer.Path;
            clock += 1;
            writer.Scalars(1, [("loss/total", 0.6931f), ("train/learning_rate", 1e-5f)]);
            clock += 1;
            writer.Scalars(300, [("loss/total", -1.5f)]);
        }
        Assert.That(Path.GetFileName(path), Does.StartWith("events.out.tfevents.1700000000."));
        var events = EventFileReader.Read(path);
        Assert.That(events, Has.Count.EqualTo(3));
        Assert.That((events[0].FileVersion, events[0].WallTime, events[0].Step), Is.EqualTo(("brain.Event:2", 1_700_000_000.25, 0L)));
        Assert.That((events[1].Step, events[1].WallTime), Is.EqualTo((1L, 1_700_000_001.25)));
        Assert.That(events[1].Scalars, Is.EqualTo(new Dictionary<string, float> { ["loss/total"] = 0.6931f, ["train/learning_rate"] = 1e-5f }));
        Assert.That((events[2].Step, events[2].Scalars["loss/total"]), Is.EqualTo((300L, -1.5f))); // step 300 needs a two-byte varint
    }

    [Test]
    public void AStepGivesItsLossesGradientRateLogProbAndEvaluations()
    {
        var record = new StepRecord
        {
            Step = 3, Epoch = 0, LearningRate = 2e-5, Loss = 1.25, ForgetLoss = 1.5, RetainLoss = 0.5, GradNorm = 0.75, ForgetNormalisedLogProb = -2.5,
            Tokens = 100, Seconds = 0.5, Eval = new Dictionary<string, double> { ["forget"] = -3, ["retain"] = -1 },
        };
        Assert.That(TensorBoardObserver.Scalars(record).ToDictionary(s => s.Tag, s => s.Value), Is.EqualTo(new Dictionary<string, float>
        {
            ["loss/total"] = 1.25f, ["loss/forget"] = 1.5f, ["loss/retain"] = 0.5f, ["train/grad_norm"] = 0.75f, ["train/learning_rate"] = 2e-5f,
            ["train/forget_logprob"] = -2.5f, ["train/tokens_per_second"] = 200f, ["eval/forget"] = -3f, ["eval/retain"] = -1f,
        }));
    }
}
