using System.Text.Json;

namespace Berth.IntegrationTests.Infrastructure;

/// <summary>
/// The one berthd every integration test class shares (an assembly fixture, see <see cref="IntegrationTestFramework"/>):
/// a test class asks for it by taking a <see cref="DaemonFixture"/> in its constructor. busybox:latest is bootstrapped.
/// On dispose it reports containers that tests left behind, then stops berthd and cleans the host up.
/// </summary>
public sealed class DaemonFixture : IAsyncLifetime
{
    private BerthDaemon? _daemon;

    public BerthDaemon Daemon => _daemon ?? throw new InvalidOperationException("the shared berthd did not start");

    public DockerCli Docker => Daemon.Docker;

    public HttpClient Api => Daemon.Api;

    public async Task InitializeAsync()
    {
        _daemon = BerthDaemon.Create("shared");
        await _daemon.StartAsync();
        await _daemon.BootstrapAsync("busybox");
    }

    public async Task DisposeAsync()
    {
        if (_daemon is null)
        {
            return;
        }

        string leftovers = "";
        try
        {
            using HttpResponseMessage response = await _daemon.Api.GetAsync("/containers/json?all=1");
            JsonElement list = await response.ReadJsonAsync();
            leftovers = string.Join(", ", list.EnumerateArray().Select(c => $"{c.GetProperty("Names")[0].GetString()} ({c.GetProperty("State").GetString()})"));
        }
        catch (Exception e) when (e is HttpRequestException or InvalidOperationException or TaskCanceledException)
        {
            // The daemon is in trouble; the tests have said so already. Clean up regardless.
        }

        int? exitCode = null;
        try
        {
            exitCode = await _daemon.StopAsync();
        }
        finally
        {
            await _daemon.DisposeAsync(); // cleans up whatever happened
        }

        var problems = new List<string>();
        if (leftovers.Length > 0)
        {
            problems.Add($"integration tests left containers behind (cleaned up now): {leftovers}");
        }

        if (exitCode != 0)
        {
            problems.Add($"berthd did not exit cleanly on SIGTERM (exit code {exitCode}); see {_daemon.KeptLogPath}");
        }

        if (problems.Count > 0)
        {
            throw new InvalidOperationException(string.Join("\n", problems));
        }
    }
}
