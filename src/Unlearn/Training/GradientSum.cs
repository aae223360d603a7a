namespace SimNpo.Unlearn.Training;

/// <summary>How a step's gradients are summed across the ranks of a data-parallel run (--gradient-sum).</summary>
public enum GradientSum
{
    /// <summary>
    /// NCCL on CUDA with several ranks when its library loads, else the ordered host sum; one process on a device
    /// accumulates its micro-batches there.
    /// </summary>
    Auto,

    /// <summary>NCCL on the device buffers with any number of ranks, one included; an error where it cannot be loaded.</summary>
    Nccl,

    /// <summary>The ordered sum through host memory, also for one process on a device: the same bits for any number of ranks.</summary>
    Host,
}
