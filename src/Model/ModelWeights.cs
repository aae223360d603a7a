using System.Numerics;

namespace SimNpo.Model;

/// <summary>Writing weights from outside a step (loading, initialising): the stored weights and, when the model has them, the master weights
/// together.</summary>
public static class ModelWeights
{
    /// <summary>
    /// Sets elements [offset, offset + values.Length) of a tensor: the master weights take the values as they are, the stored
    /// weights their rounding to the model's precision, so the two agree as AdamW leaves them.
    /// </summary>
    public static void SetWeights<T>(this LlamaModel<T> model, ParameterEntry entry, int offset, ReadOnlySpan<T> values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        model.Weight(entry).Slice(offset, values.Length).CopyFrom(values);
        if (model.HasMasterWeights) model.MasterWeights[entry].Slice(offset, values.Length).CopyFrom(values);
    }
}
