using System.Diagnostics;
using System.Globalization;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary><c>logs -f</c> across json-file rotation, and ctrl-p ctrl-q detaching <c>exec -it</c>.</summary>
public sealed class LogFollowAndExecDetachTests(DaemonFixture fixture)
{
    private readonly DockerCli _docker = fixture.Docker;

    [Theory]
    [InlineData("docker")]
    [InlineData("berth")]
    public async Task Logs_follow_reads_on_into_each_new_file_after_rotation_without_losing_or_repeating_lines(string client)
    {
        string name = Names.Unique("follow-rotate");
        Process? follower = null;
        try
        {
            // 3000 lines of about 100 bytes in bursts of 20 (about 30 rotations of 10 KiB files, twenty kept: about 4 s
            // of slack, for a loaded CI box), started only once the follower has read "ready": every line is still on
            // disk when it gets there.
            await _docker.SucceedAsync("run", "-d", "--name", name, "--log-opt", "max-size=10k", "--log-opt", "max-file=20", "busybox", "sh", "-c",
                "echo ready; while [ ! -e /tmp/go ]; do usleep 10000; done; i=0; while [ $i -lt 3000 ]; do echo line-$i-abcdefghijklmnopqrstuvwxyz-abcdefghijklmnopqrstuvwxyz; i=$((i+1)); [ $((i % 20)) -eq 0 ] && usleep 50000; done; true");
            string logPath = (await _docker.SucceedAsync("inspect", "-f", "{{.LogPath}}", name)).Stdout.Trim();

            var start = new ProcessStartInfo(client == "berth" ? Binaries.Cli : "docker") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string arg in (string[])[.. client == "berth" ? ["-H", "unix://" + fixture.Daemon.SocketPath] : Array.Empty<string>(), "logs", "-f", name])
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment["DOCKER_HOST"] = "unix://" + fixture.Daemon.SocketPath;
            start.Environment["DOCKER_CONFIG"] = Path.Combine(fixture.Daemon.Root, "docker-config");
            follower = Process.Start(start)!;
            var lines = new List<string>();
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Task<string> errors = follower.StandardError.ReadToEndAsync();
            Task reading = Task.Run(async () =>
            {
                while (await follower.StandardOutput.ReadLineAsync() is { } line)
                {
                    lines.Add(line);
                    ready.TrySetResult();
                }
            });
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await _docker.SucceedAsync("exec", name, "touch", "/tmp/go");

            await reading.WaitAsync(TimeSpan.FromSeconds(120));
            await follower.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(follower.ExitCode == 0, await errors);
            Assert.Equal("ready", lines[0]);
            int[] numbers = [.. lines.Skip(1).Select(l => int.Parse(l.Split('-')[1], CultureInfo.InvariantCulture))];
            Assert.Equal(Enumerable.Range(0, 3000), numbers);
            Assert.True(File.Exists(logPath + ".2"), "the log never rotated twice: the test proves nothing");
            Assert.Equal("0", (await _docker.SucceedAsync("wait", name)).Stdout.Trim());
        }
        finally
        {
            if (follower is { HasExited: false })
            {
                follower.Kill(entireProcessTree: true);
            }

            follower?.Dispose();
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task Logs_follow_started_in_the_middle_of_rotations_reads_a_contiguous_run_of_lines_to_the_end()
    {
        string name = Names.Unique("follow-late");
        try
        {
            // The follower arrives while the files rotate about every 0.2 s: its first pass over LOG.19 ... LOG races the
            // renames. Whatever it starts with, it must then see every later line once, in order. Twenty files keep about
            // four seconds of lines, so a follower slowed by a loaded machine still finds each file before it is deleted
            // (with five, one second, a CI run under load lost a file: the reader starts at the oldest, the next to go).
            await _docker.SucceedAsync("run", "-d", "--name", name, "--log-opt", "max-size=10k", "--log-opt", "max-file=20", "busybox", "sh", "-c",
                "i=0; while [ $i -lt 4000 ]; do echo line-$i-abcdefghijklmnopqrstuvwxyz-abcdefghijklmnopqrstuvwxyz; i=$((i+1)); [ $((i % 20)) -eq 0 ] && usleep 50000; done; true");
            string logPath = (await _docker.SucceedAsync("inspect", "-f", "{{.LogPath}}", name)).Stdout.Trim();
            var clock = Stopwatch.StartNew();
            while (!File.Exists(logPath + ".2"))
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the log did not rotate twice within 30 s");
                await Task.Delay(20);
            }

            CommandResult followed = await _docker.RunAsync(["logs", "-f", name], stdin: null, timeout: TimeSpan.FromSeconds(120));
            Assert.True(followed.ExitCode == 0, followed.ToString());
            int[] numbers = [.. followed.Stdout.TrimEnd('\n').Split('\n').Select(l => int.Parse(l.Split('-')[1], CultureInfo.InvariantCulture))];
            Assert.Equal(3999, numbers[^1]);
            Assert.Equal(Enumerable.Range(numbers[0], numbers.Length), numbers);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task Ctrl_p_ctrl_q_detaches_exec_it_and_the_exec_and_the_container_keep_running()
    {
        string name = Names.Unique("exec-detach");
        string script = Path.Combine(fixture.Daemon.Root, $"pty-{name}.py");
        await File.WriteAllTextAsync(script, DetachKeysTests.PtyDriver);
        var environment = new Dictionary<string, string?> { ["DOCKER_HOST"] = "unix://" + fixture.Daemon.SocketPath, ["DOCKER_CONFIG"] = Path.Combine(fixture.Daemon.Root, "docker-config") };
        try
        {
            await _docker.SucceedAsync("run", "-d", "--name", name, "busybox", "sleep", "600");
            CommandResult session = await ProcessRunner.RunAsync("python3", [script, "docker", "exec", "-it", name, "sh"], environment, timeout: TimeSpan.FromSeconds(60));
            Assert.Contains("hi\r\n", session.Stdout, StringComparison.Ordinal);
            // The docker CLI reports the detach of an exec as an error ("read escape sequence", exit 1), as it does for attach.
            Assert.Matches(@"\nEXIT=[01]\n$", session.Stdout);

            // The container runs on, and so does the detached shell: two processes, sleep and sh.
            Assert.Equal("running", (await _docker.SucceedAsync("inspect", "-f", "{{.State.Status}}", name)).Stdout.Trim());
            CommandResult top = await _docker.SucceedAsync("top", name);
            Assert.Contains(top.Stdout.Split('\n'), l => l.TrimEnd().EndsWith(" sh", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(script);
            await _docker.RemoveQuietlyAsync(name);
        }
    }
}
