using Berth.IntegrationTests.Infrastructure;
using DotNet.Testcontainers.Configurations;

namespace Berth.ClientCompatTests.Infrastructure;

/// <summary>
/// Points Testcontainers at the test daemon the way a user's CI would: <c>DOCKER_HOST</c> names the socket and
/// <c>TESTCONTAINERS_RYUK_DISABLED=true</c> turns the reaper off (its image comes from Docker Hub, which is out of reach;
/// the tests remove what they start themselves). Testcontainers reads both once, when its settings are first touched,
/// so this runs before any Testcontainers type is used.
/// </summary>
public static class TestcontainersSetup
{
    private static readonly Lock Gate = new();
    private static string? _configuredSocket;

    public static void Configure(DaemonFixture fixture)
    {
        string socket = fixture.Daemon.SocketPath;
        lock (Gate)
        {
            if (_configuredSocket is null)
            {
                Environment.SetEnvironmentVariable("DOCKER_HOST", "unix://" + socket);
                Environment.SetEnvironmentVariable("TESTCONTAINERS_RYUK_DISABLED", "true");
                _configuredSocket = socket;
            }

            Assert.Equal(socket, _configuredSocket); // one daemon per assembly
        }

        // Testcontainers picked both up.
        Assert.False(TestcontainersSettings.ResourceReaperEnabled);
        Assert.Equal(new Uri("unix://" + socket), TestcontainersSettings.OS.DockerEndpointAuthConfig.Endpoint);
    }
}
