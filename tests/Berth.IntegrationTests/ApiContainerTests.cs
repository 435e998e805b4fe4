using System.Net;
using System.Text.Json;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>The raw Engine API for containers: create errors, lookups, wait, logs.</summary>
public sealed class ApiContainerTests(DaemonFixture fixture)
{
    private static readonly TimeSpan ExitWait = TimeSpan.FromSeconds(20);
    private readonly HttpClient _api = fixture.Api;

    [Fact]
    public async Task Create_with_malformed_json_is_a_400_with_a_message()
    {
        using HttpResponseMessage response = await _api.PostAsync("/v1.50/containers/create", EngineApi.Json("{\"Image\": \"busybox\", "));

        string message = await response.AssertErrorAsync(HttpStatusCode.BadRequest);
        Assert.Contains("invalid JSON", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"Image":"busybox","Hostname":"web\n10.6.6.6 bank.example"}""", "invalid Hostname format")]
    [InlineData("""{"Image":"busybox","HostConfig":{"ExtraHosts":["db:10.0.0.5\n10.6.6.6 bank.example"]}}""", "invalid IP address in add-host")]
    [InlineData("""{"Image":"busybox","HostConfig":{"Dns":["10.0.0.53\nnameserver 10.6.6.6"]}}""", "is not an IP address")]
    [InlineData("""{"Image":"busybox","HostConfig":{"DnsSearch":["a.test\nnameserver 10.6.6.6"]}}""", "is not a valid domain")]
    public async Task Fields_that_would_add_lines_to_etc_files_are_400s_and_nothing_is_created(string body, string message)
    {
        string name = Names.Unique("fields");
        using HttpResponseMessage response = await _api.PostAsync($"/v1.50/containers/create?name={name}", EngineApi.Json(body));
        Assert.Contains(message, await response.AssertErrorAsync(HttpStatusCode.BadRequest), StringComparison.Ordinal);

        using HttpResponseMessage after = await _api.GetAsync($"/v1.50/containers/{name}/json");
        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
    }

    [Fact]
    public async Task Create_with_a_missing_image_is_a_404()
    {
        using HttpResponseMessage response = await _api.PostAsync("/v1.50/containers/create", EngineApi.Json("""{"Image":"nosuch","Cmd":["true"]}"""));

        string message = await response.AssertErrorAsync(HttpStatusCode.NotFound);
        Assert.Equal("No such image: nosuch:latest", message);
    }

    [Fact]
    public async Task Inspect_of_a_missing_container_is_a_404()
    {
        using HttpResponseMessage response = await _api.GetAsync("/v1.50/containers/NOPE/json");

        string message = await response.AssertErrorAsync(HttpStatusCode.NotFound);
        Assert.Equal("No such container: NOPE", message);
    }

    [Theory]
    [InlineData("POST", "/v1.50/containers/NOPE/start")]
    [InlineData("POST", "/v1.50/containers/NOPE/wait")]
    [InlineData("GET", "/v1.50/containers/NOPE/logs?stdout=1")]
    [InlineData("DELETE", "/v1.50/containers/NOPE")]
    public async Task Operations_on_a_missing_container_are_404s(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        using HttpResponseMessage response = await _api.SendAsync(request);

        string message = await response.AssertErrorAsync(HttpStatusCode.NotFound);
        Assert.Equal("No such container: NOPE", message);
    }

    [Fact]
    public async Task Wait_next_exit_returns_the_code_of_the_run_that_follows()
    {
        string id = await CreateAsync(Names.Unique("wait"), "sh", "-c", "exit 5");
        try
        {
            // Asked before the start: the answer's headers come at once, its body when the container exits.
            using var waitCts = new CancellationTokenSource(ExitWait);
            Task<HttpResponseMessage> wait = _api.SendAsync(
                new HttpRequestMessage(HttpMethod.Post, $"/v1.50/containers/{id}/wait?condition=next-exit"), HttpCompletionOption.ResponseHeadersRead, waitCts.Token);
            using HttpResponseMessage headers = await wait;
            Assert.Equal(HttpStatusCode.OK, headers.StatusCode);

            using HttpResponseMessage start = await _api.PostAsync($"/v1.50/containers/{id}/start", null);
            Assert.Equal(HttpStatusCode.NoContent, start.StatusCode);

            string body = await headers.Content.ReadAsStringAsync(waitCts.Token);
            using var doc = JsonDocument.Parse(body);
            Assert.Equal(5, doc.RootElement.GetProperty("StatusCode").GetInt32());

            // A plain wait on the exited container answers at once with the same code.
            using HttpResponseMessage again = await _api.PostAsync($"/v1.50/containers/{id}/wait", null);
            JsonElement result = await again.ReadJsonAsync();
            Assert.Equal(5, result.GetProperty("StatusCode").GetInt32());

            JsonElement inspect = await (await _api.GetAsync($"/v1.50/containers/{id}/json")).ReadJsonAsync();
            Assert.Equal("exited", inspect.GetProperty("State").GetProperty("Status").GetString());
            Assert.Equal(5, inspect.GetProperty("State").GetProperty("ExitCode").GetInt32());
        }
        finally
        {
            await RemoveAsync(id);
        }
    }

    [Fact]
    public async Task Logs_come_as_multiplexed_frames()
    {
        string id = await CreateAsync(Names.Unique("logs"), "sh", "-c", "echo out1; echo err1 >&2; echo out2");
        try
        {
            using HttpResponseMessage start = await _api.PostAsync($"/v1.50/containers/{id}/start", null);
            Assert.Equal(HttpStatusCode.NoContent, start.StatusCode);
            using var waitCts = new CancellationTokenSource(ExitWait);
            using HttpResponseMessage wait = await _api.PostAsync($"/v1.50/containers/{id}/wait", null, waitCts.Token);
            Assert.Equal(0, (await wait.ReadJsonAsync()).GetProperty("StatusCode").GetInt32());

            using HttpResponseMessage logs = await _api.GetAsync($"/v1.50/containers/{id}/logs?stdout=1&stderr=1");

            Assert.Equal(HttpStatusCode.OK, logs.StatusCode);
            Assert.Equal("application/vnd.docker.multiplexed-stream", logs.Content.Headers.ContentType?.MediaType);
            List<(int Stream, string Text)> frames = EngineApi.Demultiplex(await logs.Content.ReadAsByteArrayAsync());
            Assert.Equal(3, frames.Count); // one frame per json-file line
            Assert.Equal("out1\nout2\n", string.Concat(frames.Where(f => f.Stream == 1).Select(f => f.Text)));
            Assert.Equal("err1\n", string.Concat(frames.Where(f => f.Stream == 2).Select(f => f.Text)));

            using HttpResponseMessage stdoutOnly = await _api.GetAsync($"/v1.50/containers/{id}/logs?stdout=1");
            List<(int Stream, string Text)> outFrames = EngineApi.Demultiplex(await stdoutOnly.Content.ReadAsByteArrayAsync());
            Assert.All(outFrames, f => Assert.Equal(1, f.Stream));
            Assert.Equal("out1\nout2\n", string.Concat(outFrames.Select(f => f.Text)));

            // tail counts lines of the log, whichever stream they came from (the order between two pipes is not fixed).
            using HttpResponseMessage tail = await _api.GetAsync($"/v1.50/containers/{id}/logs?stdout=1&stderr=1&tail=2");
            List<(int Stream, string Text)> tailFrames = EngineApi.Demultiplex(await tail.Content.ReadAsByteArrayAsync());
            Assert.Equal(2, tailFrames.Count);
            Assert.Equal(frames.Skip(frames.Count - 2), tailFrames);
        }
        finally
        {
            await RemoveAsync(id);
        }
    }

    [Fact]
    public async Task Logs_without_a_stream_is_a_400()
    {
        string id = await CreateAsync(Names.Unique("nologs"), "true");
        try
        {
            using HttpResponseMessage response = await _api.GetAsync($"/v1.50/containers/{id}/logs");

            string message = await response.AssertErrorAsync(HttpStatusCode.BadRequest);
            Assert.Equal("You must choose at least one stream", message);
        }
        finally
        {
            await RemoveAsync(id);
        }
    }

    [Fact]
    public async Task Create_then_remove_round_trips()
    {
        string name = Names.Unique("create");
        string id = await CreateAsync(name, "true");
        try
        {
            JsonElement inspect = await (await _api.GetAsync($"/v1.50/containers/{name}/json")).ReadJsonAsync();
            Assert.Equal(id, inspect.GetProperty("Id").GetString());
            Assert.Equal("/" + name, inspect.GetProperty("Name").GetString());
            Assert.Equal("created", inspect.GetProperty("State").GetProperty("Status").GetString());

            using HttpResponseMessage delete = await _api.DeleteAsync($"/v1.50/containers/{id}");
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
            using HttpResponseMessage gone = await _api.GetAsync($"/v1.50/containers/{id}/json");
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        }
        finally
        {
            await RemoveAsync(id);
        }
    }

    private async Task<string> CreateAsync(string name, params string[] cmd)
    {
        string body = JsonSerializer.Serialize(new { Image = "busybox", Cmd = cmd });
        using HttpResponseMessage response = await _api.PostAsync($"/v1.50/containers/create?name={name}", EngineApi.Json(body));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"create: {(int)response.StatusCode} {text}");
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.GetProperty("Id").GetString()!;
    }

    private async Task RemoveAsync(string id)
    {
        // Never throws from a finally block: a container this misses is reported by the fixture at the end of the run.
        using HttpResponseMessage response = await _api.DeleteAsync($"/v1.50/containers/{id}?force=1");
    }
}
