using System.CommandLine;

namespace SimNpo.Cli;

/// <summary>The options of data-parallel runs that this branch adds: ZeRO stage 1 and the ranks a plan is made for.</summary>
public static partial class CommonOptions
{
    public static Option<bool> ShardOptimizer() =>
        new("--shard-optimizer")
        {
            Description = "ZeRO stage 1 under several ranks: each rank keeps the AdamW moments and fp32 master weights of its 1/N slice of the "
                + "parameters only (the same results, bit for bit, as unsharded)",
        };

    public static Option<int> Ranks() =>
        new("--ranks") { Description = "plan for this many data-parallel ranks (one device each): the per-rank memory", DefaultValueFactory = _ => 1 };
}
