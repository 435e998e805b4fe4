using System.Diagnostics;
using System.Net;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>
/// `berth registry serve` and `berth registry garbage-collect`, as the issue names them: the berth CLI hands them to
/// berth-registry. A real server on loopback, asked over HTTP, stopped and its root removed afterwards.
/// </summary>
public sealed class RegistryServeCommandTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("berth-regserve-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Berth_registry_serve_answers_the_distribution_api_and_garbage_collect_runs_on_its_root()
    {
        int port = LoopbackPort.Free();

        string data = Path.Combine(_root, "data");
        var start = new ProcessStartInfo(Binaries.Cli) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in new[] { "registry", "serve", "--addr", $"127.0.0.1:{port}", "--root", data })
        {
            start.ArgumentList.Add(arg);
        }

        using Process server = Process.Start(start)!;
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
            HttpStatusCode? status = null;
            var deadline = Stopwatch.StartNew();
            while (status is null && deadline.Elapsed < TimeSpan.FromSeconds(30) && !server.HasExited)
            {
                try
                {
                    using HttpResponseMessage response = await http.GetAsync("/v2/");
                    status = response.StatusCode;
                    Assert.Equal("registry/2.0", response.Headers.GetValues("Docker-Distribution-API-Version").Single());
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(50);
                }
            }

            Assert.True(status == HttpStatusCode.OK, $"/v2/ answered {status?.ToString() ?? "nothing"}; server exited: {server.HasExited}");
            using HttpResponseMessage catalog = await http.GetAsync("/v2/_catalog");
            Assert.Equal(HttpStatusCode.OK, catalog.StatusCode);
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
            }

            await server.WaitForExitAsync();
        }

        // The server is gone (its lock with it): garbage collection of its root runs and says what it would delete.
        CommandResult collect = await ProcessRunner.RunAsync(Binaries.Cli, ["registry", "garbage-collect", "--root", data, "--dry-run"], timeout: TimeSpan.FromSeconds(60));
        Assert.True(collect.ExitCode == 0, collect.ToString());

        CommandResult help = await ProcessRunner.RunAsync(Binaries.Cli, ["registry"], timeout: TimeSpan.FromSeconds(30));
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("garbage-collect", help.Stdout, StringComparison.Ordinal);
    }
}
