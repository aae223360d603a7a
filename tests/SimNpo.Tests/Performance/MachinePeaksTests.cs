using SimNpo.Kernels;
using SimNpo.Tests.Kernels.Ilgpu;
using SimNpo.Unlearn.Performance;

namespace SimNpo.Tests.Performance;

public class MachinePeaksTests
{
    [Test]
    public void TheQuickCpuMeasurementIsPositiveAndFinite()
    {
        var peak = MachinePeaks.Measure(new ReferenceOps<float>(), quick: true);
        Assert.That(peak.Device, Does.StartWith("cpu ("));
        AssertPositiveFinite(peak);
    }

    /// <summary>The kernels of the GPU measurement, run on ILGPU's simulator: they compile and count what they ran.</summary>
    [Test]
    public void TheAcceleratorKernelsRunOnTheSimulator() =>
        AssertPositiveFinite(AcceleratorPeaks.Measure(SimulatedDevices.Get(SimulatedDevices.Default).Accelerator, quick: true));

    /// <summary>The simulator runs on the CPU's cores: its peaks are the CPU's.</summary>
    [Test]
    public void TheSimulatedDeviceIsMeasuredAsTheCpu() =>
        Assert.That(MachinePeaks.Measure(SimulatedDevices.Get(SimulatedDevices.Default), quick: true).Device, Does.StartWith("cpu ("));

    private static void AssertPositiveFinite(MachinePeak peak)
    {
        Assert.That(double.IsFinite(peak.Gflops) && peak.Gflops > 0, $"GFLOP/s {peak.Gflops}");
        Assert.That(double.IsFinite(peak.GigabytesPerSecond) && peak.GigabytesPerSecond > 0, $"GB/s {peak.GigabytesPerSecond}");
    }
}
