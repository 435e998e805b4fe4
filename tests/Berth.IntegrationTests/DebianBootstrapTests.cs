using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>
/// <c>berth image bootstrap debian</c>: debootstrap's minbase bookworm as one layer, shaped like Docker's official image.
/// The first bootstrap on a host runs debootstrap against the Debian mirror; later ones reuse the host-wide cache.
/// </summary>
public sealed class DebianBootstrapTests(DaemonFixture fixture)
{
    private readonly DockerCli _docker = fixture.Docker;

    [Fact]
    public async Task Bootstrap_makes_a_bookworm_image_with_docker_style_minimising_and_the_same_id_twice()
    {
        CommandResult first = await ProcessRunner.RunAsync(Binaries.Cli, ["-H", "unix://" + fixture.Daemon.SocketPath, "image", "bootstrap", "debian:bookworm"], stdin: null, timeout: TimeSpan.FromMinutes(8));
        Assert.True(first.ExitCode == 0, first.ToString());
        string id = (await _docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", "debian:bookworm")).Stdout.Trim();
        Assert.Equal(id, (await _docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", "debian:12")).Stdout.Trim());
        Assert.Equal("[bash]", (await _docker.SucceedAsync("image", "inspect", "--format", "{{.Config.Cmd}}", "debian:bookworm")).Stdout.Trim());

        // The image itself: bookworm, an empty /dev and no package lists (the runtime supplies /dev), services never
        // started by package scripts, apt pointed at bookworm, -updates and -security.
        CommandResult inside = await _docker.SucceedAsync("run", "--rm", "debian:bookworm", "sh", "-c",
            "cat /etc/debian_version; /usr/sbin/policy-rc.d; echo policy=$?; ls /var/lib/apt/lists; grep -h Suites /etc/apt/sources.list.d/debian.sources; dpkg -s apt | grep Status");
        string[] lines = inside.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("12.", lines[0], StringComparison.Ordinal);
        Assert.Contains("policy=101", lines);
        Assert.Contains("partial", lines);
        Assert.DoesNotContain(lines, l => l.Contains("_Packages", StringComparison.Ordinal));
        Assert.Contains("Suites: bookworm bookworm-updates", lines);
        Assert.Contains("Suites: bookworm-security", lines);
        Assert.Contains("Status: install ok installed", lines);

        // A second bootstrap comes from the host-wide cache: same layer, same image id.
        CommandResult second = await ProcessRunner.RunAsync(Binaries.Cli, ["-H", "unix://" + fixture.Daemon.SocketPath, "image", "bootstrap", "debian"], stdin: null, timeout: TimeSpan.FromMinutes(2));
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains("cached debootstrap", second.Stdout, StringComparison.Ordinal);
        Assert.Equal(id, (await _docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", "debian")).Stdout.Trim());
    }

    [Fact]
    public async Task Only_known_debian_tags_and_images_can_be_bootstrapped()
    {
        CommandResult unknown = await ProcessRunner.RunAsync(Binaries.Cli, ["-H", "unix://" + fixture.Daemon.SocketPath, "image", "bootstrap", "alpine"], stdin: null, timeout: TimeSpan.FromSeconds(30));
        Assert.NotEqual(0, unknown.ExitCode);
        Assert.Contains("Berth bootstraps busybox", unknown.Stderr, StringComparison.Ordinal);

        CommandResult suite = await ProcessRunner.RunAsync(Binaries.Cli, ["-H", "unix://" + fixture.Daemon.SocketPath, "image", "bootstrap", "debian:sid"], stdin: null, timeout: TimeSpan.FromSeconds(30));
        Assert.NotEqual(0, suite.ExitCode);
        Assert.Contains("debian can be bootstrapped as debian:latest, debian:bookworm, debian:12", suite.Stderr, StringComparison.Ordinal);
    }
}
