using SimNpo.Kernels;

namespace SimNpo.Unlearn.Performance;

/// <summary>
/// One op's part of a profiled step, per step (the mean over the steps): its calls, time, share of the step, and its
/// achieved rate against the roofline: compute-bound (GFLOP/s against the FLOP peak) when its FLOPs per byte reach the
/// machine's peak FLOPs per byte of bandwidth, memory-bound (GB/s against the bandwidth) otherwise.
/// </summary>
public sealed record OpProfile(string Op, double Calls, double Seconds, double Share, double Flops, double Bytes, bool ComputeBound, double Achieved,
    double PercentOfPeak)
{
    public string Unit => ComputeBound ? "GFLOP/s" : "GB/s";

    public static OpProfile From(OpTotals totals, int steps, double stepSeconds, MachinePeak peak)
    {
        var seconds = totals.Seconds / steps;
        var (flops, bytes) = ((double)totals.Flops / steps, (double)totals.Bytes / steps);
        var computeBound = flops > 0 && flops / bytes >= peak.Gflops / peak.GigabytesPerSecond;
        var achieved = (computeBound ? flops : bytes) / seconds / 1e9;
        return new OpProfile(totals.Op.ToString(), (double)totals.Calls / steps, seconds, seconds / stepSeconds, flops, bytes, computeBound, achieved,
            100 * achieved / (computeBound ? peak.Gflops : peak.GigabytesPerSecond));
    }
}
