using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>commit, diff, export and import with the docker CLI and berth: a container's changes become images and tars.</summary>
public sealed class ImageChangesTests(DaemonFixture fixture)
{
    private readonly DockerCli _docker = fixture.Docker;

    private Task<CommandResult> BerthAsync(string? stdin, params string[] args) =>
        ProcessRunner.RunAsync(Binaries.Cli, ["-H", "unix://" + fixture.Daemon.SocketPath, .. args], stdin: stdin);

    private const string Changes = "echo hi > /hello; rm /bin/vi; mkdir -p /etc/new; echo x >> /etc/passwd";

    [Fact]
    public async Task Diff_lists_what_the_container_added_changed_and_deleted_and_nothing_the_engine_made()
    {
        string name = Names.Unique("diff");
        string untouched = Names.Unique("diff");
        try
        {
            await _docker.SucceedAsync("run", "--name", name, "busybox", "sh", "-c", Changes);
            Assert.Equal("C /bin\nD /bin/vi\nC /etc\nA /etc/new\nC /etc/passwd\nA /hello\n", (await _docker.SucceedAsync("diff", name)).Stdout);

            await _docker.SucceedAsync("run", "--name", untouched, "busybox", "true");
            CommandResult none = await BerthAsync(null, "diff", untouched);
            Assert.True(none.ExitCode == 0, none.ToString());
            Assert.Equal("", none.Stdout);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name, untouched);
        }
    }

    [Fact]
    public async Task Commit_makes_an_image_of_the_changes_with_the_requested_config()
    {
        string name = Names.Unique("commit");
        string image = Names.Unique("committed") + ":v1";
        try
        {
            await _docker.SucceedAsync("run", "--name", name, "busybox", "sh", "-c", Changes);
            CommandResult commit = await _docker.SucceedAsync("commit", "-c", "CMD [\"cat\", \"/hello\"]", "-c", "ENV GREETING=hi", "-m", "the message", "-a", "tester", name, image);
            Assert.StartsWith("sha256:", commit.Stdout, StringComparison.Ordinal);

            Assert.Equal("hi\n", (await _docker.SucceedAsync("run", "--rm", image)).Stdout);
            // The deletion is a whiteout in the new layer: the file of the image below is hidden.
            CommandResult vi = await _docker.RunAsync("run", "--rm", image, "ls", "/bin/vi");
            Assert.NotEqual(0, vi.ExitCode);
            Assert.Equal("hi\nx\n", (await _docker.SucceedAsync("run", "--rm", "--entrypoint", "sh", image, "-c", "echo $GREETING; tail -n1 /etc/passwd")).Stdout);
            CommandResult history = await _docker.SucceedAsync("history", "--format", "{{.Comment}}", image);
            Assert.StartsWith("the message\n", history.Stdout, StringComparison.Ordinal);
            Assert.Equal("tester\n", (await _docker.SucceedAsync("inspect", "-f", "{{.Author}}", image)).Stdout);
            // The base image is untouched.
            Assert.Equal(0, (await _docker.RunAsync("run", "--rm", "busybox", "ls", "/bin/vi")).ExitCode);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
            await _docker.RunAsync("rmi", image);
        }
    }

    [Fact]
    public async Task Commit_of_a_running_container_pauses_it_and_lets_it_run_on()
    {
        string name = Names.Unique("commit-live");
        string image = Names.Unique("live");
        try
        {
            await _docker.SucceedAsync("run", "-d", "--name", name, "busybox", "sh", "-c", "echo live > /state; sleep 300");
            await _docker.WaitForOutputAsync(o => o.Contains("/state", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "diff", name);
            CommandResult commit = await BerthAsync(null, "commit", name, image);
            Assert.True(commit.ExitCode == 0, commit.ToString());
            Assert.Equal("running\n", (await _docker.SucceedAsync("inspect", "-f", "{{.State.Status}}", name)).Stdout);
            Assert.Equal("live\n", (await _docker.SucceedAsync("run", "--rm", image, "cat", "/state")).Stdout);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
            await _docker.RunAsync("rmi", image);
        }
    }

    [Fact]
    public async Task Export_then_import_gives_an_image_with_the_containers_filesystem()
    {
        string name = Names.Unique("export");
        string image = Names.Unique("imported") + ":v1";
        string tar = Path.Combine(fixture.Daemon.Root, Names.Unique("export") + ".tar");
        try
        {
            await _docker.SucceedAsync("run", "--name", name, "busybox", "sh", "-c", Changes);
            await _docker.SucceedAsync("export", "-o", tar, name);
            CommandResult list = await ProcessRunner.RunAsync("tar", ["-tf", tar]);
            string[] entries = list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains("hello", entries);
            Assert.Contains("bin/busybox", entries);
            Assert.DoesNotContain("bin/vi", entries);

            CommandResult import = await BerthAsync(null, "import", "-c", "CMD [\"cat\", \"/hello\"]", "-m", "from a tar", tar, image);
            Assert.True(import.ExitCode == 0, import.ToString());
            Assert.StartsWith("sha256:", import.Stdout, StringComparison.Ordinal);
            Assert.Equal("hi\n", (await _docker.SucceedAsync("run", "--rm", image)).Stdout);
            Assert.Equal("from a tar\n", (await _docker.SucceedAsync("history", "--format", "{{.Comment}}", image)).Stdout);
            Assert.Equal("1\n", (await _docker.SucceedAsync("inspect", "-f", "{{len .RootFS.Layers}}", image)).Stdout);
        }
        finally
        {
            File.Delete(tar);
            await _docker.RemoveQuietlyAsync(name);
            await _docker.RunAsync("rmi", image);
        }
    }

    [Fact]
    public async Task Docker_import_reads_the_tar_from_stdin()
    {
        string name = Names.Unique("export");
        string image = Names.Unique("stdin");
        try
        {
            await _docker.SucceedAsync("create", "--name", name, "busybox");
            string tar = Path.Combine(fixture.Daemon.Root, Names.Unique("stdin") + ".tar");
            await BerthAsync(null, "export", "-o", tar, name);
            CommandResult import = await ProcessRunner.RunAsync("sh", ["-c", $"docker import - {image} < {tar}; rm -f {tar}"], new Dictionary<string, string?> { ["DOCKER_HOST"] = "unix://" + fixture.Daemon.SocketPath });
            Assert.True(import.ExitCode == 0, import.ToString());
            Assert.Equal("ok\n", (await _docker.SucceedAsync("run", "--rm", image, "echo", "ok")).Stdout);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
            await _docker.RunAsync("rmi", image);
        }
    }
}
