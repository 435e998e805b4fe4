using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>
/// daemon.json's registry-mirrors: a docker.io pull goes to the mirror first (a berth-registry on loopback holding
/// library/busybox), so `docker pull busybox` works on a machine that cannot reach Docker Hub; a dead mirror listed
/// first is skipped.
/// </summary>
public sealed class RegistryMirrorTests(DaemonFixture fixture) : IAsyncLifetime
{
    private DaemonBesideRegistry? _pair;

    // Port 1 on loopback refuses at once: the dead mirror is tried, skipped, then the live one serves.
    public async Task InitializeAsync() =>
        _pair = await DaemonBesideRegistry.StartAsync("mirror", registry => $"{{\"registry-mirrors\": [\"http://127.0.0.1:1\", \"{registry.TrimEnd('/')}\"]}}");

    public async Task DisposeAsync()
    {
        if (_pair is not null)
        {
            await _pair.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_docker_io_pull_is_served_by_the_first_mirror_that_has_the_image()
    {
        // The shared daemon publishes busybox to the mirror as library/busybox, as a Docker Hub mirror holds it.
        string registry = _pair!.RegistryHost;
        string onMirror = $"{registry}/library/busybox:latest";
        await fixture.Docker.SucceedAsync("tag", "busybox", onMirror);
        try
        {
            await fixture.Docker.SucceedAsync("push", onMirror);
        }
        finally
        {
            await fixture.Docker.RunAsync("rmi", onMirror);
        }

        string expected = (await fixture.Docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", "busybox")).Stdout.Trim();
        CommandResult pull = await _pair.Daemon.Docker.SucceedAsync("pull", "busybox");
        Assert.Contains("Status: Downloaded newer image for busybox:latest", pull.Stdout, StringComparison.Ordinal);
        Assert.Equal(expected, (await _pair.Daemon.Docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", "busybox")).Stdout.Trim());
        Assert.Equal("from-mirror", (await _pair.Daemon.Docker.SucceedAsync("run", "--rm", "busybox", "echo", "from-mirror")).Stdout.Trim());

        // Not a docker.io image: mirrors are not asked, the named registry is (here: nothing listens on port 1).
        CommandResult elsewhere = await _pair.Daemon.Docker.RunAsync("pull", "127.0.0.1:1/library/busybox");
        Assert.NotEqual(0, elsewhere.ExitCode);
    }
}
