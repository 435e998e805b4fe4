using System.Diagnostics;
using System.Text.Json;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>The live-restore tests kill their daemon: they get one of their own and run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LiveRestoreCollection : ICollectionFixture<LiveRestoreDaemon>
{
    public const string Name = "live restore (own daemon, alone)";
}

/// <summary>A berthd of its own (not the shared one) that these tests may SIGKILL and start again on the same roots.</summary>
public sealed class LiveRestoreDaemon : IAsyncLifetime
{
    private BerthDaemon? _daemon;

    public BerthDaemon Daemon => _daemon ?? throw new InvalidOperationException("the live-restore berthd did not start");

    public async Task InitializeAsync()
    {
        _daemon = BerthDaemon.Create("live-restore");
        await _daemon.StartAsync();
        await _daemon.BootstrapAsync("busybox");
    }

    public async Task DisposeAsync()
    {
        if (_daemon is not null)
        {
            await _daemon.DisposeAsync();
        }
    }
}

[Collection(LiveRestoreCollection.Name)]
public sealed class LiveRestoreTests(LiveRestoreDaemon fixture)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);
    private readonly BerthDaemon _daemon = fixture.Daemon;
    private DockerCli Docker => _daemon.Docker;

    [Fact]
    public async Task A_running_container_survives_a_daemon_crash_and_can_be_stopped_after_restart()
    {
        string name = Names.Unique("survive");
        await EnsureStartedAsync();
        try
        {
            string id = (await Docker.SucceedAsync("run", "-d", "--name", name, "busybox", "sleep", "30")).Stdout.Trim();
            int pid = await PidAsync(name);
            Assert.True(pid > 0);

            await _daemon.KillAsync();
            Assert.Equal("running", await RuntimeStatusAsync(id)); // berthd's death did not touch the container
            Assert.True(Directory.Exists($"/proc/{pid}"), $"container process {pid} died with berthd");

            await _daemon.StartAsync();

            CommandResult ps = await Docker.SucceedAsync("ps", "--no-trunc", "--format", "{{.ID}} {{.Names}} {{.Status}}");
            Assert.Contains(ps.Stdout.Split('\n'), l => l.StartsWith($"{id} {name} Up ", StringComparison.Ordinal));
            CommandResult inspect = await Docker.SucceedAsync("inspect", "--format", "{{.State.Status}} {{.State.Running}} {{.State.Pid}}", name);
            Assert.Equal($"running true {pid}", inspect.Stdout.Trim());

            // sleep as pid 1 ignores SIGTERM: stop must fall back to SIGKILL after its timeout, and the restored daemon must see the exit.
            CommandResult stop = await Docker.RunAsync("stop", "-t", "1", name);
            Assert.True(stop.ExitCode == 0, stop + "\n" + _daemon.LogTail());

            CommandResult exited = await Docker.SucceedAsync("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}", name);
            Assert.Equal("exited 137 false", exited.Stdout.Trim());
            CommandResult all = await Docker.SucceedAsync("ps", "-a", "--format", "{{.Names}} {{.Status}}");
            Assert.Contains(all.Stdout.Split('\n'), l => l.StartsWith($"{name} Exited (137) ", StringComparison.Ordinal));
            Assert.False(Directory.Exists($"/proc/{pid}"), $"container process {pid} outlived docker stop");
            Assert.Equal("", await RuntimeStatusGoneAsync(id));

            CommandResult rm = await Docker.RunAsync("rm", name);
            Assert.True(rm.ExitCode == 0, rm.ToString());
        }
        finally
        {
            await RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task Published_ports_of_a_running_container_answer_again_after_a_daemon_crash()
    {
        string name = Names.Unique("ports");
        await EnsureStartedAsync();
        try
        {
            await Docker.SucceedAsync("run", "-d", "--name", name, "-p", "127.0.0.1:0:80", "busybox", "sh", "-c", "echo still-here > /tmp/index.html; httpd -f -p 80 -h /tmp");
            string mapping = (await Docker.SucceedAsync("port", name, "80")).Stdout.Trim();
            Assert.Contains("still-here", await DockerNetworkTests.GetAsync($"http://{mapping}/index.html"), StringComparison.Ordinal);

            await _daemon.KillAsync();
            await _daemon.StartAsync();

            Assert.Equal(mapping, (await Docker.SucceedAsync("port", name, "80")).Stdout.Trim());
            Assert.Contains("still-here", await DockerNetworkTests.GetAsync($"http://{mapping}/index.html"), StringComparison.Ordinal);
        }
        finally
        {
            await RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task The_embedded_dns_of_running_containers_answers_again_after_a_daemon_crash()
    {
        string net = Names.Unique("lrdns"), asker = Names.Unique("asker"), target = Names.Unique("target");
        await EnsureStartedAsync();
        try
        {
            await Docker.SucceedAsync("network", "create", net);
            await Docker.SucceedAsync("run", "-d", "--name", target, "--network", net, "busybox", "sleep", "300");
            await Docker.SucceedAsync("run", "-d", "--name", asker, "--network", net, "busybox", "sleep", "300");
            string ip = (await Docker.SucceedAsync("inspect", "-f", $"{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}", target)).Stdout.Trim();
            Assert.Contains(ip, (await Docker.SucceedAsync("exec", asker, "nslookup", target)).Stdout, StringComparison.Ordinal);

            await _daemon.KillAsync(); // its sockets in the containers' namespaces die with it
            await _daemon.StartAsync();

            Assert.Contains(ip, (await Docker.SucceedAsync("exec", asker, "nslookup", target)).Stdout, StringComparison.Ordinal);
        }
        finally
        {
            await RemoveQuietlyAsync(asker);
            await RemoveQuietlyAsync(target);
            if (_daemon.Pid is not null)
            {
                await Docker.RunAsync("network", "rm", net);
            }
        }
    }

    [Fact]
    public async Task A_container_that_exits_while_the_daemon_is_down_is_shown_exited_with_its_code()
    {
        string name = Names.Unique("downexit");
        await EnsureStartedAsync();
        try
        {
            string id = (await Docker.SucceedAsync("run", "-d", "--name", name, "busybox", "sh", "-c", "trap 'exit 42' TERM; echo ready; sleep 30 & wait")).Stdout.Trim();
            await Docker.WaitForOutputAsync(o => o.Contains("ready", StringComparison.Ordinal), Bound, "logs", name); // the trap is set

            await _daemon.KillAsync();
            CommandResult kill = await ProcessRunner.RunAsync("runc", ["--root", _daemon.RuntimeRoot, "kill", id, "TERM"]);
            Assert.True(kill.ExitCode == 0, kill.ToString());
            // The monitor records the exit in exit.json while nobody listens; wait (bounded) for that record.
            string exitFile = Path.Combine(_daemon.ExecRoot, "c", id, "exit.json");
            await WaitUntilAsync(() => File.Exists(exitFile), $"{exitFile} to be written");

            await _daemon.StartAsync();

            CommandResult inspect = await Docker.SucceedAsync("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}", name);
            Assert.Equal("exited 42 false", inspect.Stdout.Trim());
            CommandResult all = await Docker.SucceedAsync("ps", "-a", "--format", "{{.Names}} {{.Status}}");
            Assert.Contains(all.Stdout.Split('\n'), l => l.StartsWith($"{name} Exited (42) ", StringComparison.Ordinal));
            CommandResult running = await Docker.SucceedAsync("ps", "--format", "{{.Names}}");
            Assert.DoesNotContain(name, running.Stdout, StringComparison.Ordinal);
            CommandResult wait = await Docker.SucceedAsync("wait", name);
            Assert.Equal("42", wait.Stdout.Trim());
            CommandResult logs = await Docker.SucceedAsync("logs", name);
            Assert.Equal("ready\n", logs.Stdout);

            CommandResult rm = await Docker.RunAsync("rm", name);
            Assert.True(rm.ExitCode == 0, rm.ToString());
            Assert.Empty(HostCleanup.MountsUnder(Path.Combine(_daemon.DataRoot, "containers", id)));
        }
        finally
        {
            await RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task Twenty_containers_survive_a_daemon_kill_keep_logging_and_stop_after_restart()
    {
        await EnsureStartedAsync();
        string prefix = Names.Unique("twenty");
        string[] names = [.. Enumerable.Range(1, 20).Select(i => $"{prefix}-{i}")];
        try
        {
            // Each prints a numbered line every 0.2 s; the last one exits 7 on its own while the daemon is down.
            foreach (string name in names[..^1])
            {
                await Docker.SucceedAsync("run", "-d", "--name", name, "busybox", "sh", "-c", "i=0; while true; do i=$((i+1)); echo line $i; sleep 0.2; done");
            }

            await Docker.SucceedAsync("run", "-d", "--name", names[^1], "busybox", "sh", "-c", "echo ready; sleep 5; exit 7");
            await Docker.WaitForOutputAsync(o => o.Contains("ready", StringComparison.Ordinal), Bound, "logs", names[^1]);
            string lastId = (await Docker.SucceedAsync("inspect", "--format", "{{.Id}}", names[^1])).Stdout.Trim();

            await _daemon.KillAsync();
            // Output written while nobody listens must reach the logs: wait (bounded) past the exit of the last one.
            await WaitUntilAsync(() => File.Exists(Path.Combine(_daemon.ExecRoot, "c", lastId, "exit.json")), "the last container's exit record");
            await _daemon.StartAsync();

            CommandResult ps = await Docker.SucceedAsync("ps", "--filter", $"name={prefix}", "--format", "{{.Names}}");
            Assert.Equal(19, ps.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
            Assert.Equal("exited 7", (await Docker.SucceedAsync("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", names[^1])).Stdout.Trim());

            // Lines keep coming, numbered without a gap across the time the daemon was dead.
            CommandResult logs = await Docker.SucceedAsync("logs", names[0]);
            int[] numbers = [.. logs.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => int.Parse(l["line ".Length..], System.Globalization.CultureInfo.InvariantCulture))];
            Assert.Equal(Enumerable.Range(1, numbers.Length), numbers);
            Assert.True(numbers.Length >= 10, $"only {numbers.Length} lines");

            CommandResult stop = await Docker.RunAsync(["stop", "-t", "1", .. names[..^1]]);
            Assert.True(stop.ExitCode == 0, stop + "\n" + _daemon.LogTail());
            CommandResult stillUp = await Docker.SucceedAsync("ps", "--filter", $"name={prefix}", "--format", "{{.Names}}");
            Assert.Equal("", stillUp.Stdout.Trim());
        }
        finally
        {
            await Docker.RunAsync(["rm", "-f", .. names]);
        }
    }

    [Fact]
    public async Task A_graceful_stop_exits_0_cleans_up_its_socket_and_leaves_containers_running()
    {
        string name = Names.Unique("graceful");
        await EnsureStartedAsync();
        try
        {
            string id = (await Docker.SucceedAsync("run", "-d", "--name", name, "busybox", "sleep", "30")).Stdout.Trim();

            int? exitCode = await _daemon.StopAsync();

            Assert.True(exitCode == 0, $"berthd exited {exitCode} on SIGTERM\n{_daemon.LogTail()}");
            Assert.False(File.Exists(_daemon.SocketPath), "berthd left its socket behind");
            Assert.False(File.Exists(Path.Combine(_daemon.ExecRoot, "berthd.pid")), "berthd left its pid file behind");
            Assert.Equal("running", await RuntimeStatusAsync(id));

            await _daemon.StartAsync();
            CommandResult inspect = await Docker.SucceedAsync("inspect", "--format", "{{.State.Status}}", name);
            Assert.Equal("running", inspect.Stdout.Trim());
            CommandResult rm = await Docker.RunAsync("rm", "-f", name);
            Assert.True(rm.ExitCode == 0, rm.ToString());
            Assert.Equal("", await RuntimeStatusGoneAsync(id));
        }
        finally
        {
            await RemoveQuietlyAsync(name);
        }
    }

    /// <summary>A failed test may leave the daemon down: the next test starts it again.</summary>
    [Fact]
    public async Task What_removals_set_aside_and_a_crash_left_behind_is_deleted_at_the_next_start()
    {
        await EnsureStartedAsync();
        // What a removal renames aside before deleting it after its reply, as a SIGKILL between the two leaves it.
        string own = Path.Combine(_daemon.DataRoot, "removing", new string('e', 64));
        string snapshot = Path.Combine(_daemon.DataRoot, "overlay2", "active", ".removed-" + new string('e', 64));
        try
        {
            await _daemon.KillAsync();
            Directory.CreateDirectory(Path.Combine(own, "bundle", "rootfs"));
            File.WriteAllText(Path.Combine(own, "hosts"), "127.0.0.1 localhost\n");
            Directory.CreateDirectory(Path.Combine(snapshot, "upper", "etc"));
            Directory.CreateDirectory(Path.Combine(snapshot, "work", "work"));

            await _daemon.StartAsync();

            Assert.False(Directory.Exists(own), $"{own} survived the restart");
            Assert.False(Directory.Exists(snapshot), $"{snapshot} survived the restart");
        }
        finally
        {
            await EnsureStartedAsync();
            if (Directory.Exists(own))
            {
                Directory.Delete(own, recursive: true);
            }

            if (Directory.Exists(snapshot))
            {
                Directory.Delete(snapshot, recursive: true);
            }
        }
    }

    private async Task EnsureStartedAsync()
    {
        if (_daemon.Pid is null)
        {
            await _daemon.StartAsync();
        }
    }

    private async Task RemoveQuietlyAsync(string name)
    {
        if (_daemon.Pid is not null)
        {
            await Docker.RemoveQuietlyAsync(name);
        }
    }

    private async Task<int> PidAsync(string name)
    {
        CommandResult inspect = await Docker.SucceedAsync("inspect", "--format", "{{json .State.Pid}}", name);
        return JsonSerializer.Deserialize<int>(inspect.Stdout);
    }

    /// <summary>The runtime's view of a container: its status, or "" when runc does not know it.</summary>
    /// <summary>
    /// The runtime's state of a removed container, once it is gone: the monitor deletes it just after it reports the
    /// exit, off the path of the removal the client waits for, so it may outlive `rm` by a moment (bounded: 10 s).
    /// </summary>
    private async Task<string> RuntimeStatusGoneAsync(string id)
    {
        var clock = Stopwatch.StartNew();
        string status;
        while ((status = await RuntimeStatusAsync(id)) != "" && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
        }

        return status;
    }

    private async Task<string> RuntimeStatusAsync(string id)
    {
        CommandResult state = await ProcessRunner.RunAsync("runc", ["--root", _daemon.RuntimeRoot, "state", id]);
        if (state.ExitCode != 0)
        {
            return "";
        }

        using var doc = JsonDocument.Parse(state.Stdout);
        return doc.RootElement.GetProperty("status").GetString() ?? "";
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < Bound, $"timed out after {Bound.TotalSeconds:F0} s waiting for {what}");
            await Task.Delay(50); // a file written by another process: poll, bounded
        }
    }
}
