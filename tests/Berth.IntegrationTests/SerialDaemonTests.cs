using System.Net;
using System.Text.Json;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>Tests on the shared daemon that need it to themselves (exact counts): xunit runs this collection after the parallel ones.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialOnSharedDaemon
{
    public const string Name = "shared daemon, alone";
}

[Collection(SerialOnSharedDaemon.Name)]
public sealed class SerialDaemonTests(DaemonFixture fixture)
{
    private readonly HttpClient _api = fixture.Api;
    private readonly DockerCli _docker = fixture.Docker;

    [Fact]
    public async Task Info_counts_a_running_container_while_it_runs()
    {
        JsonElement before = await InfoAsync();
        string name = Names.Unique("count");
        try
        {
            await _docker.SucceedAsync("run", "-d", "--name", name, "busybox", "sleep", "30");

            JsonElement during = await InfoAsync();
            Assert.Equal(Count(before, "ContainersRunning") + 1, Count(during, "ContainersRunning"));
            Assert.Equal(Count(before, "Containers") + 1, Count(during, "Containers"));
            Assert.Equal(Count(before, "ContainersStopped"), Count(during, "ContainersStopped"));

            CommandResult info = await _docker.SucceedAsync("info", "--format", "{{.Containers}} {{.ContainersRunning}}");
            Assert.Equal($"{Count(during, "Containers")} {Count(during, "ContainersRunning")}", info.Stdout.Trim());

            await _docker.SucceedAsync("kill", name);
            await _docker.SucceedAsync("wait", name);
            JsonElement stopped = await InfoAsync();
            Assert.Equal(Count(before, "ContainersRunning"), Count(stopped, "ContainersRunning"));
            Assert.Equal(Count(before, "ContainersStopped") + 1, Count(stopped, "ContainersStopped"));
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }

        JsonElement after = await InfoAsync();
        Assert.Equal(Count(before, "Containers"), Count(after, "Containers"));
    }

    [Fact]
    public async Task Ps_lists_only_what_runs_and_ps_all_everything()
    {
        string running = Names.Unique("psrun");
        string exited = Names.Unique("psexit");
        try
        {
            await _docker.SucceedAsync("run", "-d", "--name", running, "busybox", "sleep", "30");
            CommandResult run = await _docker.RunAsync("run", "--name", exited, "busybox", "sh", "-c", "exit 2");
            Assert.True(run.ExitCode == 2, run.ToString());

            CommandResult ps = await _docker.SucceedAsync("ps", "--format", "{{.Names}}");
            Assert.Equal([running], ps.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

            CommandResult all = await _docker.SucceedAsync("ps", "-a", "--format", "{{.Names}} {{.Status}}");
            string[] lines = all.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, lines.Length);
            Assert.Contains(lines, l => l.StartsWith($"{running} Up ", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith($"{exited} Exited (2) ", StringComparison.Ordinal));

            using HttpResponseMessage list = await _api.GetAsync("/v1.50/containers/json");
            Assert.Equal(HttpStatusCode.OK, list.StatusCode);
            JsonElement only = Assert.Single((await list.ReadJsonAsync()).EnumerateArray());
            Assert.Equal("/" + running, only.GetProperty("Names")[0].GetString());
            Assert.Equal("running", only.GetProperty("State").GetString());
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(running, exited);
        }
    }

    private async Task<JsonElement> InfoAsync()
    {
        using HttpResponseMessage response = await _api.GetAsync("/v1.50/info");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    private static int Count(JsonElement info, string field) => info.GetProperty(field).GetInt32();
}
