using System.Diagnostics;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>
/// A daemon killed (SIGKILL) at random moments of `docker load`, twenty times: after every restart the store is
/// consistent (images list and inspect, every listed image runs), and once everything is removed and pruned not one
/// blob or layer is left behind. Uses the live-restore daemon, which may be killed and runs alone.
/// </summary>
[Collection(LiveRestoreCollection.Name)]
public sealed class LoadCrashTests(LiveRestoreDaemon fixture) : IDisposable
{
    private const int Kills = 20;
    private readonly BerthDaemon _daemon = fixture.Daemon;
    private readonly string _work = Directory.CreateTempSubdirectory("berth-loadcrash-").FullName;
    private DockerCli Docker => _daemon.Docker;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public async Task Twenty_kills_during_load_never_leave_a_corrupt_store_or_an_orphan_blob()
    {
        if (_daemon.Pid is null)
        {
            await _daemon.StartAsync();
        }

        // A 3-layer image (busybox + two 4 MB layers of random bytes), saved, then removed with everything else.
        string archive = Path.Combine(_work, "image.tar");
        string[] builders = [Names.Unique("layer1"), Names.Unique("layer2")];
        try
        {
            await Docker.SucceedAsync("run", "--name", builders[0], "busybox", "sh", "-c", "head -c 4000000 /dev/urandom > /a");
            await Docker.SucceedAsync("commit", builders[0], "crash-load:step");
            await Docker.SucceedAsync("run", "--name", builders[1], "crash-load:step", "sh", "-c", "head -c 4000000 /dev/urandom > /b");
            await Docker.SucceedAsync("commit", builders[1], "crash-load:v1");
            await Docker.SucceedAsync("save", "-o", archive, "crash-load:v1");
        }
        finally
        {
            await Docker.RunAsync(["rm", "-f", .. builders]);
        }

        await RemoveAllImagesAsync();
        var clock = Stopwatch.StartNew();
        await Docker.SucceedAsync("load", "-i", archive);
        int fullLoadMs = (int)clock.ElapsedMilliseconds;
        await RemoveAllImagesAsync();

        var random = new Random(20261123); // fixed seed: a failure can be replayed
        for (int kill = 0; kill < Kills; kill++)
        {
            Task<CommandResult> load = Docker.RunAsync(["load", "-i", archive], stdin: null, timeout: TimeSpan.FromSeconds(60));
            await Task.Delay(random.Next(0, fullLoadMs + (fullLoadMs / 3) + 1));
            await _daemon.KillAsync();
            _ = await load; // it fails or finishes: either is fine, the store must be consistent
            await _daemon.StartAsync();

            CommandResult images = await Docker.SucceedAsync("images", "-q", "--no-trunc");
            foreach (string id in images.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                await Docker.SucceedAsync("image", "inspect", id);
                CommandResult run = await Docker.RunAsync("run", "--rm", "--network", "none", id, "sh", "-c", "cat /a /b | wc -c");
                Assert.True(run.ExitCode == 0 && run.Stdout.Trim() == "8000000", $"after kill {kill + 1}: image {id} is listed but broken: {run}\n{_daemon.LogTail()}");
            }
        }

        // A load after all that completes, and the image is whole.
        await Docker.SucceedAsync("load", "-i", archive);
        Assert.Equal("8000000", (await Docker.SucceedAsync("run", "--rm", "--network", "none", "crash-load:v1", "sh", "-c", "cat /a /b | wc -c")).Stdout.Trim());

        // Nothing referenced nothing: no blob, no ingest file, no layer directory survives removal and prune.
        await RemoveAllImagesAsync();
        await Docker.SucceedAsync("image", "prune", "-a", "-f");
        string content = Path.Combine(_daemon.DataRoot, "content");
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(content, "blobs"), "*", SearchOption.AllDirectories));
        Assert.Empty(Directory.Exists(Path.Combine(content, "ingest")) ? Directory.EnumerateFileSystemEntries(Path.Combine(content, "ingest")) : []);

        await _daemon.BootstrapAsync("busybox"); // the other live-restore tests run busybox
    }

    private async Task RemoveAllImagesAsync()
    {
        CommandResult all = await Docker.SucceedAsync("images", "-aq", "--no-trunc");
        string[] ids = [.. all.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Distinct()];
        if (ids.Length > 0)
        {
            await Docker.SucceedAsync(["rmi", "-f", .. ids]);
        }
    }
}
