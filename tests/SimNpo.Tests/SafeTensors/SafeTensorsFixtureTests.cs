using System.Text.Json.Nodes;
using SimNpo.Model.SafeTensors;

namespace SimNpo.Tests.SafeTensors;

/// <summary>
/// Reads a file written by tools/fixtures/make_safetensors_fixture.py from torch tensors and checks every value against
/// the script's JSON sidecar, where torch itself widened F16 and BF16 to float64. All comparisons are exact: each
/// expected value is a float32 (or float64, or integer) that JSON carries without loss.
/// </summary>
public class SafeTensorsFixtureTests
{
    private static readonly string Directory = Path.Combine(AppContext.BaseDirectory, "Fixtures", "safetensors");

    [Test]
    public void ReadsEveryTensorAsTorchWroteIt()
    {
        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(Directory, "fixture.json")))!;
        using var file = SafeTensorsFile.Open(Path.Combine(Directory, "fixture.safetensors"));

        Assert.That(file.Metadata, Is.EquivalentTo(expected["metadata"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<string>())));
        var tensors = expected["tensors"]!.AsObject();
        Assert.That(file.Tensors.Keys, Is.EquivalentTo(tensors.Select(p => p.Key)));
        foreach (var (name, tensor) in tensors)
        {
            var info = file.Info(name);
            Assert.That(info.DType.HeaderName(), Is.EqualTo(tensor!["dtype"]!.GetValue<string>()), name);
            Assert.That(info.Shape, Is.EqualTo(tensor["shape"]!.AsArray().Select(d => d!.GetValue<long>())), name);
            var values = tensor["values"]!.AsArray();
            switch (info.DType)
            {
                case SafeTensorsDType.I32:
                    Assert.That(file.ReadInt32(name), Is.EqualTo(values.Select(v => v!.GetValue<int>())), name);
                    break;
                case SafeTensorsDType.I64:
                    Assert.That(file.ReadInt64(name), Is.EqualTo(values.Select(v => v!.GetValue<long>())), name);
                    break;
                case SafeTensorsDType.F64:
                    var doubles = values.Select(v => v!.GetValue<double>()).ToArray();
                    Assert.That(file.ReadFloat64(name), Is.EqualTo(doubles), name);
                    Assert.That(Bits(file.ReadFloat32(name)), Is.EqualTo(Bits(doubles.Select(d => (float)d))), name);
                    break;
                default:
                    // Compare bits, so that -0 against +0 would fail.
                    Assert.That(Bits(file.ReadFloat32(name)), Is.EqualTo(Bits(values.Select(v => (float)v!.GetValue<double>()))), name);
                    break;
            }
        }
    }

    private static IEnumerable<int> Bits(IEnumerable<float> values) => values.Select(BitConverter.SingleToInt32Bits);
}
