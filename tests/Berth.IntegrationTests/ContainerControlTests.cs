using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>pause, unpause, stop, kill, restart, rename and top through the docker CLI and berth.</summary>
public sealed class ContainerControlTests(DaemonFixture fixture)
{
    private readonly DockerCli _docker = fixture.Docker;

    private Task<CommandResult> BerthAsync(params string[] args) =>
        ProcessRunner.RunAsync(Binaries.Cli, ["-H", "unix://" + fixture.Daemon.SocketPath, .. args]);

    private async Task WithContainerAsync(Func<string, Task> test, params string[] command)
    {
        string name = Names.Unique("ctl");
        try
        {
            await _docker.SucceedAsync(["run", "-d", "--name", name, "busybox", .. (command.Length > 0 ? command : ["sleep", "300"])]);
            await test(name);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public Task A_paused_container_is_frozen_until_unpaused() => WithContainerAsync(async name =>
    {
        Assert.Equal(name + "\n", (await _docker.SucceedAsync("pause", name)).Stdout);
        Assert.Equal("paused true\n", (await _docker.SucceedAsync("inspect", "-f", "{{.State.Status}} {{.State.Paused}}", name)).Stdout);
        Assert.EndsWith("(Paused)\n", (await _docker.SucceedAsync("ps", "--filter", "name=" + name, "--format", "{{.Status}}")).Stdout, StringComparison.Ordinal);

        // The counter does not move while frozen (it moves every 20 ms when running).
        string counter = await CounterPathAsync(name);
        string before = File.ReadAllText(counter);
        await Task.Delay(300);
        Assert.Equal(before, File.ReadAllText(counter));

        CommandResult exec = await _docker.RunAsync("exec", name, "true");
        Assert.NotEqual(0, exec.ExitCode);
        Assert.Contains("is paused, unpause the container before exec", exec.Stderr, StringComparison.Ordinal);
        CommandResult again = await BerthAsync("pause", name);
        Assert.True(again.ExitCode == 1, again.ToString());
        Assert.Contains("is already paused", again.Stderr, StringComparison.Ordinal);
        CommandResult term = await _docker.RunAsync("kill", "-s", "TERM", name);
        Assert.Contains("Unpause the container before stopping or killing", term.Stderr, StringComparison.Ordinal);

        Assert.Equal(name + "\n", (await BerthAsync("unpause", name)).Stdout);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (File.ReadAllText(counter) == before)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), "the counter did not move after unpause");
            await Task.Delay(20);
        }

        Assert.Equal("running false\n", (await _docker.SucceedAsync("inspect", "-f", "{{.State.Status}} {{.State.Paused}}", name)).Stdout);
    }, "sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /tmp/counter; usleep 20000; done");

    /// <summary>The counter file through the container's rootfs on the host (readable while the container is frozen).</summary>
    private async Task<string> CounterPathAsync(string name) => Path.Combine(await RootfsAsync(name), "tmp", "counter");

    /// <summary>The container's root filesystem as the host sees it.</summary>
    private async Task<string> RootfsAsync(string name)
    {
        string id = (await _docker.SucceedAsync("inspect", "-f", "{{.Id}}", name)).Stdout.Trim();
        return Path.Combine(fixture.Daemon.DataRoot, "containers", id, "bundle", "rootfs");
    }

    [Fact]
    public Task Stopping_a_paused_container_kills_it() => WithContainerAsync(async name =>
    {
        await _docker.SucceedAsync("pause", name);
        Assert.Equal(name + "\n", (await _docker.SucceedAsync("stop", name)).Stdout);
        Assert.Equal("exited 137\n", (await _docker.SucceedAsync("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name)).Stdout);
    });

    [Fact]
    public Task Stop_kill_and_restart_through_berth() => WithContainerAsync(async name =>
    {
        string started = (await _docker.SucceedAsync("inspect", "-f", "{{.State.StartedAt}}", name)).Stdout;
        CommandResult restart = await BerthAsync("restart", "-t", "1", name);
        Assert.True(restart.ExitCode == 0, restart.ToString());
        Assert.Equal("running", (await _docker.SucceedAsync("inspect", "-f", "{{.State.Status}}", name)).Stdout.Trim());
        Assert.NotEqual(started, (await _docker.SucceedAsync("inspect", "-f", "{{.State.StartedAt}}", name)).Stdout);

        // PID 1 ignores signals it has no handler for, except SIGKILL, the default of kill. A kill with SIGKILL answers
        // once the container has stopped, as Docker's does: the next request already sees it exited.
        CommandResult kill = await BerthAsync("kill", name);
        Assert.True(kill.ExitCode == 0, kill.ToString());
        Assert.Equal("exited 137\n", (await _docker.SucceedAsync("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name)).Stdout);

        CommandResult stopped = await BerthAsync("stop", name, "bt-no-such-container");
        Assert.True(stopped.ExitCode == 1, stopped.ToString());
        Assert.Equal(name + "\n", stopped.Stdout);
        Assert.Contains("No such container: bt-no-such-container", stopped.Stderr, StringComparison.Ordinal);
    });

    [Fact]
    public Task A_kill_with_SIGKILL_answers_once_the_container_has_stopped() => WithContainerAsync(
        async name =>
        {
            // Docker's kill with SIGKILL waits for the exit: the very next request sees the container exited. The 400
            // sleepers make the exit slow (the kernel kills and reaps them all before PID 1's exit is reported), so a
            // kill that answered when the signal was sent would be seen running; requests are in-process for the same reason.
            // The shell marks the end of its forks in a file, read through the rootfs on the host: polling `top` (the
            // CLI and a host-wide ps every 100 ms) took more than 20 s to see the 400 once in CI.
            await HostFile.WaitForAsync(Path.Combine(await RootfsAsync(name), "tmp", "forked"), TimeSpan.FromSeconds(60));

            using (HttpResponseMessage kill = await fixture.Api.PostAsync($"/v1.50/containers/{name}/kill", content: null))
            {
                Assert.Equal(System.Net.HttpStatusCode.NoContent, kill.StatusCode);
            }

            using HttpResponseMessage inspect = await fixture.Api.GetAsync($"/v1.50/containers/{name}/json");
            System.Text.Json.JsonElement state = (await inspect.ReadJsonAsync()).GetProperty("State");
            Assert.Equal("exited 137 False", $"{state.GetProperty("Status").GetString()} {state.GetProperty("ExitCode").GetInt32()} {state.GetProperty("Running").GetBoolean()}");
        },
        "sh", "-c", "for i in $(seq 400); do sleep 1000 & done; touch /tmp/forked; wait");

    [Fact]
    public Task Rename_changes_the_name_and_refuses_one_in_use() => WithContainerAsync(async name =>
    {
        string renamed = name + "-new";
        await _docker.SucceedAsync("rename", name, renamed);
        try
        {
            Assert.Equal("/" + renamed + "\n", (await _docker.SucceedAsync("inspect", "-f", "{{.Name}}", renamed)).Stdout);
            Assert.NotEqual(0, (await _docker.RunAsync("inspect", name)).ExitCode);

            await _docker.SucceedAsync("create", "--name", name, "busybox");
            CommandResult taken = await BerthAsync("rename", renamed, name);
            Assert.True(taken.ExitCode == 1, taken.ToString());
            Assert.Contains("is already in use by container", taken.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(renamed);
        }
    });

    [Fact]
    public Task Top_lists_the_containers_processes() => WithContainerAsync(async name =>
    {
        CommandResult top = await _docker.SucceedAsync("top", name);
        string[] lines = top.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("UID", lines[0], StringComparison.Ordinal);
        Assert.Contains(lines.Skip(1), l => l.EndsWith("sleep 300", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("berthd", StringComparison.Ordinal));

        CommandResult custom = await BerthAsync("top", name, "-o", "pid,comm");
        Assert.True(custom.ExitCode == 0, custom.ToString());
        Assert.Matches(@"^PID\s+COMMAND\n\d+\s+sleep\n$", custom.Stdout);
    });
}
