using System.Net;
using System.Text.Json;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>
/// Answer shapes that typed clients (Docker.DotNet, Testcontainers) depend on: fields Docker always writes as numbers
/// or flags are never null, and rows that name one thing carry one key. Found by Berth.ClientCompatTests.
/// </summary>
public sealed class ApiTypedClientShapeTests(DaemonFixture fixture)
{
    private readonly HttpClient _api = fixture.Api;

    [Fact]
    public async Task Inspect_writes_unset_host_limits_as_numbers_and_the_default_shm_size()
    {
        string name = Names.Unique("shape");
        using HttpResponseMessage created = await _api.PostAsync($"/v1.50/containers/create?name={name}", EngineApi.Json("""{"Image":"busybox","Cmd":["true"]}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        try
        {
            JsonElement host = (await (await _api.GetAsync($"/v1.50/containers/{name}/json")).ReadJsonAsync()).GetProperty("HostConfig");

            Assert.Equal(64L * 1024 * 1024, host.GetProperty("ShmSize").GetInt64());
            foreach (string field in new[] { "OomScoreAdj", "MemoryReservation", "CpuPeriod", "CpuQuota", "BlkioWeight", "Memory", "NanoCpus", "CpuShares" })
            {
                Assert.True(host.GetProperty(field).ValueKind == JsonValueKind.Number && host.GetProperty(field).GetInt64() == 0, $"{field}: {host.GetProperty(field)}");
            }

            Assert.Equal(JsonValueKind.False, host.GetProperty("PublishAllPorts").ValueKind);
        }
        finally
        {
            await fixture.Docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task Image_delete_rows_carry_only_the_key_they_name()
    {
        string repository = Names.Unique("shape-tag");
        string tag = repository + ":v1";
        // Image changes wait for one another: a debian bootstrap of a parallel test may hold the store for a while.
        using HttpClient patient = EngineApi.CreateClient(fixture.Daemon.SocketPath, TimeSpan.FromMinutes(2));
        using HttpResponseMessage tagged = await patient.PostAsync($"/v1.50/images/busybox/tag?repo={repository}&tag=v1", null);
        Assert.Equal(HttpStatusCode.Created, tagged.StatusCode);
        try
        {
            using HttpResponseMessage response = await patient.DeleteAsync($"/v1.50/images/{tag}");

            JsonElement rows = await response.ReadJsonAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            JsonElement row = Assert.Single(rows.EnumerateArray());
            JsonProperty only = Assert.Single(row.EnumerateObject());
            Assert.Equal("Untagged", only.Name);
            Assert.Equal(tag, only.Value.GetString());
        }
        finally
        {
            _ = await fixture.Docker.RunAsync("rmi", tag);
        }
    }

    [Fact]
    public async Task An_empty_cmd_list_takes_the_images_cmd()
    {
        string name = Names.Unique("shape-cmd");
        // Docker.DotNet (and so Testcontainers) sends "Cmd": [] when the caller sets no command.
        using HttpResponseMessage created = await _api.PostAsync($"/v1.50/containers/create?name={name}", EngineApi.Json("""{"Image":"busybox","Cmd":[],"Entrypoint":null}"""));
        try
        {
            Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
            JsonElement inspect = await (await _api.GetAsync($"/v1.50/containers/{name}/json")).ReadJsonAsync();

            Assert.Equal("sh", inspect.GetProperty("Path").GetString());
            Assert.Equal(["sh"], inspect.GetProperty("Config").GetProperty("Cmd").EnumerateArray().Select(e => e.GetString()));
        }
        finally
        {
            await fixture.Docker.RemoveQuietlyAsync(name);
        }
    }
}
