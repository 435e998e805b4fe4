using System.Net;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary><c>docker run -t</c> and <c>docker exec -t</c>: stdio is a PTY relayed raw, and <c>/resize</c> sets its size.</summary>
public sealed class DockerTtyTests(DaemonFixture fixture)
{
    private readonly DockerCli _docker = fixture.Docker;

    [Fact]
    public async Task Run_with_t_gives_a_raw_stream_with_the_terminals_line_endings()
    {
        CommandResult result = await _docker.RunAsync("run", "-t", "--rm", "busybox", "sh", "-c", "echo hi");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("hi\r\n", result.Stdout);
    }

    [Fact]
    public async Task Run_with_t_exits_with_the_container_exit_code()
    {
        CommandResult result = await _docker.RunAsync("run", "-t", "--rm", "busybox", "sh", "-c", "exit 3");

        Assert.True(result.ExitCode == 3, result.ToString());
    }

    [Fact]
    public async Task Run_with_t_under_a_terminal_gives_the_container_a_pts()
    {
        // script(1) gives the docker CLI a terminal of its own, as a user's shell would.
        CommandResult result = await ProcessRunner.RunAsync(
            "script", ["-qec", "docker run -t --rm busybox tty", "/dev/null"],
            new Dictionary<string, string?> { ["DOCKER_HOST"] = "unix://" + fixture.Daemon.SocketPath, ["DOCKER_CONFIG"] = Path.Combine(fixture.Daemon.Root, "docker-config") });

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"^/dev/pts/\d+\r+\n$", result.Stdout); // the outer terminal adds its own \r
    }

    [Fact]
    public async Task Run_with_t_under_a_terminal_starts_with_the_clients_size()
    {
        // The container outlives the CLI's resize after the start (a second): a container gone by then makes the
        // docker CLI print "failed to resize tty, using default size", against dockerd too (409, not running).
        CommandResult result = await InTerminalAsync("stty rows 34 cols 98; docker run -t --rm busybox sh -c 'stty size; sleep 1'");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"^34 98\r+\n$", result.Stdout);
    }

    [Fact]
    public async Task Run_with_it_takes_typed_input()
    {
        CommandResult result = await ProcessRunner.RunAsync(
            "sh", ["-c", "(sleep 1; printf 'echo typ\"\"ed\\r'; sleep 1; printf 'exit 6\\r'; sleep 1) | script -qec 'docker run -it --rm busybox sh' /dev/null"],
            new Dictionary<string, string?> { ["DOCKER_HOST"] = "unix://" + fixture.Daemon.SocketPath, ["DOCKER_CONFIG"] = Path.Combine(fixture.Daemon.Root, "docker-config") });

        Assert.Contains("typed\r\n", result.Stdout, StringComparison.Ordinal);
        Assert.True(result.ExitCode == 6, result.ToString());
    }

    [Fact]
    public async Task Resize_sets_the_size_of_the_containers_terminal()
    {
        string name = Names.Unique("tty-resize");
        try
        {
            await _docker.SucceedAsync("run", "-d", "-t", "--name", name, "busybox", "sh", "-c", "while true; do stty size; sleep 0.2; done");

            using HttpResponseMessage resize = await fixture.Api.PostAsync($"/v1.50/containers/{name}/resize?h=41&w=123", null);
            Assert.Equal(HttpStatusCode.OK, resize.StatusCode);

            // docker logs of a TTY container reads a raw stream: no frame headers in the text.
            CommandResult logs = await _docker.WaitForOutputAsync(o => o.Contains("41 123\r\n", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "logs", name);
            Assert.DoesNotContain('\0', logs.Stdout);
            Assert.Equal("", logs.Stderr);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task Resize_of_a_container_without_a_tty_is_accepted_and_of_a_missing_one_is_a_404()
    {
        string name = Names.Unique("notty-resize");
        try
        {
            await _docker.SucceedAsync("run", "-d", "--name", name, "busybox", "sleep", "30");

            using HttpResponseMessage resize = await fixture.Api.PostAsync($"/v1.50/containers/{name}/resize?h=10&w=10", null);
            Assert.Equal(HttpStatusCode.OK, resize.StatusCode);

            using HttpResponseMessage missing = await fixture.Api.PostAsync("/v1.50/containers/NOPE/resize?h=10&w=10", null);
            await missing.AssertErrorAsync(HttpStatusCode.NotFound);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task Exec_with_t_gives_a_raw_stream_and_the_exit_code()
    {
        await WithContainerAsync(async name =>
        {
            CommandResult echo = await _docker.RunAsync("exec", "-t", name, "sh", "-c", "echo hi");
            Assert.True(echo.ExitCode == 0, echo.ToString());
            Assert.Equal("hi\r\n", echo.Stdout);

            CommandResult exit = await _docker.RunAsync("exec", "-t", name, "sh", "-c", "exit 7");
            Assert.True(exit.ExitCode == 7, exit.ToString());

            CommandResult missing = await _docker.RunAsync("exec", "-t", name, "nosuchcmd");
            Assert.True(missing.ExitCode == 127, missing.ToString());
        });
    }

    [Fact]
    public async Task Exec_with_t_under_a_terminal_gets_a_pts_of_the_clients_size()
    {
        await WithContainerAsync(async name =>
        {
            CommandResult result = await InTerminalAsync($"stty rows 33 cols 99; docker exec -t {name} sh -c 'tty; stty size'");

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Matches(@"^/dev/pts/\d+\r+\n33 99\r+\n$", result.Stdout);
        });
    }

    [Fact]
    public async Task Exec_with_it_takes_typed_input()
    {
        await WithContainerAsync(async name =>
        {
            CommandResult result = await ProcessRunner.RunAsync(
                "sh", ["-c", $"(sleep 1; printf 'echo typ\"\"ed\\r'; sleep 1; printf 'exit 5\\r'; sleep 1) | script -qec 'docker exec -it {name} sh' /dev/null"],
                Environment());

            Assert.Contains("typed\r\n", result.Stdout, StringComparison.Ordinal);
            Assert.True(result.ExitCode == 5, result.ToString());
        });
    }

    private Dictionary<string, string?> Environment() =>
        new() { ["DOCKER_HOST"] = "unix://" + fixture.Daemon.SocketPath, ["DOCKER_CONFIG"] = Path.Combine(fixture.Daemon.Root, "docker-config") };

    /// <summary>Runs a shell command line under script(1), so the docker CLI has a terminal of its own.</summary>
    private Task<CommandResult> InTerminalAsync(string commandLine) =>
        ProcessRunner.RunAsync("script", ["-qec", commandLine, "/dev/null"], Environment());

    private async Task WithContainerAsync(Func<string, Task> test)
    {
        string name = Names.Unique("tty-exec");
        try
        {
            await _docker.SucceedAsync("run", "-d", "--name", name, "busybox", "sleep", "300");
            await test(name);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }
}
