using System.Diagnostics;

namespace Berth.IntegrationTests.Infrastructure;

/// <summary>
/// Debian's docker-registry (distribution 2.8) on a free 127.0.0.1 port, storing under a private directory: the
/// reference registry Berth's client must work with. Stopped (killed) and its directory removed on dispose.
/// </summary>
internal sealed class DistributionRegistry : IAsyncDisposable
{
    private const string Binary = "/usr/bin/docker-registry";
    private readonly Process _process;
    private readonly string _root;

    private DistributionRegistry(Process process, string root, int port)
    {
        _process = process;
        _root = root;
        Port = port;
    }

    public int Port { get; }

    public string Authority => $"127.0.0.1:{Port}";

    public static async Task<DistributionRegistry> StartAsync()
    {
        Assert.True(File.Exists(Binary), $"{Binary} is missing: apt-get install docker-registry");
        string root = Directory.CreateTempSubdirectory("berth-distribution-").FullName;
        int port = LoopbackPort.Free();
        string config = Path.Combine(root, "config.yml");
        await File.WriteAllTextAsync(config, $"""
            version: 0.1
            log:
              level: error
            storage:
              filesystem:
                rootdirectory: {Path.Combine(root, "data")}
            http:
              addr: 127.0.0.1:{port}
              secret: berth-test-secret
            """);
        var process = Process.Start(new ProcessStartInfo(Binary, ["serve", config]) { RedirectStandardOutput = true, RedirectStandardError = true })
            ?? throw new InvalidOperationException("docker-registry did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var registry = new DistributionRegistry(process, root, port);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using HttpResponseMessage answered = await http.GetAsync(new Uri($"http://{registry.Authority}/v2/"));
                if (answered.IsSuccessStatusCode)
                {
                    return registry;
                }
            }
            catch (HttpRequestException) when (deadline.Elapsed < TimeSpan.FromSeconds(15) && !process.HasExited)
            {
                // Not listening yet.
            }
            catch (HttpRequestException e)
            {
                await registry.DisposeAsync();
                throw new InvalidOperationException("docker-registry did not come up", e);
            }

            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
        Directory.Delete(_root, recursive: true);
    }
}
