using System.Text.Json;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>docker stats: figures from the container's cgroup files, through the API, the docker CLI and berth.</summary>
public sealed class StatsTests(DaemonFixture fixture)
{
    private const string Header = "CONTAINER ID   NAME";
    private readonly DockerCli _docker = fixture.Docker;

    private Task<CommandResult> BerthAsync(params string[] args) =>
        ProcessRunner.RunAsync(Binaries.Cli, ["-H", "unix://" + fixture.Daemon.SocketPath, .. args]);

    [Fact]
    public async Task No_stream_stats_show_the_memory_limit_and_pids_through_docker_and_berth()
    {
        string name = Names.Unique("stats");
        try
        {
            await _docker.SucceedAsync("run", "-d", "--name", name, "--memory", "64m", "busybox", "sh", "-c", "sleep 300 & sleep 300 & wait");
            string id = (await _docker.SucceedAsync("inspect", "-f", "{{.Id}}", name)).Stdout.Trim();

            foreach (Func<string[], Task<CommandResult>> cli in new Func<string[], Task<CommandResult>>[] { a => _docker.RunAsync(a), a => BerthAsync(a) })
            {
                CommandResult stats = await cli(["stats", "--no-stream", name]);
                Assert.True(stats.ExitCode == 0, stats.ToString());
                string[] lines = stats.Stdout.TrimEnd('\n').Split('\n');
                Assert.Equal(2, lines.Length);
                Assert.StartsWith(Header, lines[0], StringComparison.Ordinal);
                Assert.Contains("MEM USAGE / LIMIT", lines[0], StringComparison.Ordinal);
                Assert.EndsWith("PIDS", lines[0], StringComparison.Ordinal);
                Assert.StartsWith(id[..12] + "   " + name, lines[1], StringComparison.Ordinal);
                Assert.Contains(" / 64MiB ", lines[1], StringComparison.Ordinal);
                Assert.Matches(@"\s3$", lines[1]); // sh and its two sleeps

                CommandResult formatted = await cli(["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}} {{.MemPerc}}", name]);
                Assert.Matches(name + @" 3 \d+\.\d\d%\n$", formatted.Stdout);
            }
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    private async Task<JsonElement> OneShotStatsAsync(string name)
    {
        using HttpResponseMessage response = await fixture.Api.GetAsync($"/containers/{name}/stats?stream=false&one-shot=true");
        return await response.ReadJsonAsync();
    }

    [Fact]
    public async Task One_shot_stats_have_dockers_fields_and_a_stopped_container_reads_zero()
    {
        string name = Names.Unique("statsapi");
        try
        {
            await _docker.SucceedAsync("run", "-d", "--name", name, "--memory", "32m", "--pids-limit", "50", "busybox", "sleep", "300");
            {
                // A start returns once runc's init has passed its exec fifo; until its execve of `sleep` (well under a
                // millisecond later) its Go threads are the cgroup's tasks too (3 seen once in CI): read again, bounded.
                JsonElement stats = await OneShotStatsAsync(name);
                for (int attempt = 0; attempt < 50 && stats.GetProperty("pids_stats").GetProperty("current").GetInt32() != 1; attempt++)
                {
                    await Task.Delay(20);
                    stats = await OneShotStatsAsync(name);
                }

                Assert.Equal("/" + name, stats.GetProperty("name").GetString());
                Assert.Equal(32L * 1024 * 1024, stats.GetProperty("memory_stats").GetProperty("limit").GetInt64());
                Assert.True(stats.GetProperty("memory_stats").GetProperty("usage").GetInt64() > 0);
                Assert.True(stats.GetProperty("memory_stats").GetProperty("stats").TryGetProperty("cache", out _) || stats.GetProperty("memory_stats").GetProperty("stats").TryGetProperty("file", out _));
                Assert.Equal(1, stats.GetProperty("pids_stats").GetProperty("current").GetInt32());
                Assert.Equal(50, stats.GetProperty("pids_stats").GetProperty("limit").GetInt32());
                Assert.True(stats.GetProperty("cpu_stats").GetProperty("cpu_usage").GetProperty("total_usage").GetInt64() > 0);
                Assert.True(stats.GetProperty("cpu_stats").GetProperty("system_cpu_usage").GetInt64() > 0);
                Assert.Equal(Environment.ProcessorCount, stats.GetProperty("cpu_stats").GetProperty("online_cpus").GetInt32());
                Assert.True(stats.GetProperty("networks").TryGetProperty("eth0", out JsonElement eth0));
                Assert.True(eth0.TryGetProperty("rx_bytes", out _));
                Assert.Equal(JsonValueKind.Array, stats.GetProperty("blkio_stats").GetProperty("io_service_bytes_recursive").ValueKind);
                Assert.NotEqual("0001-01-01T00:00:00Z", stats.GetProperty("read").GetString());
            }

            // Streaming: one object per second, the second carrying the first as its previous sample.
            using (var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(15)))
            using (HttpResponseMessage response = await fixture.Api.GetAsync($"/containers/{name}/stats", HttpCompletionOption.ResponseHeadersRead, cancel.Token))
            {
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
                JsonElement first = JsonDocument.Parse((await reader.ReadLineAsync(cancel.Token))!).RootElement;
                JsonElement second = JsonDocument.Parse((await reader.ReadLineAsync(cancel.Token))!).RootElement;
                Assert.Equal(first.GetProperty("read").GetString(), second.GetProperty("preread").GetString());
            }

            await _docker.SucceedAsync("kill", name);
            await _docker.SucceedAsync("wait", name);
            using (HttpResponseMessage response = await fixture.Api.GetAsync($"/containers/{name}/stats?stream=true"))
            {
                JsonElement stats = await response.ReadJsonAsync();
                Assert.Equal("0001-01-01T00:00:00Z", stats.GetProperty("read").GetString());
                Assert.Equal(0, stats.GetProperty("pids_stats").GetProperty("current").GetInt32());
            }

            using HttpResponseMessage missing = await fixture.Api.GetAsync("/containers/bt-no-such-stats/stats?stream=false");
            await missing.AssertErrorAsync(System.Net.HttpStatusCode.NotFound);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }
}
