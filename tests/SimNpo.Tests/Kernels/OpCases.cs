namespace SimNpo.Tests.Kernels;

/// <summary>
/// Every op's case list, each kept beside the op's reference tests. A new op adds its list here, and so runs in
/// <see cref="GradientTests"/> (its small cases) and <see cref="OpAgreementTests"/> (every case on every backend).
/// </summary>
public static class OpCases
{
    public static IEnumerable<OpCase> All =>
    [
        .. GatherRowsCase.Cases, .. RmsNormCase.Cases, .. MatMulCase.Cases, .. RopeCase.Cases, .. AttentionCase.Cases, .. GatedActivationCase.Cases,
        .. ActivateCase.Cases, .. LogSoftmaxAtLabelsCase.Cases, .. KlDivergenceCase.Cases,
        .. LayerNormCase.Cases, .. AddBiasCase.Cases,
    ];
}
