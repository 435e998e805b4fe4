using System.Text.Json;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>version, info, images and inspect with the real CLI.</summary>
public sealed class DockerSystemTests(DaemonFixture fixture)
{
    private readonly DockerCli _docker = fixture.Docker;

    [Fact]
    public async Task Version_shows_the_server_and_api_1_50()
    {
        CommandResult result = await _docker.RunAsync("version");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Server:", result.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^ Engine:\s*$", result.Stdout);
        Assert.Matches(@"API version:\s+1\.50 \(minimum version 1\.24\)", result.Stdout);

        CommandResult formatted = await _docker.SucceedAsync("version", "--format", "{{.Server.APIVersion}} {{.Server.MinAPIVersion}} {{.Server.Os}} {{.Client.APIVersion}}");
        Assert.Equal("1.50 1.24 linux 1.50", formatted.Stdout.Trim());
    }

    [Fact]
    public async Task Info_reports_counts_and_drivers()
    {
        CommandResult result = await _docker.RunAsync("info");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"(?m)^ Containers: \d+$", result.Stdout);
        Assert.Matches(@"(?m)^  Running: \d+$", result.Stdout);
        Assert.Matches(@"(?m)^  Stopped: \d+$", result.Stdout);
        Assert.Matches(@"(?m)^ Images: [1-9]\d*$", result.Stdout);
        Assert.Matches(@"(?m)^ Storage Driver: overlay2$", result.Stdout);
        Assert.Matches(@"(?m)^ Cgroup Driver: (cgroupfs|systemd)$", result.Stdout);
        Assert.Matches(@"(?m)^ Default Runtime: runc$", result.Stdout);
        Assert.Contains($" Docker Root Dir: {fixture.Daemon.DataRoot}\n", result.Stdout, StringComparison.Ordinal);

        CommandResult json = await _docker.SucceedAsync("info", "--format", "{{json .}}");
        using var doc = JsonDocument.Parse(json.Stdout);
        JsonElement info = doc.RootElement;
        Assert.Equal("overlay2", info.GetProperty("Driver").GetString());
        Assert.True(info.GetProperty("Images").GetInt32() >= 1);
        int containers = info.GetProperty("Containers").GetInt32();
        int sum = info.GetProperty("ContainersRunning").GetInt32() + info.GetProperty("ContainersPaused").GetInt32() + info.GetProperty("ContainersStopped").GetInt32();
        Assert.Equal(containers, sum);
    }

    [Fact]
    public async Task Images_lists_busybox()
    {
        CommandResult result = await _docker.RunAsync("images");

        Assert.True(result.ExitCode == 0, result.ToString());
        string[] lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$", lines[0]);
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^busybox\s+latest\s+[0-9a-f]{12}\s+"));

        CommandResult formatted = await _docker.SucceedAsync("images", "--format", "{{.Repository}}:{{.Tag}}");
        Assert.Contains("busybox:latest", formatted.Stdout.Split('\n'));
    }

    [Fact]
    public async Task Inspect_of_a_missing_name_exits_1_with_no_such_object()
    {
        string name = Names.Unique("missing");

        CommandResult result = await _docker.RunAsync("inspect", name);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains($"Error: No such object: {name}", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("[]", result.Stdout.Trim());
    }

    [Fact]
    public async Task Inspect_of_the_image_shows_its_config()
    {
        CommandResult result = await _docker.RunAsync("image", "inspect", "--format", "{{.Os}} {{.Architecture}} {{index .RepoTags 0}}", "busybox");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"^linux \w+ busybox:latest$", result.Stdout.Trim());
    }
}
