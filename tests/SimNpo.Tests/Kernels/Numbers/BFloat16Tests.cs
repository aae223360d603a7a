using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels.Numbers;

public class BFloat16Tests
{
    /// <summary>Words worked out by hand from the float32 bits: the upper half, plus one when the lower half rounds up (ties to even).</summary>
    [TestCase(1.0f, 0x3F80)]
    [TestCase(-2.0f, 0xC000)]
    [TestCase(3.14159f, 0x4049)] // 0x40490FD0: lower half below 0x8000
    [TestCase(1.00390625f, 0x3F80)] // 0x3F808000: a tie, upper half even: stays
    [TestCase(1.01171875f, 0x3F82)] // 0x3F818000: a tie, upper half odd: rounds up to even
    [TestCase(3.4028235e38f, 0x7F80)] // float.MaxValue rounds to infinity, as torch does
    [TestCase(float.PositiveInfinity, 0x7F80)]
    [TestCase(1e-40f, 0x0001)] // a float32 denormal, 0x000116C2, keeps its upper half
    public void RoundsToNearestEven(float value, int expected)
    {
        Assert.That(BFloat16.FromFloat(value), Is.EqualTo((ushort)expected));
        Assert.That(BFloat16.ToFloat((ushort)expected), Is.EqualTo(BitConverter.Int32BitsToSingle(expected << 16)));
    }

    [Test]
    public void JustPastATieRoundsUp() => Assert.That(BFloat16.FromFloat(BitConverter.Int32BitsToSingle(0x3F80_8001)), Is.EqualTo((ushort)0x3F81));

    [Test]
    public void NaNStaysNaN()
    {
        // 0x7F800001 would round its payload away into infinity without the quiet bit.
        var signalling = BitConverter.Int32BitsToSingle(0x7F80_0001);
        Assert.That(float.IsNaN(BFloat16.ToFloat(BFloat16.FromFloat(signalling))));
        Assert.That(float.IsNaN(BFloat16.Round(-float.NaN)));
    }

    [Test]
    public void VectorPathsEqualTheScalarOnes()
    {
        var random = new Random(7);
        var values = new float[1031];
        for (var i = 0; i < values.Length; i++) values[i] = BitConverter.Int32BitsToSingle(random.Next() ^ (random.Next(2) << 31));
        values[5] = float.NaN;
        values[6] = float.NegativeInfinity;
        var words = new ushort[values.Length];
        BFloat16.Narrow(values, words);
        var widened = new float[values.Length];
        BFloat16.Widen(words, widened);
        for (var i = 0; i < values.Length; i++)
        {
            var scalar = BFloat16.FromFloat(values[i]);
            if (float.IsNaN(values[i])) Assert.That(float.IsNaN(widened[i]), $"element {i}");
            else Assert.That(words[i], Is.EqualTo(scalar), $"element {i}: {values[i]:R}");
            Assert.That(BitConverter.SingleToInt32Bits(widened[i]), Is.EqualTo(words[i] << 16), $"element {i}");
        }
    }

    [Test]
    public void RelativeErrorIsAtMostTheUnitRoundoff()
    {
        var random = new Random(3);
        for (var i = 0; i < 10000; i++)
        {
            var value = (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-30, 30)));
            Assert.That(Math.Abs(BFloat16.Round(value) - (double)value), Is.LessThanOrEqualTo(BFloat16.UnitRoundoff * Math.Abs(value)));
        }
    }

    [Test]
    public void HostBufferRoundsOnUploadAndWidensOnDownload()
    {
        using var buffer = new HostBFloat16Buffer(4);
        buffer.All.Slice(1, 2).CopyFrom([1.01171875f, 3.14159f]);
        Assert.That(buffer.All.ToArray(), Is.EqualTo(new[] { 0f, 1.015625f, 3.140625f, 0f }));
        Assert.That(buffer.All.Storage, Is.EqualTo(Storage.BFloat16));
        Assert.That(buffer.All.Slice(1, 1).Bits().Span[0], Is.EqualTo((ushort)0x3F82));
        Assert.Throws<InvalidOperationException>(() => _ = buffer.All.Memory);
    }
}
