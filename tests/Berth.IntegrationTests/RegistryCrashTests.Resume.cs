using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>
/// Resumed blob downloads, seen from a proxy in front of the registry: a response cut midway is asked again with
/// <c>Range: bytes=N-</c> for exactly the bytes received; a berthd killed mid-layer resumes from its partial after a
/// restart; a server that ignores ranges still works; two pulls sharing a layer download it once.
/// </summary>
public sealed partial class RegistryCrashTests
{
    private static readonly TimeSpan PullTimeout = TimeSpan.FromSeconds(240);

    private string Ingest => Path.Combine(Daemon.DataRoot, "content", "ingest");

    private string HugePartial => Path.Combine(Ingest, $"sha256-{fixture.HugeLayerDigest["sha256:".Length..]}.partial");

    private string HugeImage(RegistryProxy proxy, string tag) => $"{proxy.Authority}/{RegistryCrashDaemon.HugeRepository}:{tag}";

    [Fact]
    public async Task A_blob_response_cut_midway_is_resumed_from_the_bytes_received()
    {
        RemovePartials();
        await using var proxy = new RegistryProxy(fixture.HugeRegistryHost) { CutBlobAfterBytes = 10_000_000 };
        string image = HugeImage(proxy, "v1");
        CommandResult pull = await Daemon.Docker.RunAsync(["pull", image], stdin: null, timeout: PullTimeout);
        Assert.True(pull.ExitCode == 0, pull.ToString());

        IReadOnlyList<ProxiedRequest> gets = proxy.BlobGets(fixture.HugeLayerDigest);
        Assert.Equal(2, gets.Count);
        Assert.Null(gets[0].Range);
        Assert.Equal(10_000_000, gets[0].BodyBytes);
        Assert.Equal("bytes=10000000-", gets[1].Range);
        Assert.Equal(206, gets[1].Status);
        Assert.Equal(fixture.HugeLayerSize - 10_000_000, gets[1].BodyBytes);
        await AssertHugeWholeAsync(image);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Ingest));
    }

    [Fact]
    public async Task Berthd_killed_mid_layer_resumes_the_layer_from_its_partial_after_a_restart()
    {
        RemovePartials();
        await using var proxy = new RegistryProxy(fixture.HugeRegistryHost) { BytesPerSecond = 8_000_000 };
        string image = HugeImage(proxy, "v1");
        Task<CommandResult> pull = Daemon.Docker.RunAsync(["pull", image], stdin: null, timeout: PullTimeout);
        var clock = Stopwatch.StartNew();
        while (PartialLength() < 12_000_000 && !pull.IsCompleted && clock.Elapsed < TimeSpan.FromSeconds(120))
        {
            await Task.Delay(20);
        }

        if (pull.IsCompleted)
        {
            Assert.Fail($"the pull ended before berthd could be killed mid-layer: {await pull}");
        }

        await Daemon.KillAsync();
        _ = await pull;
        long kept = PartialLength();
        Assert.True(kept >= 12_000_000 && kept < fixture.HugeLayerSize, $"partial of {kept} bytes after the kill");

        // An abandoned partial two days old beside it: start-up removes that one and keeps the fresh one.
        string abandoned = Path.Combine(Ingest, $"sha256-{new string('0', 64)}.partial");
        await File.WriteAllBytesAsync(abandoned, new byte[4096]);
        File.SetLastWriteTimeUtc(abandoned, DateTime.UtcNow.AddDays(-2));

        await Daemon.StartAsync();
        Assert.Equal(kept, PartialLength());
        Assert.False(File.Exists(abandoned), "start-up kept a partial untouched for two days");
        Assert.NotEqual(0, (await Daemon.Docker.RunAsync("image", "inspect", image)).ExitCode);
        Assert.DoesNotContain(fixture.HugeLayerDigest["sha256:".Length..], fixture.StoreBlobs());

        proxy.BytesPerSecond = 0;
        // Through the API, to see Docker's JSON stream: the layer's progress starts at the bytes already there.
        string body;
        using (HttpResponseMessage again = await Daemon.Api.PostAsync($"/images/create?fromImage={Uri.EscapeDataString(image[..^3])}&tag=v1", null))
        {
            body = await again.Content.ReadAsStringAsync();
            Assert.True(again.IsSuccessStatusCode, body);
        }

        JsonElement[] lines = [.. body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];
        Assert.DoesNotContain(lines, l => l.TryGetProperty("error", out _));
        string id = fixture.HugeLayerDigest["sha256:".Length..][..12];
        JsonElement[] progress = [.. lines.Where(l => l.TryGetProperty("id", out JsonElement i) && i.GetString() == id
            && l.GetProperty("status").GetString() == "Downloading" && l.TryGetProperty("progressDetail", out JsonElement d) && d.TryGetProperty("current", out _))];
        Assert.NotEmpty(progress);
        Assert.Equal(kept, progress[0].GetProperty("progressDetail").GetProperty("current").GetInt64());
        Assert.Equal(fixture.HugeLayerSize, progress[^1].GetProperty("progressDetail").GetProperty("current").GetInt64());
        Assert.Equal(fixture.HugeLayerSize, progress[^1].GetProperty("progressDetail").GetProperty("total").GetInt64());
        ProxiedRequest resumed = proxy.BlobGets(fixture.HugeLayerDigest)[^1];
        Assert.Equal($"bytes={kept.ToString(CultureInfo.InvariantCulture)}-", resumed.Range);
        Assert.Equal(206, resumed.Status);
        Assert.Equal(fixture.HugeLayerSize - kept, resumed.BodyBytes);

        await Daemon.Docker.SucceedAsync("image", "inspect", image);
        await AssertHugeWholeAsync(image);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Ingest));
    }

    [Fact]
    public async Task A_server_that_ignores_ranges_sends_the_whole_blob_again_and_the_pull_completes()
    {
        RemovePartials();
        await using var proxy = new RegistryProxy(fixture.HugeRegistryHost) { CutBlobAfterBytes = 10_000_000, IgnoreRange = true };
        string image = HugeImage(proxy, "v1");
        CommandResult pull = await Daemon.Docker.RunAsync(["pull", image], stdin: null, timeout: PullTimeout);
        Assert.True(pull.ExitCode == 0, pull.ToString());

        IReadOnlyList<ProxiedRequest> gets = proxy.BlobGets(fixture.HugeLayerDigest);
        Assert.Equal(2, gets.Count);
        Assert.Equal("bytes=10000000-", gets[1].Range);
        Assert.Equal(200, gets[1].Status);
        Assert.Equal(fixture.HugeLayerSize, gets[1].BodyBytes);
        await AssertHugeWholeAsync(image);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Ingest));
    }

    [Fact]
    public async Task A_503_for_a_blob_is_retried_after_a_backoff()
    {
        RemovePartials();
        await using var proxy = new RegistryProxy(fixture.HugeRegistryHost) { FailFirstBlobGetWith = 503 };
        string image = HugeImage(proxy, "v1");
        CommandResult pull = await Daemon.Docker.RunAsync(["pull", image], stdin: null, timeout: PullTimeout);
        Assert.True(pull.ExitCode == 0, pull.ToString());
        Assert.Contains("Retrying in 1 second", pull.Stdout, StringComparison.Ordinal);

        IReadOnlyList<ProxiedRequest> gets = proxy.BlobGets(fixture.HugeLayerDigest);
        Assert.Equal([503, 200], gets.Select(g => g.Status));
        Assert.True(gets[1].Received - gets[0].Finished >= TimeSpan.FromSeconds(0.9), $"retried {gets[1].Received - gets[0].Finished} after the 503");
        await AssertHugeWholeAsync(image);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Ingest));
    }

    [Fact]
    public async Task Two_pulls_of_images_sharing_a_layer_at_once_download_it_once()
    {
        RemovePartials();
        await using var proxy = new RegistryProxy(fixture.HugeRegistryHost) { BytesPerSecond = 10_000_000 };
        string v1 = HugeImage(proxy, "v1");
        string v2 = HugeImage(proxy, "v2");
        Task<CommandResult> first = Daemon.Docker.RunAsync(["pull", v1], stdin: null, timeout: PullTimeout);
        Task<CommandResult> second = Daemon.Docker.RunAsync(["pull", v2], stdin: null, timeout: PullTimeout);
        CommandResult[] pulls = await Task.WhenAll(first, second);
        Assert.All(pulls, p => Assert.True(p.ExitCode == 0, p.ToString()));

        ProxiedRequest download = Assert.Single(proxy.BlobGets(fixture.HugeLayerDigest));
        Assert.Equal(fixture.HugeLayerSize, download.BodyBytes);
        // They overlapped: both images' manifests were asked for while the shared layer was still on its way.
        foreach (string tag in new[] { "v1", "v2" })
        {
            ProxiedRequest manifest = proxy.Requests.First(r => r.Path.EndsWith("/manifests/" + tag, StringComparison.Ordinal));
            Assert.True(manifest.Received < download.Finished, $"the pull of {tag} began after the shared layer was downloaded: the pulls did not overlap");
        }

        await AssertHugeWholeAsync(v1);
        await AssertHugeWholeAsync(v2);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Ingest));
    }

    private long PartialLength() => File.Exists(HugePartial) ? new FileInfo(HugePartial).Length : 0;

    /// <summary>A test that failed midway may leave a partial the next one would resume from: each starts clean.</summary>
    private void RemovePartials()
    {
        foreach (string partial in Directory.EnumerateFiles(Ingest, "*.partial"))
        {
            File.Delete(partial);
        }
    }

    private async Task AssertHugeWholeAsync(string image)
    {
        CommandResult run = await Daemon.Docker.RunAsync("run", "--rm", "--network", "none", image, "sh", "-c", "wc -c < /big");
        Assert.True(run.ExitCode == 0 && run.Stdout.Trim() == RegistryCrashDaemon.HugeLayerBytes.ToString(CultureInfo.InvariantCulture),
            $"{image} is listed but broken: {run}\n{Daemon.LogTail()}");
    }
}
