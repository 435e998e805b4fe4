using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>
/// Known container breakouts, tried for real: each test plants a secret on the host, attacks from inside a container
/// and asserts the secret never comes out and the host is unchanged.
/// </summary>
public sealed class BreakoutTests(DaemonFixture fixture) : IDisposable
{
    private readonly DockerCli _docker = fixture.Docker;
    private readonly string _secretPath = Path.Combine("/tmp", "berth-breakout-" + Guid.NewGuid().ToString("N"));
    private readonly string _secret = Guid.NewGuid().ToString("N");

    private static readonly string[] RuncPaths = ["/usr/sbin/runc", "/usr/bin/runc"];

    public void Dispose() => File.Delete(_secretPath);

    /// <summary>
    /// CVE-2024-21626 ("Leaky Vessels"): a working directory of /proc/self/fd/N names a host directory that the runtime
    /// leaked into the container's first process; relative paths from there reach the host's root. Every fd number a
    /// leak could have must either be refused or stay inside the container.
    /// </summary>
    [Fact]
    public async Task Cve_2024_21626_a_leaked_fd_as_working_directory_never_reaches_the_host()
    {
        await File.WriteAllTextAsync(_secretPath, _secret);
        string relative = "../../../../../../../../.." + _secretPath;
        string name = Names.Unique("leaky");
        try
        {
            for (int fd = 3; fd <= 9; fd++)
            {
                CommandResult run = await _docker.RunAsync("run", "--rm", "-w", $"/proc/self/fd/{fd}", "busybox", "cat", relative);
                Assert.DoesNotContain(_secret, run.Stdout + run.Stderr, StringComparison.Ordinal);
            }

            // The same through exec's working directory (runc exec --cwd).
            await _docker.SucceedAsync("run", "-d", "--name", name, "busybox", "sleep", "60");
            for (int fd = 3; fd <= 9; fd++)
            {
                CommandResult exec = await _docker.RunAsync("exec", "-w", $"/proc/self/fd/{fd}", name, "cat", relative);
                Assert.DoesNotContain(_secret, exec.Stdout + exec.Stderr, StringComparison.Ordinal);
            }

            // And from inside, by walking the container's own /proc/self/fd links.
            CommandResult walk = await _docker.RunAsync("exec", name, "sh", "-c", $"for f in /proc/self/fd/* /proc/1/cwd /proc/1/root; do cat $f/{relative} 2>/dev/null; done; true");
            Assert.DoesNotContain(_secret, walk.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    /// <summary>The first process of a container, and an exec'd one, hold only their own stdio: no descriptor of the host leaks in.</summary>
    [Fact]
    public async Task No_host_file_descriptor_reaches_a_container_process()
    {
        const string list = "for f in /proc/self/fd/*; do echo $(basename $f) $(readlink $f); done";
        CommandResult run = await _docker.SucceedAsync("run", "--rm", "busybox", "sh", "-c", list);
        string name = Names.Unique("fds");
        try
        {
            await _docker.SucceedAsync("run", "-d", "--name", name, "busybox", "sleep", "30");
            CommandResult exec = await _docker.SucceedAsync("exec", name, "sh", "-c", list);
            foreach (string output in (string[])[run.Stdout, exec.Stdout])
            {
                string[] fds = [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0])];
                // 0-2, plus the directory fd of the glob itself (sh's own, 3 or 255 depending on timing): nothing else.
                Assert.True(fds.All(fd => fd is "0" or "1" or "2" or "3" or "255"), output);
                Assert.DoesNotContain("/sys/fs/cgroup", output, StringComparison.Ordinal);
            }
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    /// <summary>
    /// CVE-2019-5736: the container overwrites the runtime's binary through /proc/PID/exe of a process that is entering
    /// it on exec (runc init, or berth-exec's child between its fork and its execve: in the container's pid namespace,
    /// its exe still the helper's). Without CAP_SYS_PTRACE, non-dumpable keeps the container from opening that exe at
    /// all; with it (<c>--cap-add SYS_PTRACE</c>, as with <c>--privileged</c>) only running from a sealed memfd copy
    /// protects the host file: the container may open the copy, but no write reaches it, nor the binary on the host.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Cve_2019_5736_the_runtime_binary_cannot_be_overwritten_from_inside(bool ptrace)
    {
        string runc = RuncPaths.First(File.Exists);
        string berthExec = Path.Combine(Path.GetDirectoryName(Binaries.Current.Monitor)!, "berth-exec");
        byte[] runcBefore = await File.ReadAllBytesAsync(runc);
        byte[] berthExecBefore = await File.ReadAllBytesAsync(berthExec);
        string name = Names.Unique("exe");
        const int rounds = 4;
        try
        {
            // The exploit's shape, made deterministic: pids in the container's namespace are handed out in order and
            // this loop forks nothing while it waits, so the next exec's first process gets the pid after the last
            // fork. The loop opens that pid's exe the moment it exists (a shell builtin, a few microseconds a try),
            // then, once the exec is over and the file no longer busy, writes through the descriptor it holds (unless
            // it is the container's own busybox, which it may write: an overlay copy-up, its own business).
            await _docker.SucceedAsync(["run", "-d", "--name", name, .. (string[])(ptrace ? ["--cap-add", "SYS_PTRACE"] : []), "busybox", "sh", "-c",
                "exec 2>/dev/null; r=0; while [ $r -lt " + rounds + " ]; do r=$((r+1)); t=$(( $(sh -c 'echo $$') + 1 )); echo ready $r; " +
                "i=0; until command exec 3</proc/$t/exe; do i=$((i+1)); [ $i -lt 1000000 ] || break; done; " +
                "if [ $i -ge 1000000 ]; then echo missed; continue; fi; l=$(readlink /proc/self/fd/3); " +
                "if [ /proc/self/fd/3 -ef /bin/busybox ]; then k=own; else k=foreign; fi; sleep 2; " +
                "if [ $k = foreign ] && echo pwned >>/proc/self/fd/3; then echo \"WROTE $k $l\"; else echo \"caught $k $l\"; fi; exec 3<&-; done; echo done"]);
            // A PATH of many missing directories before the real one keeps berth-exec's child searching it for a few
            // milliseconds before its execve: the window the exploit needs, wide enough to be hit every time.
            string widePath = string.Join(':', Enumerable.Repeat("/no", 30000)) + ":/bin";
            for (int round = 1; round <= rounds; round++)
            {
                await _docker.WaitForOutputAsync(o => o.Contains($"ready {round}\n", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "logs", name);
                // A second of life after its execve: without CAP_SYS_PTRACE the loop can open the exe only then (busybox).
                await _docker.RunAsync("exec", "-e", "PATH=" + widePath, name, "sleep", "1");
            }

            await _docker.RunAsync("wait", name);
            CommandResult logs = await _docker.SucceedAsync("logs", name);
            Assert.DoesNotContain("WROTE", logs.Stdout, StringComparison.Ordinal);
            Assert.Contains("done", logs.Stdout, StringComparison.Ordinal);
            // "foreign": an exe that is not the container's busybox (the helper's, caught before its child's execve).
            bool foreign = logs.Stdout.Contains("caught foreign", StringComparison.Ordinal);
            if (ptrace)
            {
                // The test must have reached the window, or it proves nothing.
                Assert.True(foreign, logs.Stdout);
            }
            else
            {
                // Non-dumpable until its execve: the loop reached the process only once it ran busybox.
                Assert.True(!foreign && logs.Stdout.Contains("caught own", StringComparison.Ordinal), logs.Stdout);
            }
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }

        Assert.Equal(runcBefore, await File.ReadAllBytesAsync(runc));
        Assert.Equal(berthExecBefore, await File.ReadAllBytesAsync(berthExec));
    }
}
