using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>Docker's secure defaults and what run flags change about them, seen from inside real containers.</summary>
public sealed class SecurityAndLimitsTests(DaemonFixture fixture)
{
    private readonly DockerCli _docker = fixture.Docker;

    private Task<CommandResult> BerthAsync(params string[] args) =>
        ProcessRunner.RunAsync(Binaries.Cli, ["-H", "unix://" + fixture.Daemon.SocketPath, .. args]);

    private static string Field(string status, string name) =>
        status.Split('\n').Single(l => l.StartsWith(name + ":", StringComparison.Ordinal))[(name.Length + 1)..].Trim();

    [Fact]
    public async Task A_default_container_has_dockers_capabilities_a_seccomp_filter_and_masked_proc_paths()
    {
        CommandResult status = await _docker.SucceedAsync("run", "--rm", "busybox", "cat", "/proc/self/status");
        Assert.Equal("00000000a80425fb", Field(status.Stdout, "CapEff"));
        Assert.Equal("2", Field(status.Stdout, "Seccomp"));
        Assert.Equal("0", Field(status.Stdout, "NoNewPrivs"));

        // The filter denies what Docker's profile denies (new namespaces without CAP_SYS_ADMIN), with EPERM.
        CommandResult unshare = await _docker.RunAsync("run", "--rm", "busybox", "unshare", "-n", "true");
        Assert.True(unshare.ExitCode == 1, unshare.ToString());
        Assert.Contains("Operation not permitted", unshare.Stderr, StringComparison.Ordinal);

        // /proc/timer_list has content on the host; masked, it reads empty. /proc/sys is read-only.
        Assert.True(new FileInfo("/proc/timer_list").Exists);
        CommandResult masked = await _docker.RunAsync("run", "--rm", "busybox", "sh", "-c", "wc -c < /proc/timer_list; echo x > /proc/sys/kernel/domainname");
        Assert.StartsWith("0\n", masked.Stdout, StringComparison.Ordinal);
        Assert.Contains("Read-only file system", masked.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Privileged_lifts_seccomp_masks_and_capability_limits()
    {
        CommandResult result = await _docker.SucceedAsync("run", "--rm", "--privileged", "busybox", "sh", "-c",
            "grep -E '^(Seccomp|CapEff):' /proc/self/status; mkdir /m && mount -t tmpfs t /m && echo mounted; test -c /dev/fuse -o -b /dev/loop0 -o -c /dev/kmsg && echo host-devices");
        Assert.Equal("0", Field(result.Stdout, "Seccomp"));
        Assert.NotEqual("00000000a80425fb", Field(result.Stdout, "CapEff"));
        Assert.Contains("mounted", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("host-devices", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cap_add_and_cap_drop_change_what_root_may_do()
    {
        CommandResult dropped = await _docker.RunAsync("run", "--rm", "--cap-drop", "ALL", "busybox", "sh", "-c", "grep CapEff /proc/self/status; chown 1 /tmp");
        Assert.True(dropped.ExitCode == 1, dropped.ToString());
        Assert.Contains("0000000000000000", dropped.Stdout, StringComparison.Ordinal);

        CommandResult added = await BerthAsync("run", "--rm", "--cap-add", "sys_admin", "busybox", "sh", "-c", "mkdir /m && mount -t tmpfs t /m && echo mounted");
        Assert.True(added.ExitCode == 0, added.ToString());
        Assert.Equal("mounted\n", added.Stdout);

        CommandResult bogus = await _docker.RunAsync("run", "--rm", "--cap-add", "BOGUS", "busybox", "true");
        Assert.True(bogus.ExitCode == 125, bogus.ToString());
        Assert.Contains("invalid CapAdd: unknown capability: \"CAP_BOGUS\"", bogus.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Security_options_turn_off_seccomp_set_no_new_privileges_and_load_a_custom_profile()
    {
        CommandResult unconfined = await _docker.SucceedAsync("run", "--rm", "--security-opt", "seccomp=unconfined", "--security-opt", "no-new-privileges", "busybox", "cat", "/proc/self/status");
        Assert.Equal("0", Field(unconfined.Stdout, "Seccomp"));
        Assert.Equal("1", Field(unconfined.Stdout, "NoNewPrivs"));

        // The docker CLI reads the profile file and sends its content; this one allows everything but mkdir.
        string profile = Path.Combine(fixture.Daemon.Root, Names.Unique("seccomp") + ".json");
        await File.WriteAllTextAsync(profile, """{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}""");
        try
        {
            CommandResult custom = await _docker.RunAsync("run", "--rm", "--security-opt", "seccomp=" + profile, "busybox", "sh", "-c", "touch /ok && mkdir /no");
            Assert.True(custom.ExitCode == 1, custom.ToString());
            Assert.Contains("Operation not permitted", custom.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(profile);
        }

        CommandResult bad = await _docker.RunAsync("run", "--rm", "--security-opt", "foo=bar", "busybox", "true");
        Assert.True(bad.ExitCode == 125, bad.ToString());
        Assert.Contains("invalid --security-opt 2: \"foo=bar\"", bad.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ulimits_and_cgroup_limits_reach_the_kernel()
    {
        CommandResult ulimits = await _docker.SucceedAsync("run", "--rm", "--ulimit", "nproc=50:60", "--ulimit", "nofile=100:200", "busybox", "sh", "-c", "ulimit -u; ulimit -n; ulimit -Hn");
        Assert.Equal("50\n100\n200\n", ulimits.Stdout);

        CommandResult cgroups = await _docker.SucceedAsync("run", "--rm", "--cpus", "0.5", "--cpuset-cpus", "0", "--pids-limit", "20", "--cpu-shares", "512",
            "-m", "64m", "--memory-reservation", "20m", "busybox", "sh", "-c",
            "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpuset/cpuset.cpus /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory/memory.soft_limit_in_bytes");
        Assert.Equal("50000\n0\n20\n512\n67108864\n20971520\n", cgroups.Stdout);
    }

    [Fact]
    public async Task An_oom_killed_container_exits_137_with_oom_killed_set()
    {
        string name = Names.Unique("oom");
        try
        {
            CommandResult run = await _docker.RunAsync("run", "--name", name, "-m", "16m", "--memory-swap", "16m", "busybox", "sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived");
            Assert.True(run.ExitCode == 137, run.ToString());
            CommandResult state = await _docker.SucceedAsync("inspect", "-f", "{{.State.OOMKilled}} {{.State.ExitCode}}", name);
            Assert.Equal("true 137\n", state.Stdout);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task Impossible_limits_are_refused_with_dockers_messages()
    {
        CommandResult cpus = await _docker.RunAsync("run", "--rm", "--cpus", "64", "busybox", "true");
        Assert.True(cpus.ExitCode == 125, cpus.ToString());
        Assert.Contains("Range of CPUs is from 0.01 to", cpus.Stderr, StringComparison.Ordinal);

        CommandResult memory = await BerthAsync("run", "--rm", "-m", "1m", "busybox", "true");
        Assert.True(memory.ExitCode == 125, memory.ToString());
        Assert.Contains("Minimum memory limit allowed is 6MB", memory.Stderr, StringComparison.Ordinal);

        CommandResult device = await _docker.RunAsync("run", "--rm", "--device", "/dev/berth-no-such-device", "busybox", "true");
        Assert.NotEqual(0, device.ExitCode);
        Assert.Contains("error gathering device information while adding custom device \"/dev/berth-no-such-device\"", device.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Groups_and_devices_are_given_to_the_process()
    {
        CommandResult id = await _docker.SucceedAsync("run", "--rm", "--group-add", "10", "--group-add", "users", "-u", "nobody", "busybox", "id");
        Assert.Equal("uid=65534(nobody) gid=65534(nobody) groups=10(wheel),100(users)\n", id.Stdout);

        CommandResult device = await _docker.SucceedAsync("run", "--rm", "--device", "/dev/null:/dev/mynull", "busybox", "sh", "-c", "echo x > /dev/mynull && echo written");
        Assert.Equal("written\n", device.Stdout);
    }
}

/// <summary><c>run --init</c>: a real init as PID 1 that forwards signals and reaps orphans.</summary>
public sealed class InitProcessTests(DaemonFixture fixture)
{
    private readonly DockerCli _docker = fixture.Docker;

    [Fact]
    public async Task Init_is_pid_1_and_passes_the_commands_exit_code_through()
    {
        CommandResult ps = await _docker.SucceedAsync("run", "--rm", "--init", "busybox", "ps", "-o", "pid,args");
        Assert.Contains("    1 /sbin/docker-init -- ps -o pid,args", ps.Stdout, StringComparison.Ordinal);

        CommandResult exit = await ProcessRunner.RunAsync(Binaries.Cli, ["-H", "unix://" + fixture.Daemon.SocketPath, "run", "--rm", "--init", "busybox", "sh", "-c", "exit 7"]);
        Assert.True(exit.ExitCode == 7, exit.ToString());
    }

    [Fact]
    public async Task Init_forwards_stop_signals_so_stop_does_not_wait_for_the_timeout()
    {
        string name = Names.Unique("init");
        try
        {
            // Without an init, sleep as PID 1 ignores SIGTERM and stop would wait its 10 s timeout.
            await _docker.SucceedAsync("run", "-d", "--init", "--name", name, "busybox", "sleep", "300");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await _docker.SucceedAsync("stop", name);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"stop took {clock.Elapsed}");
            Assert.Equal("143\n", (await _docker.SucceedAsync("inspect", "-f", "{{.State.ExitCode}}", name)).Stdout);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task Init_reaps_orphans()
    {
        // The subshell's child is orphaned at once and re-parented to PID 1. A plain `sleep` as PID 1 never reaps it
        // (it stays a zombie: the control case); berth-init does.
        string plain = Names.Unique("zombie");
        string init = Names.Unique("init");
        try
        {
            await _docker.SucceedAsync("run", "-d", "--name", plain, "busybox", "sh", "-c", "(sleep 0.1 &); exec sleep 300");
            await _docker.SucceedAsync("run", "-d", "--init", "--name", init, "busybox", "sh", "-c", "(sleep 0.1 &); exec sleep 300");
            await _docker.WaitForOutputAsync(o => o.Contains(" Z ", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "exec", plain, "ps", "-o", "pid,stat,comm");
            // By now the init container's orphan has ended too (same timing): it must be gone, not a zombie.
            CommandResult reaped = await _docker.SucceedAsync("exec", init, "ps", "-o", "pid,stat,comm");
            Assert.DoesNotContain(" Z ", reaped.Stdout, StringComparison.Ordinal);
            Assert.Contains("docker-init", reaped.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(plain, init);
        }
    }
}
