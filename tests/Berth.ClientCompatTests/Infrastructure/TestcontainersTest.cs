using System.Net;
using Berth.IntegrationTests.Infrastructure;
using DotNet.Testcontainers.Containers;

namespace Berth.ClientCompatTests.Infrastructure;

/// <summary>A test class that uses Testcontainers against the shared berthd (configured before any Testcontainers type is touched).</summary>
public abstract class TestcontainersTest
{
    protected TestcontainersTest(DaemonFixture fixture)
    {
        Fixture = fixture;
        TestcontainersSetup.Configure(fixture);
    }

    protected DaemonFixture Fixture { get; }

    /// <summary>
    /// Starts <paramref name="container"/> (its wait strategies included) within <paramref name="timeout"/>, runs
    /// <paramref name="body"/>, disposes it whatever happened, and checks the dispose removed it from the daemon.
    /// </summary>
    protected async Task RunAsync<TContainer>(TContainer container, TimeSpan timeout, Func<TContainer, CancellationToken, Task> body)
        where TContainer : IContainer
    {
        string? id = null;
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            await container.StartAsync(cts.Token);
            id = container.Id;
            await body(container, cts.Token);
        }
        finally
        {
            await container.DisposeAsync();
        }

        using HttpResponseMessage response = await Fixture.Api.GetAsync($"/containers/{id}/json");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
