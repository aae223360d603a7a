namespace SimNpo.Model.SafeTensors;

/// <summary>
/// One tensor as a safetensors header describes it. DataBegin and DataEnd are byte offsets into the data buffer,
/// which starts right after the header. A scalar has an empty shape and one element.
/// </summary>
public sealed record TensorInfo(string Name, SafeTensorsDType DType, long[] Shape, long ElementCount, long DataBegin, long DataEnd)
{
    public long ByteLength => DataEnd - DataBegin;
}
