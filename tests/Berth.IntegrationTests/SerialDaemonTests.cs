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
[TestCaseOrderer(RunLastOrderer.TypeName, RunLastOrderer.AssemblyName)]
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

    /// <summary>
    /// Runs after every parallel collection (xunit runs this collection last) and after the other tests here: the shared
    /// daemon must be back to nothing but its image: no containers, no runtime state, no rootfs mounts, no monitors.
    /// </summary>
    [Fact]
    [RunLast]
    public async Task The_tests_left_nothing_behind_on_the_shared_daemon()
    {
        using HttpResponseMessage list = await _api.GetAsync("/v1.50/containers/json?all=1");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        string[] containers = [.. (await list.ReadJsonAsync()).EnumerateArray().Select(c => c.GetProperty("Names")[0].GetString() + " " + c.GetProperty("Status").GetString())];
        Assert.True(containers.Length == 0, "containers left: " + string.Join(", ", containers));

        // A monitor deletes its container's runtime state just after reporting the exit, off the path of the removal
        // the client waited for: a container removed a moment ago may still be listed (bounded: 10 s).
        CommandResult runc;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            runc = await ProcessRunner.RunAsync("runc", ["--root", fixture.Daemon.RuntimeRoot, "list", "--quiet"]);
            Assert.True(runc.ExitCode == 0, runc.ToString());
            if (runc.Stdout.Trim().Length == 0 || clock.Elapsed > TimeSpan.FromSeconds(10))
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.Equal("", runc.Stdout.Trim());

        Assert.Empty(HostCleanup.MountsUnder(fixture.Daemon.Root));
        int daemon = fixture.Daemon.Pid ?? 0;
        Assert.Equal([daemon], HostCleanup.ProcessesUnder(fixture.Daemon.Root)); // berthd itself, no monitor, no runc
        // State directories go once their monitor has let go (just after a removal): allow a bounded moment.
        string stateRoot = Path.Combine(fixture.Daemon.ExecRoot, "c");
        string[] states = [];
        for (int attempt = 0; attempt < 50; attempt++)
        {
            states = Directory.Exists(stateRoot) ? Directory.GetDirectories(stateRoot) : [];
            if (states.Length == 0)
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.Empty(states);
        Assert.Empty(Directory.GetDirectories(Path.Combine(fixture.Daemon.DataRoot, "containers")));
    }

    private async Task<JsonElement> InfoAsync()
    {
        using HttpResponseMessage response = await _api.GetAsync("/v1.50/info");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    private static int Count(JsonElement info, string field) => info.GetProperty(field).GetInt32();
}
