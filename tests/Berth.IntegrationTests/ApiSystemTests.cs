using System.Net;
using System.Text.Json;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>The raw Engine API edge: ping, version negotiation, errors.</summary>
public sealed class ApiSystemTests(DaemonFixture fixture)
{
    private readonly HttpClient _api = fixture.Api;

    [Theory]
    [InlineData("GET")]
    [InlineData("HEAD")]
    public async Task Ping_answers_with_dockers_headers(string method)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), "/_ping");
        using HttpResponseMessage response = await _api.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("1.50", Header(response, "Api-Version"));
        Assert.Equal("false", Header(response, "Docker-Experimental"));
        Assert.Equal("linux", Header(response, "Ostype"));
        Assert.Equal(method == "GET" ? "OK" : "", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/version")]
    [InlineData("/v1.24/version")]
    [InlineData("/v1.44/version")]
    [InlineData("/v1.50/version")]
    public async Task Version_is_served_with_and_without_a_version_prefix(string path)
    {
        using HttpResponseMessage response = await _api.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement version = await response.ReadJsonAsync();
        Assert.Equal("1.50", version.GetProperty("ApiVersion").GetString());
        Assert.Equal("1.24", version.GetProperty("MinAPIVersion").GetString());
        Assert.Equal("linux", version.GetProperty("Os").GetString());
        Assert.False(string.IsNullOrEmpty(version.GetProperty("Version").GetString()));
    }

    [Fact]
    public async Task A_too_new_version_is_refused_with_dockers_message()
    {
        using HttpResponseMessage response = await _api.GetAsync("/v1.99/version");

        string message = await response.AssertErrorAsync(HttpStatusCode.BadRequest);
        Assert.Equal("client version 1.99 is too new. Maximum supported API version is 1.50", message);
    }

    [Fact]
    public async Task A_too_old_version_is_refused_with_dockers_message()
    {
        using HttpResponseMessage response = await _api.GetAsync("/v1.12/containers/json");

        string message = await response.AssertErrorAsync(HttpStatusCode.BadRequest);
        Assert.Equal("client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version", message);
    }

    [Theory]
    [InlineData("/nosuch/endpoint")]
    [InlineData("/v1.50/nosuch")]
    public async Task An_unknown_endpoint_is_a_json_404(string path)
    {
        using HttpResponseMessage response = await _api.GetAsync(path);

        string message = await response.AssertErrorAsync(HttpStatusCode.NotFound);
        Assert.Equal("page not found", message);
    }

    [Fact]
    public async Task A_missing_plugin_is_404_not_500()
    {
        // docker inspect NAME asks for /plugins/NAME/json when no container or image has the name.
        using HttpResponseMessage response = await _api.GetAsync("/v1.50/plugins/nosuchthing/json");

        string message = await response.AssertErrorAsync(HttpStatusCode.NotFound);
        Assert.Contains("nosuchthing", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Info_is_consistent()
    {
        using HttpResponseMessage response = await _api.GetAsync("/v1.50/info");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement info = await response.ReadJsonAsync();
        Assert.Equal("overlay2", info.GetProperty("Driver").GetString());
        Assert.Equal(fixture.Daemon.DataRoot, info.GetProperty("DockerRootDir").GetString());
        Assert.Equal("linux", info.GetProperty("OSType").GetString());
        Assert.True(info.GetProperty("Images").GetInt32() >= 1);
        Assert.True(info.GetProperty("NCPU").GetInt32() >= 1);
        Assert.Equal(
            info.GetProperty("Containers").GetInt32(),
            info.GetProperty("ContainersRunning").GetInt32() + info.GetProperty("ContainersPaused").GetInt32() + info.GetProperty("ContainersStopped").GetInt32());
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out IEnumerable<string>? values) ? string.Join(",", values) : null;
}
