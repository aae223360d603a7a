namespace SimNpo.Unlearn.Evaluation;

/// <summary>
/// The files a MUSE evaluation reads. A data folder is either ours (verbmem.json, knowmem_qa.json, knowmem_qa_icl.json)
/// or MUSE's released layout (muse_bench constants.py DEFAULT_DATA): verbmem/forget.json,
/// knowmem/{forget,retain}_qa.json with their _icl examples, and privleak/{forget,holdout}.json, each used when there;
/// or the Hub's Parquet layout of the same parts (<see cref="MuseHubLayout"/>). Options given explicitly win over the folder's files.
/// </summary>
public sealed record MuseFiles(string VerbMem, string KnowMem, string KnowMemExamples, string? RetainQa, string? RetainQaExamples,
    string? PrivLeakForget, string? PrivLeakHoldout)
{
    public static MuseFiles Of(MuseSettings settings)
    {
        string In(params string[] parts) => Path.Combine([settings.DataDirectory, .. parts]);
        string? IfThere(string path) => File.Exists(path) ? path : null;
        var released = File.Exists(In("verbmem", "forget.json"));
        var files = MuseHubLayout.Files(settings.DataDirectory) ?? (released
            ? new MuseFiles(In("verbmem", "forget.json"), In("knowmem", "forget_qa.json"), In("knowmem", "forget_qa_icl.json"),
                IfThere(In("knowmem", "retain_qa.json")), IfThere(In("knowmem", "retain_qa_icl.json")),
                IfThere(In("privleak", MuseData.PrivLeakForgetFile)), IfThere(In("privleak", MuseData.PrivLeakHoldoutFile)))
            : new MuseFiles(In(MuseData.VerbMemFile), In(MuseData.KnowMemFile), In(MuseData.KnowMemExamplesFile), null, null, null, null));
        files = files with
        {
            RetainQa = settings.RetainQaPath ?? files.RetainQa,
            RetainQaExamples = settings.RetainQaExamplesPath ?? files.RetainQaExamples,
        };
        if (settings.PrivLeakDirectory is { } privLeak)
            return files with
            {
                PrivLeakForget = Path.Combine(privLeak, MuseData.PrivLeakForgetFile), PrivLeakHoldout = Path.Combine(privLeak, MuseData.PrivLeakHoldoutFile),
            };
        // Holdout texts alone are scored against the VerbMem passages.
        if (settings.HoldoutPath is { } holdout) return files with { PrivLeakForget = null, PrivLeakHoldout = holdout };
        return files.PrivLeakForget is null || files.PrivLeakHoldout is null ? files with { PrivLeakForget = null, PrivLeakHoldout = null } : files;
    }
}
