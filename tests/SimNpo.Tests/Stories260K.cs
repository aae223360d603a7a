using SimNpo.Model.Conversion;

namespace SimNpo.Tests;

/// <summary>The shared stories260K llama2.c model, and its conversion to a Hugging Face directory.</summary>
public static class Stories260K
{
    public static string Checkpoint => SharedFiles.Require("models/stories260K/stories260K.bin");

    public static string Vocabulary => SharedFiles.Require("models/stories260K/tok512.bin");

    /// <summary>Converts into the directory and returns its path.</summary>
    public static string ConvertInto(TempDirectory directory)
    {
        Llama2CConverter.Convert(Checkpoint, Vocabulary, directory.Path);
        return directory.Path;
    }
}

/// <summary>A test class whose tests share one converted stories260K directory (Model), made once and removed at the end.</summary>
public abstract class ConvertedStories260KTests
{
    protected TempDirectory Model { get; private set; } = null!;

    [OneTimeSetUp]
    public void ConvertStories260K()
    {
        Model = new TempDirectory();
        Stories260K.ConvertInto(Model);
    }

    /// <summary>Also after a setup stopped by a missing shared file.</summary>
    [OneTimeTearDown]
    public void RemoveStories260K() => Model?.Dispose();
}
