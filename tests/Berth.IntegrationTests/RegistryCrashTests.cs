using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Berth.IntegrationTests.Infrastructure;
using Berth.Registry;

namespace Berth.IntegrationTests;

/// <summary>
/// A berthd of its own (it gets killed) with a 3-layer image (busybox and two layers of random bytes) published to
/// an in-process berth-registry and then removed locally, so every test starts from "only busybox here". A second
/// registry holds two images that share one big random layer (the resume tests pull it through a proxy).
/// </summary>
public sealed class RegistryCrashDaemon : IAsyncLifetime
{
    public const string Repository = "crash/big";
    public const int LayerBytes = 24_000_000;
    public const string HugeRepository = "crash/huge";
    public const int HugeLayerBytes = 52_000_000;
    private BerthDaemon? _daemon;
    private RegistryServer.Running? _registry;
    private RegistryServer.Running? _hugeRegistry;

    public BerthDaemon Daemon => _daemon ?? throw new InvalidOperationException("the registry-crash berthd did not start");

    public string Root { get; } = Directory.CreateTempSubdirectory("berth-regcrash-").FullName;

    /// <summary>The registry root that holds the image (copied by tests that want to damage a registry).</summary>
    public string RegistryData => Path.Combine(Root, "published");

    public string RegistryHost => new Uri(_registry!.Address).Authority;

    /// <summary>The registry of crash/huge:v1 (busybox and a HugeLayerBytes random layer) and v2 (one small layer more).</summary>
    public string HugeRegistryHost => new Uri(_hugeRegistry!.Address).Authority;

    /// <summary>The digest of the big layer both huge images share.</summary>
    public string HugeLayerDigest { get; private set; } = "";

    /// <summary>The big layer's blob size (compressed, a little over HugeLayerBytes).</summary>
    public long HugeLayerSize { get; private set; }

    /// <summary>The content blobs berthd has with only busybox: what a failed or cleaned-up pull must come back to.</summary>
    public IReadOnlySet<string> BaselineBlobs { get; private set; } = new HashSet<string>();

    // Set-up runs while every other collection starts its daemon: the busiest minute of a suite.
    private static readonly TimeSpan SetupStep = TimeSpan.FromMinutes(2);

    public async Task InitializeAsync()
    {
        _daemon = BerthDaemon.Create("registry-crash");
        await _daemon.StartAsync();
        await _daemon.BootstrapAsync("busybox");
        BaselineBlobs = StoreBlobs();
        _registry = await RegistryServer.StartAsync("127.0.0.1:0", RegistryData, CancellationToken.None);
        string image = $"{RegistryHost}/{Repository}:v1";
        string[] builders = [Names.Unique("regcrash1"), Names.Unique("regcrash2")];
        try
        {
            await _daemon.Docker.SucceedAsync(SetupStep, "run", "--network", "none", "--name", builders[0], "busybox", "sh", "-c", $"head -c {LayerBytes} /dev/urandom > /a");
            await _daemon.Docker.SucceedAsync(SetupStep, "commit", builders[0], "regcrash:step");
            await _daemon.Docker.SucceedAsync(SetupStep, "run", "--network", "none", "--name", builders[1], "regcrash:step", "sh", "-c", $"head -c {LayerBytes} /dev/urandom > /b");
            await _daemon.Docker.SucceedAsync(SetupStep, "commit", builders[1], image);
            await _daemon.Docker.SucceedAsync(SetupStep, "push", image);
        }
        finally
        {
            await _daemon.Docker.RunAsync(["rm", "-f", .. builders]);
        }

        await _daemon.Docker.SucceedAsync("rmi", image, "regcrash:step");
        await PublishHugeAsync();
        await _daemon.Docker.SucceedAsync("image", "prune", "-a", "-f", "--filter", "dangling=true");
    }

    private async Task PublishHugeAsync()
    {
        string data = Path.Combine(Root, "published-huge");
        _hugeRegistry = await RegistryServer.StartAsync("127.0.0.1:0", data, CancellationToken.None);
        string v1 = $"{HugeRegistryHost}/{HugeRepository}:v1";
        string v2 = $"{HugeRegistryHost}/{HugeRepository}:v2";
        string[] builders = [Names.Unique("reghuge1"), Names.Unique("reghuge2")];
        try
        {
            await Daemon.Docker.SucceedAsync(SetupStep, "run", "--network", "none", "--name", builders[0], "busybox", "sh", "-c", $"head -c {HugeLayerBytes} /dev/urandom > /big");
            await Daemon.Docker.SucceedAsync(SetupStep, "commit", builders[0], v1);
            await Daemon.Docker.SucceedAsync(SetupStep, "run", "--network", "none", "--name", builders[1], v1, "sh", "-c", "echo two > /two");
            await Daemon.Docker.SucceedAsync(SetupStep, "commit", builders[1], v2);
            await Daemon.Docker.SucceedAsync(SetupStep, "push", v1);
            await Daemon.Docker.SucceedAsync(SetupStep, "push", v2);
        }
        finally
        {
            await Daemon.Docker.RunAsync(["rm", "-f", .. builders]);
        }

        await Daemon.Docker.SucceedAsync("rmi", v2, v1);
        // Random bytes do not compress: the big layer is the only blob over HugeLayerBytes.
        string blobs = Path.Combine(data, "content", "blobs", "sha256");
        string layer = Directory.EnumerateFiles(blobs).Single(f => new FileInfo(f).Length >= HugeLayerBytes);
        HugeLayerDigest = "sha256:" + Path.GetFileName(layer);
        HugeLayerSize = new FileInfo(layer).Length;
    }

    public async Task DisposeAsync()
    {
        if (_registry is not null)
        {
            await _registry.DisposeAsync();
        }

        if (_hugeRegistry is not null)
        {
            await _hugeRegistry.DisposeAsync();
        }

        if (_daemon is not null)
        {
            await _daemon.DisposeAsync();
        }

        Directory.Delete(Root, recursive: true);
    }

    /// <summary>The digests (hex) of berthd's committed content blobs.</summary>
    public HashSet<string> StoreBlobs()
    {
        string blobs = Path.Combine(Daemon.DataRoot, "content", "blobs", "sha256");
        return Directory.Exists(blobs) ? [.. Directory.EnumerateFiles(blobs).Select(f => Path.GetFileName(f))] : [];
    }

    /// <summary>Back to busybox alone: every other image removed and pruned.</summary>
    public async Task ResetAsync()
    {
        CommandResult images = await Daemon.Docker.SucceedAsync("images", "--format", "{{.Repository}}:{{.Tag}}");
        string[] others = [.. images.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(i => i != "busybox:latest")];
        if (others.Length > 0)
        {
            await Daemon.Docker.RunAsync(["rmi", "-f", .. others]);
        }

        await Daemon.Docker.RunAsync("image", "prune", "-f");
    }
}

/// <summary>
/// What a broken registry or a crash does to a pull and a push: a corrupted blob fails the pull with a digest error
/// and leaves nothing behind; berthd killed (SIGKILL) during pulls always restarts consistent and the next pull
/// completes; berth-registry killed during a push never serves a partial blob, and the retried push completes.
/// </summary>
public sealed partial class RegistryCrashTests(RegistryCrashDaemon fixture) : IClassFixture<RegistryCrashDaemon>, IAsyncLifetime
{
    private readonly string _work = Directory.CreateTempSubdirectory("berth-regcrash-test-").FullName;

    private BerthDaemon Daemon => fixture.Daemon;

    private string Image => $"{fixture.RegistryHost}/{RegistryCrashDaemon.Repository}:v1";

    // Set-up runs while every other collection starts its daemon: the busiest minute of a suite.
    private static readonly TimeSpan SetupStep = TimeSpan.FromMinutes(2);

    public async Task InitializeAsync()
    {
        if (Daemon.Pid is null)
        {
            await Daemon.StartAsync();
        }

        await fixture.ResetAsync();
    }

    public async Task DisposeAsync()
    {
        if (Daemon.Pid is null)
        {
            await Daemon.StartAsync();
        }

        await fixture.ResetAsync();
        Directory.Delete(_work, recursive: true);
    }

    /// <summary>The image's two random layers are whole: 2 × LayerBytes bytes.</summary>
    private async Task AssertRunsWholeAsync(string image, string when)
    {
        CommandResult run = await Daemon.Docker.RunAsync("run", "--rm", "--network", "none", image, "sh", "-c", "cat /a /b | wc -c");
        Assert.True(run.ExitCode == 0 && run.Stdout.Trim() == (2 * RegistryCrashDaemon.LayerBytes).ToString(System.Globalization.CultureInfo.InvariantCulture),
            $"{when}: {image} is listed but broken: {run}\n{Daemon.LogTail()}");
    }

    [Fact]
    public async Task A_corrupted_blob_on_the_registry_fails_the_pull_with_a_digest_error_and_leaves_nothing()
    {
        // A copy of the registry with one layer's bytes changed in the middle (same size, so only the digest tells).
        string copy = Path.Combine(_work, "corrupt");
        CopyDirectory(fixture.RegistryData, copy);
        string blobs = Path.Combine(copy, "content", "blobs", "sha256");
        string largest = Directory.EnumerateFiles(blobs).OrderByDescending(f => new FileInfo(f).Length).First();
        await using (var file = new FileStream(largest, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Seek(file.Length / 2, SeekOrigin.Begin);
            int original = file.ReadByte();
            file.Seek(-1, SeekOrigin.Current);
            file.WriteByte((byte)(original ^ 0xff));
        }

        await using RegistryServer.Running corrupt = await RegistryServer.StartAsync("127.0.0.1:0", copy, CancellationToken.None);
        string image = $"{new Uri(corrupt.Address).Authority}/{RegistryCrashDaemon.Repository}:v1";
        CommandResult pull = await Daemon.Docker.RunAsync(["pull", image], stdin: null, timeout: TimeSpan.FromSeconds(120));
        Assert.NotEqual(0, pull.ExitCode);
        Assert.Contains($"filesystem layer verification failed for digest sha256:{Path.GetFileName(largest)}", pull.Stderr, StringComparison.Ordinal);

        Assert.NotEqual(0, (await Daemon.Docker.RunAsync("image", "inspect", image)).ExitCode);
        Assert.Equal(["busybox:latest"], (await Daemon.Docker.SucceedAsync("images", "--format", "{{.Repository}}:{{.Tag}}")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(fixture.BaselineBlobs.Order(), fixture.StoreBlobs().Order());
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(Daemon.DataRoot, "content", "ingest")));

        // The good registry still serves the same image, and it runs whole.
        await Daemon.Docker.SucceedAsync("pull", Image);
        await AssertRunsWholeAsync(Image, "after the good pull");
    }

    [Fact]
    public async Task Berthd_killed_during_pulls_restarts_consistent_and_the_pull_then_completes()
    {
        var clock = Stopwatch.StartNew();
        await Daemon.Docker.SucceedAsync("pull", Image);
        int fullPullMs = (int)clock.ElapsedMilliseconds;
        await fixture.ResetAsync();

        var random = new Random(20261123); // fixed seed: a failure can be replayed
        for (int kill = 0; kill < 5; kill++)
        {
            Task<CommandResult> pull = Daemon.Docker.RunAsync(["pull", Image], stdin: null, timeout: TimeSpan.FromSeconds(120));
            await Task.Delay(random.Next(0, fullPullMs + 1));
            await Daemon.KillAsync();
            _ = await pull; // it fails or finishes: either way the store must be consistent
            await Daemon.StartAsync();

            CommandResult images = await Daemon.Docker.SucceedAsync("images", "--format", "{{.Repository}}:{{.Tag}}");
            foreach (string listed in images.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(i => i != "busybox:latest"))
            {
                Assert.Equal(Image, listed);
                await AssertRunsWholeAsync(listed, $"after kill {kill + 1}");
            }

            await fixture.ResetAsync();
        }

        CommandResult last = await Daemon.Docker.RunAsync(["pull", Image], stdin: null, timeout: TimeSpan.FromSeconds(120));
        Assert.True(last.ExitCode == 0, last.ToString());
        Assert.Contains("Status: Downloaded newer image", last.Stdout, StringComparison.Ordinal);
        await AssertRunsWholeAsync(Image, "after the last pull");

        // Nothing the killed pulls wrote outlives the image: removed and pruned, the store is busybox's again.
        await fixture.ResetAsync();
        await Daemon.Docker.SucceedAsync("image", "prune", "-a", "-f", "--filter", "dangling=true");
        Assert.Equal(fixture.BaselineBlobs.Order(), fixture.StoreBlobs().Order());
    }

    [Fact]
    public async Task Registry_killed_during_a_push_serves_no_partial_blob_and_the_retried_push_completes()
    {
        await Daemon.Docker.SucceedAsync("pull", Image);
        int port = LoopbackPort.Free();
        string host = $"127.0.0.1:{port}";
        string root = Path.Combine(_work, "pushed");
        string target = $"{host}/{RegistryCrashDaemon.Repository}:v1";
        await Daemon.Docker.SucceedAsync("tag", Image, target);

        Process registry = await StartRegistryAsync(host, root);
        try
        {
            Task<CommandResult> push = Daemon.Docker.RunAsync(["push", target], stdin: null, timeout: TimeSpan.FromSeconds(120));
            // Kill while a blob is on its way: an upload file has bytes.
            string uploads = Path.Combine(root, "uploads");
            var deadline = Stopwatch.StartNew();
            while (!Directory.EnumerateFiles(uploads).Any(f => new FileInfo(f).Length > 0) && deadline.Elapsed < TimeSpan.FromSeconds(60) && !push.IsCompleted)
            {
                await Task.Delay(5);
            }

            Assert.False(push.IsCompleted, "the push finished before the registry could be killed mid-upload");
            registry.Kill();
            await registry.WaitForExitAsync();
            CommandResult failed = await push;
            Assert.NotEqual(0, failed.ExitCode);

            // Every blob the killed registry committed hashes to its name: nothing partial was ever made visible.
            foreach (string blob in Directory.EnumerateFiles(Path.Combine(root, "content", "blobs", "sha256")))
            {
                await using FileStream stream = File.OpenRead(blob);
                Assert.Equal(Path.GetFileName(blob), Convert.ToHexStringLower(await SHA256.HashDataAsync(stream)));
            }

            registry.Dispose();
            registry = await StartRegistryAsync(host, root);
            using (var http = new HttpClient { BaseAddress = new Uri($"http://{host}") })
            {
                using HttpResponseMessage manifest = await http.GetAsync($"/v2/{RegistryCrashDaemon.Repository}/manifests/v1");
                Assert.Equal(HttpStatusCode.NotFound, manifest.StatusCode);
                foreach (string blob in Directory.EnumerateFiles(Path.Combine(root, "content", "blobs", "sha256")).Select(f => Path.GetFileName(f)))
                {
                    byte[] served = await http.GetByteArrayAsync($"/v2/{RegistryCrashDaemon.Repository}/blobs/sha256:{blob}");
                    Assert.Equal(blob, Convert.ToHexStringLower(SHA256.HashData(served)));
                }
            }

            CommandResult retried = await Daemon.Docker.RunAsync(["push", target], stdin: null, timeout: TimeSpan.FromSeconds(120));
            Assert.True(retried.ExitCode == 0, retried.ToString());
            await Daemon.Docker.SucceedAsync("rmi", target, Image);
            CommandResult pulled = await Daemon.Docker.RunAsync(["pull", target], stdin: null, timeout: TimeSpan.FromSeconds(120));
            Assert.True(pulled.ExitCode == 0, pulled.ToString());
            await AssertRunsWholeAsync(target, "pulled from the restarted registry");
        }
        finally
        {
            if (!registry.HasExited)
            {
                registry.Kill();
                await registry.WaitForExitAsync();
            }

            registry.Dispose();
        }
    }

    /// <summary>berth-registry as its own process (it gets SIGKILLed), ready once /v2/ answers; bounded.</summary>
    private static async Task<Process> StartRegistryAsync(string host, string root)
    {
        string? binDir = Environment.GetEnvironmentVariable(Binaries.BinDirVariable);
        string binary = !string.IsNullOrEmpty(binDir)
            ? Path.Combine(binDir, "registry", "berth-registry")
            : Path.Combine(Binaries.RepoRoot, "src", "Berth.Registry", "bin", "Release", "net10.0", "linux-x64", "berth-registry");
        var info = new ProcessStartInfo(binary) { UseShellExecute = false };
        foreach (string arg in new[] { "serve", "--addr", host, "--root", root })
        {
            info.ArgumentList.Add(arg);
        }

        Process process = Process.Start(info) ?? throw new InvalidOperationException($"{binary} did not start");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"berth-registry exited with {process.ExitCode}");
            }

            try
            {
                using HttpResponseMessage ping = await http.GetAsync($"http://{host}/v2/");
                if (ping.IsSuccessStatusCode)
                {
                    return process;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Slow to answer on a loaded machine: ask again.
            }

            await Task.Delay(50);
        }

        process.Kill();
        process.Dispose();
        throw new TimeoutException($"berth-registry on {host} did not answer within 30 s");
    }

    private static void CopyDirectory(string source, string target)
    {
        foreach (string directory in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(target, Path.GetRelativePath(source, directory)));
        }

        Directory.CreateDirectory(target);
        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories).Where(f => Path.GetFileName(f) != ".lock"))
        {
            File.Copy(file, Path.Combine(target, Path.GetRelativePath(source, file)));
        }
    }
}
