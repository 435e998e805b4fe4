using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>tag, history, image ls filters, save and load with the real docker CLI (each test on its own tags).</summary>
public sealed class DockerImageTests(DaemonFixture fixture)
{
    private readonly DockerCli _docker = fixture.Docker;
    private readonly HttpClient _api = fixture.Api;

    [Fact]
    public async Task Tag_points_a_new_name_at_the_image_and_rmi_only_untags_it()
    {
        string repo = Names.Unique("tag");
        try
        {
            await _docker.SucceedAsync("tag", "busybox", repo + ":v1");
            await _docker.SucceedAsync("image", "tag", "busybox:latest", "localhost:5000/" + repo);

            string busyboxId = (await _docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", "busybox")).Stdout.Trim();
            Assert.Equal(busyboxId, (await _docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", repo + ":v1")).Stdout.Trim());
            Assert.Equal(busyboxId, (await _docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", "localhost:5000/" + repo + ":latest")).Stdout.Trim());
            CommandResult tags = await _docker.SucceedAsync("image", "inspect", "--format", "{{json .RepoTags}}", "busybox");
            Assert.Contains($"\"{repo}:v1\"", tags.Stdout, StringComparison.Ordinal);

            CommandResult untag = await _docker.SucceedAsync("rmi", repo + ":v1");
            Assert.Equal($"Untagged: {repo}:v1", untag.Stdout.Trim());

            CommandResult missing = await _docker.RunAsync("tag", Names.Unique("nosuch"), repo);
            Assert.Equal(1, missing.ExitCode);
            Assert.Contains("No such image", missing.Stderr, StringComparison.Ordinal);

            CommandResult bad = await _docker.RunAsync("tag", "busybox", "Upper/Case");
            Assert.NotEqual(0, bad.ExitCode);
        }
        finally
        {
            await _docker.RunAsync("rmi", repo + ":v1", "localhost:5000/" + repo);
        }
    }

    [Fact]
    public async Task Rmi_frees_the_images_own_layers_at_once_and_keeps_shared_ones()
    {
        string container = Names.Unique("rmilayer");
        string image = Names.Unique("rmilayer") + ":v1";
        try
        {
            await _docker.SucceedAsync("run", "--name", container, "busybox", "sh", "-c", "echo own > /own-layer");
            await _docker.SucceedAsync("commit", container, image);
            await _docker.SucceedAsync("rm", container);
            string[] layers = (await _docker.SucceedAsync("image", "inspect", "--format", "{{.GraphDriver.Data.LowerDir}}", image)).Stdout.Trim().Split(':');
            Assert.Equal(2, layers.Length);
            Assert.All(layers, l => Assert.True(Directory.Exists(l), l));
            string own = layers.Single(l => File.Exists(Path.Combine(l, "own-layer")));

            await _docker.SucceedAsync("rmi", image);
            Assert.False(Directory.Exists(own), $"{own} outlived rmi");
            Assert.All(layers.Where(l => l != own), l => Assert.True(Directory.Exists(l), $"busybox's layer {l} went with an image that shared it"));
            await _docker.SucceedAsync("run", "--rm", "busybox", "true");
        }
        finally
        {
            await _docker.RunAsync("rm", "-f", container);
            await _docker.RunAsync("rmi", image);
        }
    }

    [Fact]
    public async Task Tag_over_the_api_answers_201_and_refuses_digests()
    {
        string repo = Names.Unique("apitag");
        try
        {
            using HttpResponseMessage created = await _api.PostAsync($"/v1.50/images/busybox/tag?repo={repo}&tag=x", null);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);

            using HttpResponseMessage digest = await _api.PostAsync($"/v1.50/images/busybox/tag?repo={repo}@sha256:{new string('a', 64)}", null);
            await digest.AssertErrorAsync(HttpStatusCode.BadRequest);

            using HttpResponseMessage missing = await _api.PostAsync($"/v1.50/images/{Names.Unique("none")}/tag?repo={repo}", null);
            await missing.AssertErrorAsync(HttpStatusCode.NotFound);
        }
        finally
        {
            await _docker.RunAsync("rmi", repo + ":x");
        }
    }

    [Fact]
    public async Task History_shows_docker_s_table_with_missing_for_lower_layers()
    {
        CommandResult table = await _docker.SucceedAsync("history", "busybox");
        string[] lines = table.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$", lines[0]);
        Assert.Equal(3, lines.Length);
        Assert.Matches(@"^[0-9a-f]{12}\s+.+ago\s+CMD \[""sh""\]\s+0B\s*$", lines[1]);
        Assert.Matches(@"^<missing>\s+.+ago\s+berth image bootstrap: ADD .+\s+[0-9.]+[kM]B\s*$", lines[2]);

        CommandResult quiet = await _docker.SucceedAsync("image", "history", "-q", "busybox");
        string[] ids = quiet.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches("^[0-9a-f]{12}$", ids[0]);
        Assert.Equal("<missing>", ids[1]);

        CommandResult full = await _docker.SucceedAsync("history", "--no-trunc", "--format", "{{.ID}}|{{.CreatedBy}}|{{.Size}}", "busybox");
        string[] rows = full.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^sha256:[0-9a-f]{64}\|CMD \[""sh""\]\|0B$", rows[0]);
        Assert.StartsWith("<missing>|berth image bootstrap: ADD ", rows[1], StringComparison.Ordinal);

        CommandResult missing = await _docker.RunAsync("history", Names.Unique("nosuch"));
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("No such image", missing.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Image_ls_filters_by_reference_dangling_and_label()
    {
        string repo = Names.Unique("filter");
        try
        {
            await _docker.SucceedAsync("tag", "busybox", repo + ":one");
            await _docker.SucceedAsync("tag", "busybox", repo + ":two");

            CommandResult byRepo = await _docker.SucceedAsync("images", "--format", "{{.Repository}}:{{.Tag}}", repo);
            Assert.Equal([$"{repo}:one", $"{repo}:two"], byRepo.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());

            CommandResult byGlob = await _docker.SucceedAsync("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", $"reference={repo}:t*");
            Assert.Equal($"{repo}:two", byGlob.Stdout.Trim());

            CommandResult notDangling = await _docker.SucceedAsync("images", "-a", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "dangling=false");
            Assert.Contains("busybox:latest", notDangling.Stdout.Split('\n'));

            CommandResult dangling = await _docker.SucceedAsync("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "dangling=true");
            Assert.DoesNotContain("busybox:latest", dangling.Stdout.Split('\n'));

            CommandResult label = await _docker.SucceedAsync("images", "-q", "--filter", "label=" + Names.Unique("nolabel"));
            Assert.Equal("", label.Stdout.Trim());

            CommandResult before = await _docker.SucceedAsync("images", "-q", "--filter", "before=busybox");
            Assert.DoesNotContain(
                (await _docker.SucceedAsync("images", "-q", "busybox")).Stdout.Trim(),
                before.Stdout.Split('\n'));

            CommandResult badFilter = await _docker.RunAsync("images", "--filter", "dangling=maybe");
            Assert.NotEqual(0, badFilter.ExitCode);
            Assert.Contains("invalid filter", badFilter.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await _docker.RunAsync("rmi", repo + ":one", repo + ":two");
        }
    }
}
