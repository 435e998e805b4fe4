using System.Net;
using System.Text.Json;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>What older clients (docker-compose 1.29 and its docker-py 5) send and read, over the raw API.</summary>
public sealed class ApiOlderClientsTests(DaemonFixture fixture)
{
    private readonly HttpClient _api = fixture.Api;

    [Theory]
    [InlineData("v1.25", true)]
    [InlineData("v1.44", true)]
    [InlineData("v1.45", false)]
    [InlineData("v1.50", false)]
    public async Task Image_inspect_carries_ContainerConfig_only_before_api_1_45(string version, bool expected)
    {
        using HttpResponseMessage response = await _api.GetAsync($"/{version}/images/busybox/json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement image = await response.ReadJsonAsync();
        Assert.Equal(expected, image.TryGetProperty("ContainerConfig", out JsonElement config));
        Assert.Equal(expected, image.TryGetProperty("Container", out _));
        if (expected)
        {
            Assert.Equal(image.GetProperty("Config").GetProperty("Cmd").ToString(), config.GetProperty("Cmd").ToString());
        }
    }

    [Fact]
    public async Task A_healthcheck_with_null_fields_is_accepted_and_the_nulls_read_as_defaults()
    {
        string name = Names.Unique("nullhc");
        try
        {
            using HttpResponseMessage created = await _api.PostAsync($"/v1.25/containers/create?name={name}", EngineApi.Json("""
                {"Image":"busybox","Cmd":["sleep","300"],
                 "Healthcheck":{"Test":["CMD","true"],"Interval":1000000000,"Timeout":2000000000,"Retries":3,"StartPeriod":null}}
                """));
            Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
            using HttpResponseMessage inspect = await _api.GetAsync($"/containers/{name}/json");
            JsonElement health = (await inspect.ReadJsonAsync()).GetProperty("Config").GetProperty("Healthcheck");
            Assert.Equal(1000000000, health.GetProperty("Interval").GetInt64());
            Assert.Equal(3, health.GetProperty("Retries").GetInt32());
            Assert.Equal(0, health.GetProperty("StartPeriod").GetInt64());
        }
        finally
        {
            await fixture.Docker.RemoveQuietlyAsync(name);
        }
    }
}
