using Berth.IntegrationTests.Infrastructure;
using Docker.DotNet;

namespace Berth.ClientCompatTests.Infrastructure;

/// <summary>A test class that drives the shared berthd with its own Docker.DotNet client.</summary>
public abstract class DockerClientTest(DaemonFixture fixture) : IDisposable
{
    protected DockerClient Client { get; } = DockerClients.Create(fixture);

    public void Dispose()
    {
        Client.Dispose();
        GC.SuppressFinalize(this);
    }
}
