using SimNpo.Unlearn.Hub;

namespace SimNpo.Tests.Hub;

/// <summary>Each test gets a fresh loopback Hub and a temporary folder holding its cache.</summary>
public abstract class LoopbackHubFixture
{
    protected TempDirectory Work { get; private set; } = null!;
    protected LoopbackHub Server { get; private set; } = null!;

    [SetUp]
    public void StartHub()
    {
        Work = new TempDirectory();
        Server = new LoopbackHub();
    }

    [TearDown]
    public void StopHub()
    {
        Server.Dispose();
        Work.Dispose();
    }

    /// <summary>The loopback Hub with the cache in the test's folder.</summary>
    protected HubSettings Settings(bool offline = false, string? token = null) => new(Server.Endpoint, Work.File("cache"), token, offline);
}
