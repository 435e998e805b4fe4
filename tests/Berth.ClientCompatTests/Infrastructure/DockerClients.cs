using Docker.DotNet;
using Docker.DotNet.Models;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.ClientCompatTests.Infrastructure;

/// <summary>Docker.DotNet clients on the test daemon's socket, configured as a user would (no API version pinned).</summary>
public static class DockerClients
{
    /// <summary>Bounds every request that is not a stream the test reads itself.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(60);

    public static DockerClient Create(DaemonFixture fixture) =>
        new DockerClientBuilder().WithEndpoint(new Uri("unix://" + fixture.Daemon.SocketPath)).WithTimeout(RequestTimeout).Build();

    /// <summary>Creates a busybox container; returns its id.</summary>
    public static async Task<string> CreateBusyboxAsync(this DockerClient client, string name, bool tty, params string[] command)
    {
        CreateContainerResponse created = await client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = name,
            Image = "busybox",
            Cmd = command,
            Tty = tty,
            AttachStdout = true,
            AttachStderr = true,
        });
        Assert.False(string.IsNullOrEmpty(created.ID));
        return created.ID;
    }

    /// <summary>For a finally block: removes a container with force, whatever state it is in; never throws.</summary>
    public static async Task RemoveContainerQuietlyAsync(this DockerClient client, string id)
    {
        try
        {
            await client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true, RemoveVolumes = true });
        }
        catch (Exception e) when (e is DockerApiException or HttpRequestException or OperationCanceledException or TimeoutException)
        {
            // Gone already, or the daemon is in trouble: the fixture's audit reports what is left.
        }
    }

    /// <summary>For a finally block: removes an image (by name or id) with force; never throws.</summary>
    public static async Task RemoveImageQuietlyAsync(this DockerClient client, string name)
    {
        try
        {
            _ = await client.Images.DeleteImageAsync(name, new ImageDeleteParameters { Force = true });
        }
        catch (Exception e) when (e is DockerApiException or HttpRequestException or OperationCanceledException or TimeoutException)
        {
        }
    }

    /// <summary>A bounded cancellation for one stream the test reads.</summary>
    public static CancellationTokenSource Bound(int seconds = 30) => new(TimeSpan.FromSeconds(seconds));
}
