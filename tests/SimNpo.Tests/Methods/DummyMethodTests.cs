using SimNpo.Unlearn.Methods;

namespace SimNpo.Tests.Methods;

public class DummyMethodTests
{
    [Test]
    public void IsRegistered() => Assert.That(TrainingMethods.Get("dummy").Beta(null), Is.EqualTo(7));
}
