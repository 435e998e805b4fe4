using System.Net;
using System.Text.Json;
using Berth.IntegrationTests.Infrastructure;
using Berth.Registry;

namespace Berth.IntegrationTests;

/// <summary>
/// berth-registry's manifest DELETE (only when enabled, as distribution) and <c>berth-registry garbage-collect</c>:
/// blobs no remaining manifest references are swept, the rest still pull; a dry run only lists; a running server
/// keeps the collector out; <c>--delete-untagged</c> drops manifests no tag reaches.
/// </summary>
public sealed class RegistryGarbageCollectTests(DaemonFixture fixture) : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("berth-reggc-").FullName;
    private readonly List<string> _images = [];
    private RegistryServer.Running? _registry;

    private string Data => Path.Combine(_root, "data");

    private string Blobs => Path.Combine(Data, "content", "blobs", "sha256");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_images.Count > 0)
        {
            await fixture.Docker.RunAsync(["rmi", .. _images]);
        }

        if (_registry is not null)
        {
            await _registry.DisposeAsync();
        }

        Directory.Delete(_root, recursive: true);
    }

    private async Task StartAsync(bool deleteEnabled, string address = "127.0.0.1:0")
    {
        _registry = await RegistryServer.StartAsync(new RegistryServerOptions { Address = address, Root = Data, DeleteEnabled = deleteEnabled }, CancellationToken.None);
    }

    private async Task StopAsync()
    {
        await _registry!.DisposeAsync();
        _registry = null;
    }

    /// <summary>The registry binary test.sh publishes beside the others, or this configuration's build.</summary>
    private static string RegistryBinary()
    {
        string? binDir = Environment.GetEnvironmentVariable(Binaries.BinDirVariable);
        string path = !string.IsNullOrEmpty(binDir)
            ? Path.Combine(binDir, "registry", "berth-registry")
            : Path.Combine(Binaries.RepoRoot, "src", "Berth.Registry", "bin", "Release", "net10.0", "linux-x64", "berth-registry");
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} not found: publish src/Berth.Registry", path);
    }

    private static Task<CommandResult> CollectAsync(params string[] args) =>
        ProcessRunner.RunAsync(RegistryBinary(), ["garbage-collect", .. args], stdin: null, timeout: TimeSpan.FromSeconds(60));

    private async Task<(string Digest, string[] Blobs)> PushAsync(string image)
    {
        CommandResult push = await fixture.Docker.SucceedAsync("push", image);
        string digest = System.Text.RegularExpressions.Regex.Match(push.Stdout, @"digest: (sha256:[0-9a-f]{64})").Groups[1].Value;
        string manifest = File.ReadAllText(Path.Combine(Blobs, digest["sha256:".Length..]));
        using JsonDocument document = JsonDocument.Parse(manifest);
        string[] blobs = [digest, document.RootElement.GetProperty("config").GetProperty("digest").GetString()!,
            .. document.RootElement.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("digest").GetString()!)];
        return (digest, blobs);
    }

    private bool Stored(string digest) => File.Exists(Path.Combine(Blobs, digest["sha256:".Length..]));

    [Fact]
    public async Task Deleted_manifests_leave_blobs_that_garbage_collect_sweeps_and_the_rest_still_pulls()
    {
        await StartAsync(deleteEnabled: false);
        string host = new Uri(_registry!.Address).Authority;

        // Two images: busybox, and busybox with one more layer of its own.
        string kept = $"{host}/gc/kept:v1";
        string dropped = $"{host}/gc/dropped:v1";
        string builder = Names.Unique("gc-builder");
        _images.AddRange([kept, dropped]);
        await fixture.Docker.SucceedAsync("tag", "busybox", kept);
        await fixture.Docker.SucceedAsync("run", "--name", builder, "busybox", "sh", "-c", "head -c 100000 /dev/urandom > /extra");
        try
        {
            await fixture.Docker.SucceedAsync("commit", builder, dropped);
        }
        finally
        {
            await fixture.Docker.RunAsync("rm", "-f", builder);
        }

        (string keptDigest, string[] keptBlobs) = await PushAsync(kept);
        (string droppedDigest, string[] droppedBlobs) = await PushAsync(dropped);
        string[] onlyDropped = [.. droppedBlobs.Except(keptBlobs)];
        Assert.Equal(3, onlyDropped.Length); // its manifest, its config, its extra layer

        // Deleting is off unless enabled, as distribution.
        using (var http = new HttpClient { BaseAddress = new Uri(_registry.Address) })
        using (HttpResponseMessage refused = await http.DeleteAsync($"/v2/gc/dropped/manifests/{droppedDigest}"))
        {
            Assert.Equal(HttpStatusCode.MethodNotAllowed, refused.StatusCode);
        }

        await StopAsync();
        await StartAsync(deleteEnabled: true, address: host);
        using var http2 = new HttpClient { BaseAddress = new Uri(_registry!.Address) };
        using (HttpResponseMessage deleted = await http2.DeleteAsync($"/v2/gc/dropped/manifests/{droppedDigest}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, deleted.StatusCode);
        }

        using (HttpResponseMessage gone = await http2.GetAsync("/v2/gc/dropped/manifests/v1"))
        {
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        }

        // The collector stays out while a server has the root.
        CommandResult busy = await CollectAsync("--root", Data);
        Assert.NotEqual(0, busy.ExitCode);
        Assert.Contains("in use by a running berth-registry", busy.Stderr, StringComparison.Ordinal);
        await StopAsync();

        CommandResult dry = await CollectAsync("--root", Data, "--dry-run");
        Assert.True(dry.ExitCode == 0, dry.ToString());
        foreach (string blob in onlyDropped)
        {
            Assert.Contains($"blob eligible for deletion: {blob}", dry.Stdout, StringComparison.Ordinal);
            Assert.True(Stored(blob), $"the dry run deleted {blob}");
        }

        CommandResult swept = await CollectAsync("--root", Data);
        Assert.True(swept.ExitCode == 0, swept.ToString());
        Assert.All(onlyDropped, blob => Assert.False(Stored(blob), $"{blob} survived the collection"));
        Assert.All(keptBlobs, blob => Assert.True(Stored(blob), $"{blob} of a live manifest was swept"));

        // What is left still serves: the kept image pulls back whole and runs.
        await StartAsync(deleteEnabled: true, address: host);
        await fixture.Docker.SucceedAsync("rmi", kept);
        CommandResult pull = await fixture.Docker.SucceedAsync("pull", kept);
        Assert.Contains($"Digest: {keptDigest}", pull.Stdout, StringComparison.Ordinal);
        Assert.Equal("still-here", (await fixture.Docker.SucceedAsync("run", "--rm", kept, "echo", "still-here")).Stdout.Trim());

        // --delete-untagged: re-pointing the tag at another image leaves the old manifest untagged, and it goes.
        await fixture.Docker.SucceedAsync("tag", dropped, kept);
        (_, string[] retagged) = await PushAsync(kept);
        await StopAsync();
        CommandResult untagged = await CollectAsync("--root", Data, "--delete-untagged");
        Assert.True(untagged.ExitCode == 0, untagged.ToString());
        Assert.Contains($"manifest eligible for deletion: gc/kept@{keptDigest}", untagged.Stdout, StringComparison.Ordinal);
        Assert.False(Stored(keptDigest));
        Assert.All(retagged, blob => Assert.True(Stored(blob), $"{blob} of the tagged manifest was swept"));
    }
}
