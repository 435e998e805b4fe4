using System.Text.RegularExpressions;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>Container lifecycle with the real CLI: detached runs, ps, logs, rm, name conflicts.</summary>
public sealed partial class DockerContainerTests(DaemonFixture fixture)
{
    private static readonly TimeSpan LogWait = TimeSpan.FromSeconds(10);
    private readonly DockerCli _docker = fixture.Docker;

    [Fact]
    public async Task Detached_container_shows_in_ps_gives_logs_and_is_force_removed()
    {
        string name = Names.Unique("detach");
        try
        {
            CommandResult run = await _docker.RunAsync("run", "-d", "--name", name, "busybox", "sh", "-c", "echo started; echo oops >&2; exec sleep 30");
            Assert.True(run.ExitCode == 0, run.ToString());
            string id = run.Stdout.Trim();
            Assert.Matches(FullId(), id);

            CommandResult ps = await _docker.SucceedAsync("ps", "--no-trunc");
            string line = Assert.Single(ps.Stdout.Split('\n'), l => l.EndsWith(name, StringComparison.Ordinal));
            Assert.StartsWith(id, line, StringComparison.Ordinal);
            Assert.Contains(" Up ", line, StringComparison.Ordinal);
            Assert.Contains("busybox", line, StringComparison.Ordinal);

            CommandResult logs = await _docker.WaitForOutputAsync(o => o.Contains("started", StringComparison.Ordinal), LogWait, "logs", name);
            Assert.Equal("started\n", logs.Stdout);
            Assert.Equal("oops\n", logs.Stderr);

            CommandResult inspect = await _docker.SucceedAsync("inspect", "--format", "{{.State.Status}} {{.State.Running}} {{.Name}}", name);
            Assert.Equal($"running true /{name}", inspect.Stdout.Trim());

            CommandResult rm = await _docker.RunAsync("rm", "-f", name);
            Assert.True(rm.ExitCode == 0, rm.ToString());
            Assert.Equal(name, rm.Stdout.Trim());

            CommandResult after = await _docker.SucceedAsync("ps", "-a", "--no-trunc");
            Assert.DoesNotContain(id, after.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task Ps_all_shows_an_exited_container_with_its_code()
    {
        string name = Names.Unique("exited");
        try
        {
            CommandResult run = await _docker.RunAsync("run", "--name", name, "busybox", "sh", "-c", "exit 7");
            Assert.True(run.ExitCode == 7, run.ToString());

            CommandResult running = await _docker.SucceedAsync("ps");
            Assert.DoesNotContain(name, running.Stdout, StringComparison.Ordinal);

            CommandResult all = await _docker.SucceedAsync("ps", "-a");
            string line = Assert.Single(all.Stdout.Split('\n'), l => l.EndsWith(name, StringComparison.Ordinal));
            Assert.Matches(@"Exited \(7\) .*ago", line);

            CommandResult inspect = await _docker.SucceedAsync("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name);
            Assert.Equal("exited 7", inspect.Stdout.Trim());

            CommandResult rm = await _docker.RunAsync("rm", name);
            Assert.True(rm.ExitCode == 0, rm.ToString());
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task Rm_of_a_running_container_without_force_fails_with_dockers_message()
    {
        string name = Names.Unique("busy");
        try
        {
            await _docker.SucceedAsync("run", "-d", "--name", name, "busybox", "sleep", "30");

            CommandResult rm = await _docker.RunAsync("rm", name);

            Assert.True(rm.ExitCode == 1, rm.ToString());
            Assert.Contains($"Error response from daemon: cannot remove container \"/{name}\": container is running: stop the container before removing or force remove", rm.Stderr, StringComparison.Ordinal);
            CommandResult inspect = await _docker.SucceedAsync("inspect", "--format", "{{.State.Running}}", name);
            Assert.Equal("true", inspect.Stdout.Trim());
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task Run_with_a_name_in_use_fails_with_a_conflict()
    {
        string name = Names.Unique("dup");
        try
        {
            CommandResult first = await _docker.RunAsync("run", "--name", name, "busybox", "true");
            Assert.True(first.ExitCode == 0, first.ToString());
            string id = (await _docker.SucceedAsync("inspect", "--format", "{{.Id}}", name)).Stdout.Trim();

            CommandResult second = await _docker.RunAsync("run", "--name", name, "busybox", "true");

            Assert.True(second.ExitCode == 125, second.ToString());
            Assert.Contains($"Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name.", second.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task Stop_ends_a_running_container()
    {
        string name = Names.Unique("stop");
        try
        {
            // A shell that exits on SIGTERM: stop must not need its SIGKILL fallback.
            await _docker.SucceedAsync("run", "-d", "--name", name, "busybox", "sh", "-c", "trap 'exit 143' TERM; echo ready; sleep 30 & wait");
            await _docker.WaitForOutputAsync(o => o.Contains("ready", StringComparison.Ordinal), LogWait, "logs", name);

            CommandResult stop = await _docker.RunAsync("stop", "-t", "10", name);

            Assert.True(stop.ExitCode == 0, stop.ToString());
            CommandResult inspect = await _docker.SucceedAsync("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name);
            Assert.Equal("exited 143", inspect.Stdout.Trim());
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex FullId();
}
