using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>
/// daemon.json's <c>max-concurrent-downloads</c> and <c>max-download-attempts</c> reach the puller: a berthd set to
/// one download at a time and one attempt pulls a 3-layer image through a recording proxy (the blob GETs never
/// overlap; by default three run at once), then fails a pull at the first 503 instead of retrying it.
/// </summary>
public sealed class RegistryTransferSettingsTests(DaemonFixture fixture) : IAsyncLifetime
{
    private const int LayerBytes = 1_500_000;
    private static readonly TimeSpan PullTimeout = TimeSpan.FromMinutes(2);
    private readonly string _repository = "transfer/" + Names.Unique("limits");
    private DaemonBesideRegistry? _pair;

    public async Task InitializeAsync()
    {
        _pair = await DaemonBesideRegistry.StartAsync("transfer-limits", _ => """{"max-concurrent-downloads": 1, "max-download-attempts": 1}""");
        // The shared daemon builds busybox plus two layers of random bytes (they do not compress) and publishes it.
        string image = $"{_pair.RegistryHost}/{_repository}:v1";
        string dockerfile = $"FROM busybox\nRUN head -c {LayerBytes} /dev/urandom > /a\nRUN head -c {LayerBytes} /dev/urandom > /b\n";
        CommandResult build = await fixture.Docker.RunAsync(["build", "-q", "--network", "none", "-t", image, "-"], dockerfile, PullTimeout);
        Assert.True(build.ExitCode == 0, build.ToString());
        try
        {
            await fixture.Docker.SucceedAsync(PullTimeout, "push", image);
        }
        finally
        {
            await fixture.Docker.RunAsync("rmi", image);
        }
    }

    public async Task DisposeAsync()
    {
        if (_pair is not null)
        {
            await _pair.DisposeAsync();
        }
    }

    [Fact]
    public async Task One_download_at_a_time_and_one_attempt_are_what_the_daemon_does()
    {
        BerthDaemon daemon = _pair!.Daemon;
        await using (var slow = new RegistryProxy(_pair.RegistryHost) { BytesPerSecond = 6_000_000 })
        {
            string image = $"{slow.Authority}/{_repository}:v1";
            CommandResult pull = await daemon.Docker.RunAsync(["pull", image], stdin: null, timeout: PullTimeout);
            Assert.True(pull.ExitCode == 0, pull.ToString());

            // config, busybox and two random layers: each GET began after the one before it had ended.
            ProxiedRequest[] gets = [.. slow.Requests.Where(r => r.Method == "GET" && r.Path.Contains("/blobs/", StringComparison.Ordinal)).OrderBy(r => r.Received)];
            Assert.Equal(4, gets.Length);
            for (int i = 1; i < gets.Length; i++)
            {
                Assert.True(gets[i].Received >= gets[i - 1].Finished, $"blob GET {i} began at {gets[i].Received:O}, before GET {i - 1} ended at {gets[i - 1].Finished:O}");
            }

            Assert.Equal("a", (await daemon.Docker.SucceedAsync("run", "--rm", "--network", "none", image, "sh", "-c", $"test $(wc -c < /a) -eq {LayerBytes} && echo a")).Stdout.Trim());
            await daemon.Docker.SucceedAsync("rmi", image);
            await daemon.Docker.SucceedAsync("image", "prune", "-a", "-f");
        }

        await using (var failing = new RegistryProxy(_pair.RegistryHost) { FailFirstBlobGetWith = 503 })
        {
            string image = $"{failing.Authority}/{_repository}:v1";
            CommandResult pull = await daemon.Docker.RunAsync(["pull", image], stdin: null, timeout: PullTimeout);
            Assert.True(pull.ExitCode != 0, pull.ToString());
            Assert.DoesNotContain("Retrying", pull.Stdout, StringComparison.Ordinal);
            // One attempt: a blob that got its 503 was never asked for again (with the default of 5 it would be).
            ProxiedRequest[] gets = [.. failing.Requests.Where(r => r.Method == "GET" && r.Path.Contains("/blobs/", StringComparison.Ordinal))];
            Assert.NotEmpty(gets);
            Assert.All(gets, g => Assert.Equal(503, g.Status));
            Assert.Equal(gets.Length, gets.Select(g => g.Path).Distinct(StringComparer.Ordinal).Count());
            Assert.Empty((await daemon.Docker.SucceedAsync("images", "-q")).Stdout.Trim());
        }
    }
}
