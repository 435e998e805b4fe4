using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary><c>cp</c> both ways through the archive API, with the docker CLI and berth, and never onto the host through a symlink.</summary>
public sealed class CopyTests(DaemonFixture fixture) : IDisposable
{
    private readonly DockerCli _docker = fixture.Docker;
    private readonly string _local = Directory.CreateTempSubdirectory("berth-cp-").FullName;

    public void Dispose() => Directory.Delete(_local, recursive: true);

    private Task<CommandResult> BerthAsync(params string[] args) =>
        ProcessRunner.RunAsync(Binaries.Cli, ["-H", "unix://" + fixture.Daemon.SocketPath, .. args]);

    private async Task WithContainerAsync(Func<string, Task> test, bool start)
    {
        string name = Names.Unique("cp");
        try
        {
            await _docker.SucceedAsync(start ? ["run", "-d", "--name", name, "busybox", "sleep", "300"] : ["create", "--name", name, "busybox", "sleep", "300"]);
            await test(name);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [Theory]
    [InlineData("docker", true)]
    [InlineData("docker", false)]
    [InlineData("berth", true)]
    [InlineData("berth", false)]
    public Task Files_and_directories_go_in_and_come_back_out(string cli, bool running) => WithContainerAsync(async name =>
    {
        File.WriteAllText(Path.Combine(_local, "f.txt"), "content\n");
        Directory.CreateDirectory(Path.Combine(_local, "d", "sub"));
        File.WriteAllText(Path.Combine(_local, "d", "sub", "x"), "inner\n");
        Func<string[], Task<CommandResult>> run = cli == "docker" ? args => _docker.RunAsync(args) : BerthAsync;

        Assert.Equal(0, (await run(["cp", Path.Combine(_local, "f.txt"), name + ":/tmp/"])).ExitCode);
        Assert.Equal(0, (await run(["cp", Path.Combine(_local, "f.txt"), name + ":/tmp/renamed.txt"])).ExitCode);
        Assert.Equal(0, (await run(["cp", Path.Combine(_local, "d"), name + ":/tmp/newdir"])).ExitCode);
        if (!running)
        {
            await _docker.SucceedAsync("start", name);
        }

        Assert.Equal("content\ncontent\ninner\n0 0\n", (await _docker.SucceedAsync("exec", name, "sh", "-c", "cat /tmp/f.txt /tmp/renamed.txt /tmp/newdir/sub/x; stat -c '%u %g' /tmp/f.txt")).Stdout);

        string back = Path.Combine(_local, "back");
        CommandResult result = await run(["cp", name + ":/tmp/newdir", back]);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("inner\n", File.ReadAllText(Path.Combine(back, "sub", "x")));
        result = await run(["cp", name + ":/etc/passwd", _local]);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.StartsWith("root:x:0:0", File.ReadAllText(Path.Combine(_local, "passwd")), StringComparison.Ordinal);

        CommandResult missing = await run(["cp", name + ":/no/such/file", _local]);
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("Could not find the file /no/such/file", missing.Stderr, StringComparison.Ordinal);
    }, running);

    [Fact]
    public Task A_symlink_in_the_container_cannot_send_a_copy_onto_the_host() => WithContainerAsync(async name =>
    {
        // /tmp/escape -> / in the container: the copy must land in the container's root, never the host's.
        string marker = "berth-cp-escape-" + Guid.NewGuid().ToString("N")[..8];
        File.WriteAllText(Path.Combine(_local, marker), "evil\n");
        await _docker.SucceedAsync("exec", name, "ln", "-s", "/", "/tmp/escape");
        await _docker.SucceedAsync("exec", name, "ln", "-s", "../../../../../../../../etc", "/tmp/updots");
        await _docker.SucceedAsync("cp", Path.Combine(_local, marker), name + ":/tmp/escape/");
        CommandResult dots = await BerthAsync("cp", Path.Combine(_local, marker), name + ":/tmp/updots/");
        Assert.True(dots.ExitCode == 0, dots.ToString());

        Assert.False(File.Exists("/" + marker));
        Assert.False(File.Exists("/etc/" + marker));
        Assert.Equal("evil\nevil\n", (await _docker.SucceedAsync("exec", name, "sh", "-c", $"cat /{marker} /etc/{marker}")).Stdout);
    }, start: true);

    [Fact]
    public Task A_tar_on_stdin_is_unpacked_in_the_destination() => WithContainerAsync(async name =>
    {
        File.WriteAllText(Path.Combine(_local, "a"), "A\n");
        string tar = Path.Combine(_local, "in.tar");
        await ProcessRunner.RunAsync("tar", ["-C", _local, "-cf", tar, "a"]);
        CommandResult result = await ProcessRunner.RunAsync("sh", ["-c", $"docker cp - {name}:/tmp < {tar}"], new Dictionary<string, string?> { ["DOCKER_HOST"] = "unix://" + fixture.Daemon.SocketPath });
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("A\n", (await _docker.SucceedAsync("exec", name, "cat", "/tmp/a")).Stdout);
    }, start: true);
}
