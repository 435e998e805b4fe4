using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>
/// Client libraries nobody here wrote, unchanged, against the shared berthd: docker-py 7.1 runs
/// tests/clients/test_docker_py.py (containers, exec, logs, images, build, networks, volumes, events, errors).
/// </summary>
public sealed class ClientScriptsTests(DaemonFixture fixture)
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(6);

    [Fact]
    public async Task Docker_py_suite_passes_against_berthd()
    {
        CommandResult version = await ProcessRunner.RunAsync("python3", ["-c", "import docker; print(docker.__version__)"]);
        Assert.True(version.ExitCode == 0, $"docker-py is not importable by python3 (PyPI is out of reach: it must come with the machine):\n{version}");
        Assert.StartsWith("7.", version.Stdout, StringComparison.Ordinal);

        string script = Path.Combine(Binaries.RepoRoot, "tests", "clients", "test_docker_py.py");
        var environment = new Dictionary<string, string?>
        {
            ["DOCKER_HOST"] = "unix://" + fixture.Daemon.SocketPath,
            ["DOCKER_CONFIG"] = Path.Combine(fixture.Daemon.Root, "docker-config"),
            ["DOCKER_TLS_VERIFY"] = null,
            ["DOCKER_CERT_PATH"] = null,
            ["PYTHONUNBUFFERED"] = "1",
        };
        CommandResult result = await ProcessRunner.RunAsync("python3", [script], environment, timeout: ScriptTimeout);
        Assert.True(result.ExitCode == 0, $"docker-py suite failed:\n{result}");
        // unittest reports on stderr; an empty run must not pass as a green one.
        Assert.Matches(@"Ran [1-9]\d+ tests", result.Stderr);
        Assert.EndsWith("OK", result.Stderr.TrimEnd(), StringComparison.Ordinal);
    }
}
