using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary><c>docker run</c> with the real CLI: output, exit codes, streams, stdin.</summary>
public sealed class DockerRunTests(DaemonFixture fixture)
{
    private readonly DockerCli _docker = fixture.Docker;

    [Fact]
    public async Task Run_prints_the_output_of_the_container()
    {
        CommandResult result = await _docker.RunAsync("run", "--rm", "busybox", "echo", "hello");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("hello\n", result.Stdout);
    }

    [Fact]
    public async Task Run_exits_with_the_container_exit_code()
    {
        CommandResult result = await _docker.RunAsync("run", "--rm", "busybox", "sh", "-c", "exit 3");

        Assert.True(result.ExitCode == 3, result.ToString());
    }

    [Fact]
    public async Task Run_of_a_missing_executable_exits_127_with_the_runtime_error()
    {
        CommandResult result = await _docker.RunAsync("run", "--rm", "busybox", "nosuchcmd");

        Assert.True(result.ExitCode == 127, result.ToString());
        Assert.Contains("executable file not found", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("nosuchcmd", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public async Task Run_keeps_stdout_and_stderr_apart()
    {
        CommandResult result = await _docker.RunAsync("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("out\n", result.Stdout);
        Assert.Equal("err\n", result.Stderr);
    }

    [Fact]
    public async Task Run_with_i_pipes_stdin_to_the_container()
    {
        const string input = "line one\nline two\n";
        CommandResult result = await _docker.RunAsync(["run", "--rm", "-i", "busybox", "cat"], stdin: input);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(input, result.Stdout);
    }

    [Fact]
    public async Task Run_with_i_sees_the_end_of_stdin()
    {
        CommandResult result = await _docker.RunAsync(["run", "--rm", "-i", "busybox", "wc", "-l"], stdin: "a\nb\nc\n");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("3", result.Stdout.Trim());
    }

    [Fact]
    public async Task Run_with_rm_removes_the_container()
    {
        string name = Names.Unique("rm");
        try
        {
            CommandResult run = await _docker.RunAsync("run", "--rm", "--name", name, "busybox", "true");
            Assert.True(run.ExitCode == 0, run.ToString());

            CommandResult inspect = await _docker.RunAsync("inspect", name);
            Assert.True(inspect.ExitCode == 1, inspect.ToString());
            Assert.Contains($"No such object: {name}", inspect.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task Run_with_rm_mounts_the_root_file_system_volatile_and_a_kept_container_not()
    {
        // The layer of an auto-remove container dies with it: its unmount must not sync the whole disk (issue 4).
        string disposable = Names.Unique("rmvol"), kept = Names.Unique("keptvol");
        try
        {
            CommandResult first = await _docker.RunAsync("run", "-d", "--rm", "--name", disposable, "busybox", "sleep", "30");
            Assert.True(first.ExitCode == 0, first.ToString());
            CommandResult second = await _docker.RunAsync("run", "-d", "--name", kept, "busybox", "sleep", "30");
            Assert.True(second.ExitCode == 0, second.ToString());

            Assert.Contains("volatile", RootfsMountOptions(first.Stdout.Trim()), StringComparison.Ordinal);
            Assert.DoesNotContain("volatile", RootfsMountOptions(second.Stdout.Trim()), StringComparison.Ordinal);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(disposable);
            await _docker.RemoveQuietlyAsync(kept);
        }
    }

    /// <summary>The super-block options of the overlay mounted as the container's root file system.</summary>
    private static string RootfsMountOptions(string id)
    {
        string line = File.ReadLines("/proc/self/mountinfo").Single(l => l.Split(' ')[4].EndsWith($"/{id}/bundle/rootfs", StringComparison.Ordinal));
        return line[(line.IndexOf(" - ", StringComparison.Ordinal) + 3)..];
    }
}
