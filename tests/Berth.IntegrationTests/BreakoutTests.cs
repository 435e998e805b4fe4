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

    /// <summary>
    /// CVE-2019-5736: the container overwrites the runtime binary through /proc/PID/exe of a runc process that entered
    /// it (on exec). A patched runtime runs from a sealed memfd copy, so the write fails and the host binary is unchanged.
    /// </summary>
    [Fact]
    public async Task Cve_2019_5736_the_runtime_binary_cannot_be_overwritten_from_inside()
    {
        string runc = RuncPaths.First(File.Exists);
        byte[] before = await File.ReadAllBytesAsync(runc);
        string name = Names.Unique("exe");
        try
        {
            // The exploit's shape: the container watches for a process whose exe is not its own busybox (runc init,
            // entering on exec), holds its exe open, and writes through that fd once runc has exited and the file is
            // no longer busy. Bounded to a few seconds.
            await _docker.SucceedAsync("run", "-d", "--name", name, "busybox", "sh", "-c",
                "end=$(( $(date +%s) + 8 )); while [ $(date +%s) -lt $end ]; do for p in /proc/[0-9]*; do " +
                "l=$(readlink $p/exe 2>/dev/null); case \"$l\" in *busybox*|'') ;; *) echo saw $l; " +
                "( exec 3<$p/exe && sleep 0.5 && echo pwned >/proc/self/fd/3 && echo WROTE $l ) 2>/dev/null & ;; esac; done; done; wait; echo done");
            for (int i = 0; i < 10; i++)
            {
                await _docker.RunAsync("exec", name, "true");
            }

            await _docker.RunAsync("wait", name);
            CommandResult logs = await _docker.SucceedAsync("logs", name);
            Assert.DoesNotContain("WROTE", logs.Stdout, StringComparison.Ordinal);
            Assert.Contains("done", logs.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }

        Assert.Equal(before, await File.ReadAllBytesAsync(runc));
    }
}
