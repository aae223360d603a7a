using SimNpo.Model;

namespace SimNpo.Unlearn.Training;

/// <summary>Training whose product is only the model (experiments' cached models): the run folder is a scratch removed afterwards.</summary>
public static class ModelTraining
{
    public static void TrainAndSave(LlamaModel<float> model, TrainingSettings settings, TrainingData data, string directory)
    {
        var scratch = directory + ".run";
        if (Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true);
        new TrainingJob<float>(model, settings, data, scratch, new SilentObserver()).Run(resume: false);
        ModelFiles.Save(model, directory);
        Directory.Delete(scratch, recursive: true);
    }
}
