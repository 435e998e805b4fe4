using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>
/// The native exec path (berth-exec instead of <c>runc exec</c>): an exec'd process must be confined exactly as the
/// container's own processes are (capabilities, no_new_privs, seccomp, cgroups, namespaces, user, limits), and the helper
/// must leak nothing of the host into the container.
/// </summary>
public sealed class NativeExecTests(DaemonFixture fixture)
{
    private readonly DockerCli _docker = fixture.Docker;

    // What a process sees of its own confinement; run by the container's main shell and by an exec'd one.
    private const string Probe =
        "grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status; cat /proc/self/cgroup; " +
        "for n in cgroup ipc mnt net pid uts; do echo $n $(readlink /proc/self/ns/$n); done; " +
        "id; pwd; env | grep -v -E '^(SHLVL|_)=' | sort; ulimit -a; echo END";

    // Options of `docker run`, space-separated.
    public static TheoryData<string> ContainerOptions => new()
    {
        "",
        "--cap-add SYS_PTRACE --cap-drop CHOWN --security-opt no-new-privileges",
        "-u 1000:1000 --group-add 20 -w /tmp --ulimit nofile=1000:2000 --ulimit nproc=500:600",
        "--privileged",
        "--security-opt seccomp=unconfined --oom-score-adj 300 -e FOO=bar",
    };

    [Theory]
    [MemberData(nameof(ContainerOptions))]
    public async Task An_exec_sees_what_the_containers_own_processes_see(string runOptions)
    {
        string[] options = runOptions.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        await WithContainerAsync(options, "(" + Probe + ") > /tmp/main; sleep 300", async name =>
        {
            CommandResult main = await _docker.WaitForOutputAsync(o => o.EndsWith("END\n", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "exec", name, "cat", "/tmp/main");
            CommandResult exec = await _docker.RunAsync("exec", name, "sh", "-c", Probe);

            Assert.True(exec.ExitCode == 0, exec.ToString());
            Assert.Equal(main.Stdout, exec.Stdout);
            Assert.Contains("Seccomp:\t" + (options.Contains("--privileged") || options.Contains("seccomp=unconfined") ? "0" : "2"), exec.Stdout, StringComparison.Ordinal);
            CommandResult oom = await _docker.RunAsync("exec", name, "sh", "-c", "cat /proc/self/oom_score_adj; cat /proc/1/oom_score_adj");
            string[] scores = oom.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(scores.Length == 2 && scores[0] == scores[1], oom.ToString());
        });
    }

    [Fact]
    public async Task Exec_options_user_workdir_env_and_privileged_apply()
    {
        await WithContainerAsync([], "sleep 300", async name =>
        {
            CommandResult result = await _docker.RunAsync("exec", "-u", "1000:1000", "-w", "/tmp", "-e", "FOO=bar", name, "sh", "-c", "id -u; id -g; pwd; echo $FOO; echo $HOME");
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal("1000\n1000\n/tmp\nbar\n/\n", result.Stdout);

            CommandResult root = await _docker.RunAsync("exec", name, "sh", "-c", "id; echo $HOME");
            Assert.Equal("uid=0(root) gid=0(root) groups=10(wheel)\n/root\n", root.Stdout);

            CommandResult privileged = await _docker.RunAsync("exec", "--privileged", name, "grep", "CapEff", "/proc/self/status");
            CommandResult plain = await _docker.RunAsync("exec", name, "grep", "CapEff", "/proc/self/status");
            Assert.Equal("CapEff:\t00000000a80425fb\n", plain.Stdout);
            CommandResult privilegedContainer = await _docker.RunAsync("run", "--rm", "--privileged", "busybox", "grep", "CapEff", "/proc/self/status");
            Assert.Equal(privilegedContainer.Stdout, privileged.Stdout); // all the daemon has, as for run --privileged
            Assert.NotEqual(plain.Stdout, privileged.Stdout);
        });
    }

    [Fact]
    public async Task Exec_exit_codes_are_the_commands_or_126_and_127()
    {
        await WithContainerAsync([], "sleep 300", async name =>
        {
            Assert.Equal(0, (await _docker.RunAsync("exec", name, "true")).ExitCode);
            Assert.Equal(3, (await _docker.RunAsync("exec", name, "sh", "-c", "exit 3")).ExitCode);
            CommandResult missing = await _docker.RunAsync("exec", name, "nosuchcmd");
            Assert.True(missing.ExitCode == 127, missing.ToString());
            Assert.Contains("exec: \"nosuchcmd\": executable file not found in $PATH", missing.Stdout + missing.Stderr, StringComparison.Ordinal);
            CommandResult missingPath = await _docker.RunAsync("exec", name, "/no/such");
            Assert.True(missingPath.ExitCode == 127, missingPath.ToString());
            CommandResult notExecutable = await _docker.RunAsync("exec", name, "/etc/passwd");
            Assert.True(notExecutable.ExitCode == 126, notExecutable.ToString());
            CommandResult badCwd = await _docker.RunAsync("exec", "-w", "/etc/passwd", name, "true");
            Assert.True(badCwd.ExitCode == 126, badCwd.ToString());
            CommandResult killed = await _docker.RunAsync("exec", name, "sh", "-c", "kill -9 $$");
            Assert.True(killed.ExitCode == 137, killed.ToString());
        });
    }

    [Fact]
    public async Task Seccomp_blocks_unshare_in_an_exec_and_not_with_unconfined()
    {
        await WithContainerAsync([], "sleep 300", async name =>
        {
            CommandResult unshare = await _docker.RunAsync("exec", name, "unshare", "-n", "true");
            Assert.True(unshare.ExitCode == 1, unshare.ToString());
            Assert.Contains("Operation not permitted", unshare.Stderr, StringComparison.Ordinal);
        });
        await WithContainerAsync(["--privileged"], "sleep 300", async name =>
        {
            CommandResult unshare = await _docker.RunAsync("exec", name, "unshare", "-n", "true");
            Assert.True(unshare.ExitCode == 0, unshare.ToString());
        });
    }

    // Calls each syscall number given and prints how it ended: 246 (kexec_load) is denied by the profile, 1000 and
    // 0x1ff are newer than every syscall it names, 39 (getpid) is allowed.
    private const string SyscallProbeSource = """
        #include <errno.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            for (int i = 1; i < argc; i++) {
                long number = strtol(argv[i], NULL, 0);
                long result = syscall(number, 0, 0, 0, 0, 0, 0);
                printf("%ld %s\n", number, result == -1 ? strerror(errno) : "ok");
            }
            return 0;
        }
        """;

    /// <summary>Builds the syscall probe into a new temporary directory (the caller deletes it).</summary>
    private static async Task<string> BuildSyscallProbeAsync()
    {
        string directory = Directory.CreateTempSubdirectory("berth-sysprobe-").FullName;
        File.WriteAllText(Path.Combine(directory, "probe.c"), SyscallProbeSource);
        // clang is one of Berth's build dependencies (install.sh); a static binary runs in busybox.
        CommandResult built = await ProcessRunner.RunAsync("clang", ["-static", "-O1", "-o", Path.Combine(directory, "probe"), Path.Combine(directory, "probe.c")]);
        Assert.True(built.ExitCode == 0, built.ToString());
        return directory;
    }

    [Fact]
    public async Task An_x32_syscall_where_the_kernel_has_no_x32_abi_is_killed_in_the_container_and_in_an_exec()
    {
        // Berth leaves x32 out of the seccomp profile on a kernel built without the x32 ABI (runc's create is 10 ms
        // shorter): an x32 call there is an unlisted architecture's, killed (SIGSYS, 159), where Docker's filter lets it
        // fail in the kernel. A kernel built with the ABI keeps Docker's profile: x32 getpid is allowed, and succeeds or
        // (Debian's kernels, unless booted with syscall.x32=y) fails with ENOSYS.
        CommandResult config = await ProcessRunner.RunAsync("sh", ["-c", "zcat /proc/config.gz 2>/dev/null || cat /boot/config-$(uname -r)"]);
        Assert.True(config.ExitCode == 0, "no kernel build configuration to read\n" + config);
        bool x32 = config.Stdout.Split('\n').Any(l => l is "CONFIG_X86_X32_ABI=y" or "CONFIG_X86_X32=y");
        string expected = x32 ? "^1073741863 (ok|Function not implemented)\nexit 0\n$" : "^exit 159\n$";
        string directory = await BuildSyscallProbeAsync();
        try
        {
            const string Probe = "/probe/probe 0x40000027; echo exit $?";
            await WithContainerAsync(["-v", directory + ":/probe:ro"], "(" + Probe + ") > /tmp/main; sleep 300", async name =>
            {
                CommandResult main = await _docker.WaitForOutputAsync(o => o.Contains("exit ", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "exec", name, "cat", "/tmp/main");
                CommandResult exec = await _docker.RunAsync("exec", name, "sh", "-c", Probe);

                Assert.Matches(expected, main.Stdout);
                Assert.True(exec.ExitCode == 0, exec.ToString());
                Assert.Matches(expected, exec.Stdout);
            });
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_syscall_newer_than_the_profile_fails_with_enosys_in_an_exec_as_in_the_container()
    {
        string directory = await BuildSyscallProbeAsync();
        try
        {
            string[] numbers = ["246", "1000", "0x1ff", "39"];
            await WithContainerAsync(["-v", directory + ":/probe:ro"], "/probe/probe " + string.Join(' ', numbers) + " > /tmp/main; sleep 300", async name =>
            {
                CommandResult main = await _docker.WaitForOutputAsync(o => o.EndsWith("39 ok\n", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "exec", name, "cat", "/tmp/main");
                CommandResult exec = await _docker.RunAsync(["exec", name, "/probe/probe", .. numbers]);

                Assert.Equal("246 Operation not permitted\n1000 Function not implemented\n511 Function not implemented\n39 ok\n", main.Stdout);
                Assert.True(exec.ExitCode == 0, exec.ToString());
                Assert.Equal(main.Stdout, exec.Stdout);
            });
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task An_exec_has_only_stdio_open_with_and_without_a_terminal()
    {
        await WithContainerAsync([], "sleep 300", async name =>
        {
            // A process that opens nothing itself (ls and a shell's glob would open their directory): its fds from outside.
            CommandResult detached = await _docker.RunAsync("exec", "-d", name, "sleep", "31");
            Assert.True(detached.ExitCode == 0, detached.ToString());
            CommandResult fds = await _docker.WaitForOutputAsync(o => o.Length > 0, TimeSpan.FromSeconds(30), "exec", name, "sh", "-c", "for p in $(pidof sleep); do [ $p != 1 ] && ls /proc/$p/fd; done; true");
            Assert.Equal("0\n1\n2\n", fds.Stdout);
            CommandResult attached = await _docker.RunAsync("exec", name, "sh", "-c", "for n in $(seq 3 30); do [ -e /proc/$$/fd/$n ] && echo LEAK $n; done; true");
            Assert.Equal("", attached.Stdout);

            CommandResult tty = await _docker.RunAsync("exec", "-t", name, "sh", "-c", "for n in 0 1 2; do echo $n $(readlink /proc/$$/fd/$n); done; for n in $(seq 3 30); do [ -e /proc/$$/fd/$n ] && echo LEAK $n; done; tty");
            Assert.True(tty.ExitCode == 0, tty.ToString());
            Assert.Matches(@"^0 /dev/pts/(\d+)\r\n1 /dev/pts/\1\r\n2 /dev/pts/\1\r\n/dev/pts/\1\r\n$", tty.Stdout);
        });
    }

    [Fact]
    public async Task Exec_with_t_under_a_terminal_starts_with_the_clients_size_and_exits_with_its_code()
    {
        await WithContainerAsync([], "sleep 300", async name =>
        {
            CommandResult result = await ProcessRunner.RunAsync(
                "script", ["-qec", $"stty rows 27 cols 91; docker exec -t {name} sh -c 'stty size; sleep 1; exit 5'", "/dev/null"],
                new Dictionary<string, string?> { ["DOCKER_HOST"] = "unix://" + fixture.Daemon.SocketPath, ["DOCKER_CONFIG"] = Path.Combine(fixture.Daemon.Root, "docker-config") });

            Assert.True(result.ExitCode == 5, result.ToString());
            Assert.Matches(@"^27 91\r+\n$", result.Stdout);
        });
    }

    [Fact]
    public async Task Exec_d_runs_detached_in_the_containers_cgroup()
    {
        await WithContainerAsync([], "sleep 300", async name =>
        {
            CommandResult detached = await _docker.RunAsync("exec", "-d", name, "sh", "-c", "cat /proc/self/cgroup > /tmp/d; sleep 2");
            Assert.True(detached.ExitCode == 0, detached.ToString());
            CommandResult seen = await _docker.WaitForOutputAsync(o => o.Length > 0, TimeSpan.FromSeconds(30), "exec", name, "cat", "/tmp/d");
            CommandResult mine = await _docker.RunAsync("exec", name, "cat", "/proc/1/cgroup");
            Assert.Equal(mine.Stdout, seen.Stdout);
            CommandResult top = await _docker.RunAsync("exec", name, "ps", "-o", "pid,comm");
            Assert.Contains("sleep", top.Stdout, StringComparison.Ordinal);
        });
    }

    /// <summary>
    /// berth-exec stays on the host as the parent of what it runs; its child enters the container before its execve.
    /// Both must run from a sealed memfd copy of berth-exec, never from the installed file (CVE-2019-5736 class: a
    /// container process with CAP_SYS_PTRACE may open the exe of a process in its pid namespace); see BreakoutTests for
    /// the attack from inside.
    /// </summary>
    [Fact]
    public async Task Berth_exec_runs_from_a_sealed_memfd_that_no_write_reaches()
    {
        await WithContainerAsync([], "sleep 300", async name =>
        {
            string id = (await _docker.SucceedAsync("inspect", "-f", "{{.Id}}", name)).Stdout.Trim();
            await _docker.SucceedAsync("exec", "-d", name, "sleep", "60");
            int helper = await FindBerthExecAsync(id);

            string exe = $"/proc/{helper}/exe";
            string? target = new FileInfo(exe).LinkTarget;
            Assert.True(target is not null && target.StartsWith("/memfd:", StringComparison.Ordinal), $"berth-exec runs from {target}");
            // Offset 0 of an ELF file holds 0x7f: had the write gone through, it would have changed nothing.
            bool wrote;
            try
            {
                using Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle(exe, FileMode.Open, FileAccess.Write);
                RandomAccess.Write(handle, [0x7f], 0);
                wrote = true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                wrote = false;
            }

            Assert.False(wrote, $"a write through {exe} ({target}) succeeded");
        });
    }

    /// <summary>
    /// The monitor spawns berth-exec from a sealed copy it makes; run any other way (by hand, as bench/exec-bench.sh
    /// does), berth-exec makes that copy itself and re-executes from it before it joins anything.
    /// </summary>
    [Fact]
    public async Task Berth_exec_run_from_its_file_copies_itself_into_a_sealed_memfd_first()
    {
        await WithContainerAsync([], "sleep 300", async name =>
        {
            string id = (await _docker.SucceedAsync("inspect", "-f", "{{.Id}}", name)).Stdout.Trim();
            using var state = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(fixture.Daemon.RuntimeRoot, id, "state.json")));
            string init = state.RootElement.GetProperty("init_process_pid").GetInt32().ToString(CultureInfo.InvariantCulture);
            string start = state.RootElement.GetProperty("init_process_start").GetUInt64().ToString(CultureInfo.InvariantCulture);
            string work = Directory.CreateTempSubdirectory("berth-exec-direct").FullName;
            Process? helper = null;
            try
            {
                string spec = Path.Combine(work, "spec");
                await File.WriteAllTextAsync(spec, "arg sleep\0arg 30\0env PATH=/bin\0cwd /\0uid 0\0gid 0\0");
                string berthExec = Path.Combine(Path.GetDirectoryName(Binaries.Current.Monitor)!, "berth-exec");
                helper = Process.Start(berthExec, ["--spec", spec, "--pid", init, "--start", start, "--pid-file", Path.Combine(work, "pid"), "--log", Path.Combine(work, "log")])!;
                // The pid file is written once the process runs: berth-exec is past its start-up by then.
                var clock = Stopwatch.StartNew();
                while (!File.Exists(Path.Combine(work, "pid")) || new FileInfo(Path.Combine(work, "pid")).Length == 0)
                {
                    Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10) && !helper.HasExited, "berth-exec did not start the process: " + (File.Exists(Path.Combine(work, "log")) ? File.ReadAllText(Path.Combine(work, "log")) : ""));
                    await Task.Delay(20);
                }

                string? target = new FileInfo($"/proc/{helper.Id}/exe").LinkTarget;
                Assert.True(target is not null && target.StartsWith("/memfd:berth-exec", StringComparison.Ordinal), $"berth-exec runs from {target}");
                Assert.Equal("berth-exec\n", await File.ReadAllTextAsync($"/proc/{helper.Id}/comm"));
            }
            finally
            {
                helper?.Kill(entireProcessTree: true);
                helper?.Dispose();
                Directory.Delete(work, recursive: true);
            }
        });
    }

    /// <summary>
    /// A container whose monitor was started by a Berth from before native exec (it writes no STATE/features, and
    /// would look for NAME.exec.json only) must still exec, through runc exec; one whose monitor lists exec-spec uses
    /// berth-exec. Which path ran shows in the state directory while the exec runs.
    /// </summary>
    [Fact]
    public async Task A_monitor_that_predates_native_exec_gets_a_runtime_exec()
    {
        await WithContainerAsync([], "sleep 300", async name =>
        {
            string id = (await _docker.SucceedAsync("inspect", "-f", "{{.Id}}", name)).Stdout.Trim();
            string state = Path.Combine(fixture.Daemon.ExecRoot, "c", id);
            string features = Path.Combine(state, "features");
            Assert.Equal("exec-spec\n", await File.ReadAllTextAsync(features));
            Assert.Equal(".exec.spec", await ExecFileWhileRunningAsync(name, state));

            File.Delete(features); // what a monitor from before the file leaves
            Assert.Equal(".exec.json", await ExecFileWhileRunningAsync(name, state));
            CommandResult result = await _docker.RunAsync("exec", name, "sh", "-c", "echo out; exit 4");
            Assert.True(result.ExitCode == 4 && result.Stdout == "out\n", result.ToString());
        });
    }

    /// <summary>Runs a 2 s exec in <paramref name="name"/> and returns which exec file berthd wrote for it (spec or process.json).</summary>
    private async Task<string> ExecFileWhileRunningAsync(string name, string state)
    {
        Task<CommandResult> exec = _docker.RunAsync("exec", name, "sleep", "2");
        string? seen = null;
        while (seen is null && !exec.IsCompleted)
        {
            seen = Directory.EnumerateFiles(state).Select(Path.GetFileName).FirstOrDefault(f => f!.EndsWith(".exec.spec", StringComparison.Ordinal) || f.EndsWith(".exec.json", StringComparison.Ordinal));
            await Task.Delay(20);
        }

        CommandResult result = await exec;
        Assert.True(result.ExitCode == 0, result.ToString());
        return seen is null ? "none" : Path.GetExtension(Path.GetFileNameWithoutExtension(seen)) + Path.GetExtension(seen);
    }

    /// <summary>The host pid of the berth-exec serving an exec in container <paramref name="id"/> (its arguments name the container's state directory).</summary>
    private static async Task<int> FindBerthExecAsync(string id)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            foreach (string directory in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(directory), out int pid))
                {
                    continue;
                }

                string[] args;
                try
                {
                    args = (await File.ReadAllTextAsync(Path.Combine(directory, "cmdline"))).Split('\0');
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    continue;
                }

                if (args[0].EndsWith("/berth-exec", StringComparison.Ordinal) && args.Any(a => a.Contains(id, StringComparison.Ordinal)))
                {
                    return pid;
                }
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"no berth-exec process for container {id}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Where_memfds_may_not_run_an_exec_goes_through_runc_exec()
    {
        // berth-exec runs from a sealed memfd copy; vm.memfd_noexec=2 (Linux 6.3+, per pid namespace) forbids running
        // one. A berthd in a pid namespace of its own with that setting: its execs must still work (through runc).
        Assert.True(File.Exists("/proc/sys/vm/memfd_noexec"), "this kernel has no vm.memfd_noexec (Linux 6.3+)");
        await using BerthDaemon daemon = BerthDaemon.Create("memfdnoexec");
        daemon.Launcher = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"];
        daemon.ShellPrelude = "echo 2 > /proc/sys/vm/memfd_noexec";
        await daemon.StartAsync();
        await daemon.BootstrapAsync("busybox");
        string name = Names.Unique("noexec");
        try
        {
            await daemon.Docker.SucceedAsync("run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "300");
            CommandResult exec = await daemon.Docker.RunAsync("exec", name, "sh", "-c", "echo hi; grep -c '^Seccomp:.2' /proc/self/status");

            Assert.True(exec.ExitCode == 0, exec + "\n" + daemon.LogTail());
            Assert.Equal("hi\n1\n", exec.Stdout);
            Assert.Contains("vm.memfd_noexec=2 forbids running a memfd", await File.ReadAllTextAsync(daemon.LogPath), StringComparison.Ordinal);
        }
        finally
        {
            await daemon.Docker.RemoveQuietlyAsync(name);
        }
    }

    private async Task WithContainerAsync(string[] options, string command, Func<string, Task> test)
    {
        string name = Names.Unique("nexec");
        try
        {
            await _docker.SucceedAsync(["run", "-d", "--name", name, .. options, "busybox", "sh", "-c", command]);
            await test(name);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }
}
