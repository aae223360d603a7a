using System.CommandLine;

namespace SimNpo.Cli;

/// <summary>The options of open-unlearning's memorisation and MIA metrics in eval tofu and eval muse.</summary>
internal static class MiaOptions
{
    public static Option<DirectoryInfo?> ReferenceModel() => new("--reference-model")
    {
        Description = "reference model for open-unlearning's mia_reference (the loss difference to it), e.g. the retain model; default: no mia_reference",
    };

    public static Option<bool> NoGradientNorms() => new("--no-mia-gradnorm")
    {
        Description = "skip open-unlearning's mia_gradnorm (a forward and backward per forget and holdout item, with gradient buffers: "
            + "the costly attack on a large model)",
    };

    public static Option<string?> TofuHoldout() => new("--holdout")
    {
        Description = "TOFU holdout split for open-unlearning's MIA metrics (forget vs holdout): a name in --data-dir or a file "
            + "(default: holdoutNN matching --forget; without that file only exact_memorization and extraction_strength are computed)",
    };
}
