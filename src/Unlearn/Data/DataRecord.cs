using SimNpo.Model;

namespace SimNpo.Unlearn.Data;

/// <summary>One line of a data file: either text to be put through the prompt template, or token ids taken as they are.</summary>
public abstract record DataRecord;

/// <summary>A TOFU-style question and answer, kept as text so that evaluation can compare generations with the answer.</summary>
public sealed record QaRecord(string Question, string Answer) : DataRecord;

/// <summary>A record given as token ids: the encoder adds nothing to it, not even BOS or EOS.</summary>
public sealed record PretokenizedRecord(TokenizedExample Example) : DataRecord;
