using Berth.IntegrationTests.Infrastructure;
using Berth.Registry;

namespace Berth.IntegrationTests;

/// <summary>
/// daemon.json's registry-mirrors: a docker.io pull goes to the mirror first (a berth-registry on loopback holding
/// library/busybox), so `docker pull busybox` works on a machine that cannot reach Docker Hub; a dead mirror listed
/// first is skipped.
/// </summary>
public sealed class RegistryMirrorTests(DaemonFixture fixture) : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("berth-mirror-").FullName;
    private RegistryServer.Running? _registry;
    private BerthDaemon? _daemon;

    public async Task InitializeAsync()
    {
        _registry = await RegistryServer.StartAsync("127.0.0.1:0", Path.Combine(_root, "data"), CancellationToken.None);
        _daemon = BerthDaemon.Create("mirror");
        // Port 1 on loopback refuses at once: the dead mirror is tried, skipped, then the live one serves.
        await _daemon.UseConfigFileAsync($"{{\"registry-mirrors\": [\"http://127.0.0.1:1\", \"{_registry.Address.TrimEnd('/')}\"]}}");
        await _daemon.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_daemon is not null)
        {
            await _daemon.DisposeAsync();
        }

        if (_registry is not null)
        {
            await _registry.DisposeAsync();
        }

        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task A_docker_io_pull_is_served_by_the_first_mirror_that_has_the_image()
    {
        // The shared daemon publishes busybox to the mirror as library/busybox, as a Docker Hub mirror holds it.
        string registry = new Uri(_registry!.Address).Authority;
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
        CommandResult pull = await _daemon!.Docker.SucceedAsync("pull", "busybox");
        Assert.Contains("Status: Downloaded newer image for busybox:latest", pull.Stdout, StringComparison.Ordinal);
        Assert.Equal(expected, (await _daemon.Docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", "busybox")).Stdout.Trim());
        Assert.Equal("from-mirror", (await _daemon.Docker.SucceedAsync("run", "--rm", "busybox", "echo", "from-mirror")).Stdout.Trim());

        // Not a docker.io image: mirrors are not asked, the named registry is (here: nothing listens on port 1).
        CommandResult elsewhere = await _daemon.Docker.RunAsync("pull", "127.0.0.1:1/library/busybox");
        Assert.NotEqual(0, elsewhere.ExitCode);
    }
}
