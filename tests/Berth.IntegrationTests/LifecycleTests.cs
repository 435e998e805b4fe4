using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>Events, restart policies, health checks and update, driven by the docker CLI and berth on the shared daemon.</summary>
public sealed class LifecycleTests(DaemonFixture fixture)
{
    // A bound on waits for state changes, not a timing: polls end as soon as the state is there. Four starts of a
    // restart policy took 14 s at the start of a suite here (each start 1.5-2 s under load); a slower VM needs more.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private readonly DockerCli _docker = fixture.Docker;

    [Fact]
    public async Task Events_since_show_a_containers_whole_life_in_order_in_both_clis()
    {
        string name = Names.Unique("evlife");
        string since = UnixNow();
        try
        {
            await _docker.SucceedAsync("run", "--name", name, "--label", "lifecycle.test=yes", "busybox", "true");
            await _docker.SucceedAsync("rm", name);
            string until = UnixNow();

            CommandResult docker = await _docker.SucceedAsync("events", "--since", since, "--until", until, "--filter", "container=" + name, "--format", "{{.Action}}");
            Assert.Equal(["create", "attach", "start", "die", "destroy"], Lines(docker.Stdout));
            CommandResult berth = await BerthSucceedAsync("events", "--since", since, "--until", until, "--filter", "container=" + name, "--format", "{{.Action}}");
            Assert.Equal(["create", "attach", "start", "die", "destroy"], Lines(berth.Stdout));

            // The default line is docker's, byte for byte: time with nanoseconds, type, action, id, sorted attributes.
            CommandResult dockerLines = await _docker.SucceedAsync("events", "--since", since, "--until", until, "--filter", "container=" + name);
            CommandResult berthLines = await BerthSucceedAsync("system", "events", "--since", since, "--until", until, "--filter", "container=" + name);
            Assert.Equal(dockerLines.Stdout, berthLines.Stdout);
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) container create [0-9a-f]{64} \(image=busybox, lifecycle\.test=yes, name=" + name + @"\)$", Lines(berthLines.Stdout)[0]);
            Assert.Contains("container die ", berthLines.Stdout, StringComparison.Ordinal);
            Assert.Matches(@"container die [0-9a-f]{64} \(execDuration=\d+, exitCode=0, image=busybox", berthLines.Stdout);

            CommandResult json = await BerthSucceedAsync("events", "--since", since, "--until", until, "--filter", "container=" + name, "--filter", "event=die", "--format", "{{json .}}");
            using var doc = JsonDocument.Parse(Lines(json.Stdout).Single());
            Assert.Equal("container", doc.RootElement.GetProperty("Type").GetString());
            Assert.Equal("0", doc.RootElement.GetProperty("Actor").GetProperty("Attributes").GetProperty("exitCode").GetString());
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task Event_filters_select_by_label_event_type_and_image()
    {
        string labelled = Names.Unique("evlab");
        string plain = Names.Unique("evplain");
        string tag = Names.Unique("evtag") + ":v1";
        string since = UnixNow();
        try
        {
            CommandResult failed = await _docker.RunAsync("run", "--name", labelled, "--label", "pick=me", "busybox", "sh", "-c", "exit 3");
            Assert.True(failed.ExitCode == 3, failed.ToString());
            await BerthSucceedAsync("run", "--name", plain, "busybox", "true");
            await _docker.SucceedAsync("tag", "busybox", tag);
            await _docker.SucceedAsync("rmi", tag);
            string until = UnixNow();

            CommandResult byLabel = await _docker.SucceedAsync("events", "--since", since, "--until", until, "--filter", "label=pick=me", "--filter", "event=die", "--format", "{{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}");
            Assert.Equal([labelled + " 3"], Lines(byLabel.Stdout));

            CommandResult images = await BerthSucceedAsync("events", "--since", since, "--until", until, "--filter", "type=image", "--filter", "image=" + tag, "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}");
            Assert.Equal([$"image tag {tag}", $"image untag {tag}"], Lines(images.Stdout));

            CommandResult twoContainers = await _docker.SucceedAsync("events", "--since", since, "--until", until, "--filter", "container=" + labelled, "--filter", "container=" + plain, "--filter", "event=start", "--format", "{{.Actor.Attributes.name}}");
            Assert.Equal([labelled, plain], Lines(twoContainers.Stdout));

            CommandResult bad = await _docker.RunAsync("events", "--since", since, "--until", until, "--filter", "colour=red");
            Assert.True(bad.ExitCode != 0, bad.ToString());
            Assert.Contains("invalid filter 'colour'", bad.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(labelled, plain);
            await _docker.RunAsync("rmi", tag);
        }
    }

    [Fact]
    public async Task Events_stream_live_until_the_until_time()
    {
        string name = Names.Unique("evlive");
        string since = UnixNow();
        // Room for a `run --rm` on a loaded 2-core machine (4 s was not always enough); the watcher ends at `until`.
        string until = UnixIn(TimeSpan.FromSeconds(12));
        try
        {
            // Whenever the watcher connects, history since `since` and then the live feed cover the whole run; it ends at `until`.
            Task<CommandResult> watching = BerthAsync("events", "--since", since, "--until", until, "--filter", "container=" + name, "--format", "{{.Action}}");
            await _docker.SucceedAsync("run", "--rm", "--name", name, "busybox", "true");
            CommandResult watched = await watching;
            Assert.True(watched.ExitCode == 0, watched.ToString());
            Assert.Equal(["create", "attach", "start", "die", "destroy"], Lines(watched.Stdout));
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task An_always_failing_on_failure_3_container_is_started_exactly_4_times_with_growing_gaps()
    {
        string name = Names.Unique("onfail");
        string since = UnixNow();
        try
        {
            await _docker.SucceedAsync("run", "-d", "--name", name, "--restart", "on-failure:3", "busybox", "sh", "-c", "exit 7");
            await WaitUntilAsync(async () => (await InspectAsync(name, "{{.State.Status}} {{.RestartCount}}")) == "exited 3", "three restarts, then exited");
            Assert.Equal("7 false false", await InspectAsync(name, "{{.State.ExitCode}} {{.State.Running}} {{.State.Restarting}}"));

            CommandResult events = await _docker.SucceedAsync("events", "--since", since, "--until", UnixNow(), "--filter", "container=" + name,
                "--filter", "event=start", "--filter", "event=die", "--format", "{{.Action}} {{.TimeNano}} {{.Actor.Attributes.exitCode}}");
            string[] lines = Lines(events.Stdout);
            Assert.Equal(["start", "die", "start", "die", "start", "die", "start", "die"], lines.Select(l => l.Split(' ')[0]));
            Assert.All(lines.Where(l => l.StartsWith("die", StringComparison.Ordinal)), l => Assert.EndsWith(" 7", l, StringComparison.Ordinal));
            long[] times = [.. lines.Select(l => long.Parse(l.Split(' ')[1], CultureInfo.InvariantCulture))];
            // The back-off between an exit and the next start: 100 ms, 200 ms, 400 ms.
            double[] gaps = [.. Enumerable.Range(0, 3).Select(i => (times[(2 * i) + 2] - times[(2 * i) + 1]) / 1e6)];
            for (int i = 0; i < 3; i++)
            {
                Assert.True(gaps[i] >= 100 * Math.Pow(2, i) * 0.95, $"gap {i} was {gaps[i]:F0} ms: {string.Join(", ", gaps.Select(g => g.ToString("F0", CultureInfo.InvariantCulture)))}");
            }

            // The lower bounds above are the growing back-off (100, 200, 400 ms); comparing the gaps themselves would also
            // compare how long each start took, which a loaded machine varies by more than 300 ms.

            // berth drives the same policy: on-failure:1 starts twice.
            string second = name + "-b";
            try
            {
                await BerthSucceedAsync("run", "-d", "--name", second, "--restart", "on-failure:1", "busybox", "sh", "-c", "exit 2");
                await WaitUntilAsync(async () => (await BerthInspectAsync(second, "{{.State.Status}} {{.RestartCount}}")) == "exited 1", "one restart, then exited");
                CommandResult starts = await BerthSucceedAsync("events", "--since", since, "--until", UnixNow(), "--filter", "container=" + second, "--filter", "event=start", "--format", "{{.Action}}");
                Assert.Equal(["start", "start"], Lines(starts.Stdout));
            }
            finally
            {
                await _docker.RemoveQuietlyAsync(second);
            }
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task A_stop_during_the_back_off_cancels_the_restart_and_is_never_undone()
    {
        string name = Names.Unique("backoff");
        try
        {
            await _docker.SucceedAsync("run", "-d", "--name", name, "--restart", "always", "busybox", "sh", "-c", "exit 1");
            // After 4 restarts the back-off is 1.6 s: the container spends nearly all its time waiting to restart.
            await WaitUntilAsync(async () => int.Parse(await InspectAsync(name, "{{.RestartCount}}"), CultureInfo.InvariantCulture) >= 4, "four restarts");
            await _docker.SucceedAsync("stop", name);
            string stopped = UnixNow();

            Assert.Equal("exited false false", await InspectAsync(name, "{{.State.Status}} {{.State.Running}} {{.State.Restarting}}"));
            // Longer than the pending back-off (at most 3.2 s): nothing starts it again.
            CommandResult starts = await _docker.SucceedAsync("events", "--since", stopped, "--until", UnixIn(TimeSpan.FromSeconds(3.5)), "--filter", "container=" + name, "--filter", "event=start", "--format", "{{.Action}}");
            Assert.Equal("", starts.Stdout.Trim());
            Assert.Equal("exited", await InspectAsync(name, "{{.State.Status}}"));
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task Update_restart_changes_the_policy_of_a_running_container()
    {
        string name = Names.Unique("update");
        try
        {
            await _docker.SucceedAsync("run", "-d", "--name", name, "busybox", "sh", "-c", "while [ ! -f /tmp/stop ]; do sleep 0.1; done; exit 5");
            CommandResult update = await BerthSucceedAsync("update", "--restart", "on-failure:2", name);
            Assert.Equal(name + "\n", update.Stdout);
            Assert.Equal("on-failure 2", await InspectAsync(name, "{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}"));

            CommandResult viaDocker = await _docker.RunAsync("update", "--restart", "always", name);
            Assert.True(viaDocker.ExitCode == 0, viaDocker.ToString());
            Assert.Equal("always", await BerthInspectAsync(name, "{{.HostConfig.RestartPolicy.Name}}"));

            // An exit from inside (not a stop through the API) is now undone by the policy.
            await _docker.SucceedAsync("exec", name, "touch", "/tmp/stop");
            await WaitUntilAsync(async () => int.Parse(await InspectAsync(name, "{{.RestartCount}}"), CultureInfo.InvariantCulture) >= 1, "a restart by the updated policy");

            CommandResult invalid = await BerthAsync("update", "--restart", "sometimes", name);
            Assert.True(invalid.ExitCode != 0, invalid.ToString());
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task A_failing_health_check_turns_unhealthy_after_its_retries_and_emits_health_status()
    {
        string name = Names.Unique("unhealthy");
        string since = UnixNow();
        try
        {
            await BerthSucceedAsync("run", "-d", "--name", name, "--health-cmd", "echo probing; exit 1", "--health-interval", "1s", "--health-retries", "3", "busybox", "sleep", "300");
            Assert.Equal("starting", await InspectAsync(name, "{{.State.Health.Status}}"));
            CommandResult starting = await _docker.SucceedAsync("ps", "--filter", "name=" + name, "--format", "{{.Status}}");
            Assert.Matches(@"^Up .* \(health: starting\)$", starting.Stdout.Trim());

            await WaitUntilAsync(async () => (await InspectAsync(name, "{{.State.Health.Status}}")) == "unhealthy", "unhealthy");
            using (JsonDocument health = JsonDocument.Parse(await InspectAsync(name, "{{json .State.Health}}")))
            {
                JsonElement root = health.RootElement;
                Assert.True(root.GetProperty("FailingStreak").GetInt32() >= 3, root.ToString());
                JsonElement[] log = [.. root.GetProperty("Log").EnumerateArray()];
                Assert.InRange(log.Length, 3, 5);
                Assert.All(log, r => Assert.Equal(1, r.GetProperty("ExitCode").GetInt32()));
                Assert.All(log, r => Assert.Equal("probing\n", r.GetProperty("Output").GetString()));
            }

            CommandResult events = await BerthSucceedAsync("events", "--since", since, "--until", UnixNow(), "--filter", "container=" + name, "--filter", "event=health_status", "--format", "{{.Action}}");
            Assert.Equal(["health_status: unhealthy"], Lines(events.Stdout));
            CommandResult ps = await _docker.SucceedAsync("ps", "--filter", "health=unhealthy", "--format", "{{.Names}} {{.Status}}");
            Assert.Contains(Lines(ps.Stdout), l => l.StartsWith(name + " Up ", StringComparison.Ordinal) && l.EndsWith("(unhealthy)", StringComparison.Ordinal));
            CommandResult healthy = await BerthSucceedAsync("ps", "--filter", "health=healthy", "--format", "{{.Names}}");
            Assert.DoesNotContain(name, Lines(healthy.Stdout));

            // The checker stops with the container: no probe after the stop.
            await _docker.SucceedAsync("kill", name);
            string killed = UnixNow();
            CommandResult after = await _docker.SucceedAsync("events", "--since", killed, "--until", UnixIn(TimeSpan.FromSeconds(0.8)), "--filter", "container=" + name, "--filter", "event=exec_start", "--format", "{{.Action}}");
            Assert.Equal("", after.Stdout.Trim());
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task A_passing_health_check_turns_healthy_and_ps_filters_on_it()
    {
        string name = Names.Unique("healthy");
        string since = UnixNow();
        try
        {
            await _docker.SucceedAsync("run", "-d", "--name", name, "--health-cmd", "true", "--health-interval", "200ms", "busybox", "sleep", "300");
            await WaitUntilAsync(async () => (await InspectAsync(name, "{{.State.Health.Status}}")) == "healthy", "healthy");

            CommandResult ps = await BerthSucceedAsync("ps", "--filter", "health=healthy", "--format", "{{.Names}} {{.Status}}");
            Assert.Contains(Lines(ps.Stdout), l => l.StartsWith(name + " Up ", StringComparison.Ordinal) && l.EndsWith("(healthy)", StringComparison.Ordinal));
            CommandResult none = await _docker.SucceedAsync("ps", "--filter", "health=none", "--format", "{{.Names}}");
            Assert.DoesNotContain(name, Lines(none.Stdout));
            CommandResult events = await _docker.SucceedAsync("events", "--since", since, "--until", UnixNow(), "--filter", "container=" + name, "--filter", "event=health_status", "--format", "{{.Action}}");
            Assert.Equal(["health_status: healthy"], Lines(events.Stdout));
            Assert.Equal("0 0", await InspectAsync(name, "{{.State.Health.FailingStreak}} {{(index .State.Health.Log 0).ExitCode}}"));
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task A_health_check_past_its_timeout_fails_and_is_killed()
    {
        string name = Names.Unique("hctimeout");
        try
        {
            await BerthSucceedAsync("run", "-d", "--name", name, "--health-cmd", "sleep 31", "--health-timeout", "300ms", "--health-interval", "300ms", "--health-retries", "2", "busybox", "sleep", "300");
            await WaitUntilAsync(async () => (await InspectAsync(name, "{{.State.Health.Status}}")) == "unhealthy", "unhealthy");
            Assert.Equal("-1 Health check exceeded timeout (300ms)", await InspectAsync(name, "{{(index .State.Health.Log 0).ExitCode}} {{(index .State.Health.Log 0).Output}}"));

            // Timed-out probes are killed: at most the one in flight is left.
            CommandResult ps = await _docker.SucceedAsync("exec", name, "ps", "-o", "args");
            Assert.True(Lines(ps.Stdout).Count(l => l.Trim() == "sleep 31") <= 1, ps.Stdout);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    private async Task<string> InspectAsync(string name, string format) =>
        (await _docker.SucceedAsync("inspect", "--format", format, name)).Stdout.Trim();

    private async Task<string> BerthInspectAsync(string name, string format) =>
        (await BerthSucceedAsync("inspect", "--format", format, name)).Stdout.Trim();

    private Task<CommandResult> BerthAsync(params string[] args) =>
        ProcessRunner.RunAsync(Binaries.Cli, ["-H", "unix://" + fixture.Daemon.SocketPath, .. args]);

    private async Task<CommandResult> BerthSucceedAsync(params string[] args)
    {
        CommandResult result = await BerthAsync(args);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Unix time with nanoseconds, as the docker CLI sends --since and --until.</summary>
    internal static string UnixNow() => UnixIn(TimeSpan.Zero);

    internal static string UnixIn(TimeSpan offset)
    {
        long ticks = (DateTimeOffset.UtcNow + offset - DateTimeOffset.UnixEpoch).Ticks;
        long seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long rest);
        return seconds.ToString(CultureInfo.InvariantCulture) + "." + (rest * 100).ToString("000000000", CultureInfo.InvariantCulture);
    }

    internal static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < Bound, $"timed out after {Bound.TotalSeconds:F0} s waiting for {what}");
            await Task.Delay(50); // state changes inside the daemon: poll its API, bounded
        }
    }
}
