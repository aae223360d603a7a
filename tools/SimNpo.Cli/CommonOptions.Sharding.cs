using System.CommandLine;

namespace SimNpo.Cli;

/// <summary>The options of data-parallel runs: ZeRO stage 1, how gradients are summed, and the ranks a plan is made for.</summary>
public static partial class CommonOptions
{
    public static Option<bool> ShardOptimizer() =>
        new("--shard-optimizer")
        {
            Description = "ZeRO stage 1 under several ranks: each rank keeps the AdamW moments and fp32 master weights of its 1/N slice of the "
                + "parameters only (the same results, bit for bit, as unsharded)",
        };

    public static Option<string> GradientSum() =>
        new Option<string>("--gradient-sum")
        {
            Description = "how a step's gradients are summed across ranks: auto (NCCL on CUDA with several ranks when it loads, else the ordered "
                + "host sum), nccl (NCCL on the GPU buffers, one rank included; an error if it cannot load), host (the ordered host sum: the same "
                + "bits for any number of ranks, one process on a GPU included)",
            DefaultValueFactory = _ => "auto",
        }.AcceptOnlyFromAmong("auto", "nccl", "host");

    public static Option<string> NcclLibrary() =>
        new("--nccl-library")
        {
            Description = "the NCCL library to load: a file name on the loader's path or a path (e.g. the libnccl.so.2 of pip's nvidia-nccl-cu12)",
            DefaultValueFactory = _ => Unlearn.Distributed.Nccl.NcclLibrary.FileName,
        };

    public static Option<int> Ranks() =>
        new("--ranks") { Description = "plan for this many data-parallel ranks (one device each): the per-rank memory", DefaultValueFactory = _ => 1 };
}
