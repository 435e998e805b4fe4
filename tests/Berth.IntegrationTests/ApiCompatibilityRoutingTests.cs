using System.Net;
using System.Text.Json;
using Berth.IntegrationTests.Infrastructure;
using Berth.Tests.Shared;

namespace Berth.IntegrationTests;

/// <summary>
/// docs/api-compatibility.md against a running berthd: every endpoint of the table is sent to a daemon of its own (the
/// prunes and creates touch nothing another test owns), and a row marked complete/partial must be served (anything but
/// 404 "page not found"), a row marked "not yet" must answer Docker's 404 "page not found" (or a 501), and no endpoint may
/// hang or answer a 500 with a stack trace. Missing things are named (<c>bt-compat-missing</c>), so handlers answer
/// "No such ..." without doing anything.
/// </summary>
public sealed class ApiCompatibilityRoutingTests
{
    private const string Missing = "bt-compat-missing";
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Queries that keep a probe short and harmless: bounded event streams, pulls from a closed port.</summary>
    private static string QueryFor(ApiEndpoint endpoint)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return endpoint.Path switch
        {
            "/events" => $"?since={now - 1}&until={now}",
            "/images/create" => "?fromImage=127.0.0.1:1/none&tag=probe",
            "/containers/{id}/archive" => "?path=/",
            "/containers/{id}/logs" => "?stdout=1",
            "/containers/{id}/stats" => "?stream=0",
            "/commit" => $"?container={Missing}",
            "/images/get" => $"?names={Missing}",
            _ => "",
        };
    }

    private static HttpContent? BodyFor(ApiEndpoint endpoint) => endpoint switch
    {
        { Method: "GET" or "HEAD" or "DELETE" } => null,
        { Path: "/auth" } => EngineApi.Json("""{"username":"probe","password":"probe","serveraddress":"127.0.0.1:1"}"""),
        { Path: "/build" or "/images/load" or "/containers/{id}/archive" } => new ByteArrayContent([]),
        _ => EngineApi.Json("{}"),
    };

    [Fact]
    public async Task Every_row_marked_served_is_routed_by_berthd_and_every_other_answers_page_not_found()
    {
        IReadOnlyList<ApiCompatibilityRow> table = ApiCompatibilityTable.ReadTable(ApiCompatibilityTable.DocPath(Binaries.RepoRoot));
        Assert.True(table.Count > 100, $"only {table.Count} rows read from docs/api-compatibility.md");

        await using BerthDaemon daemon = BerthDaemon.Create("compat");
        await daemon.StartAsync();
        await daemon.BootstrapAsync("busybox");
        // HEAD has no body to tell "page not found" from "No such container", so HEAD probes name a real container.
        using (HttpResponseMessage created = await daemon.Api.PostAsync("/containers/create?name=bt-compat-probe", EngineApi.Json("""{"Image":"busybox","Cmd":["true"]}""")))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        using HttpClient api = EngineApi.CreateClient(daemon.SocketPath, ProbeTimeout);
        var wrong = new List<string>();
        foreach (ApiCompatibilityRow row in table)
        {
            ApiEndpoint endpoint = row.Endpoint;
            string target = endpoint.Method == "HEAD" ? "bt-compat-probe" : Missing;
            string path = endpoint.Path.Replace("{id}", target, StringComparison.Ordinal).Replace("{name}", target, StringComparison.Ordinal) + QueryFor(endpoint);
            using var request = new HttpRequestMessage(new HttpMethod(endpoint.Method), path) { Content = BodyFor(endpoint) };
            HttpResponseMessage response;
            try
            {
                response = await api.SendAsync(request);
            }
            catch (TaskCanceledException)
            {
                wrong.Add($"{endpoint}: no answer within {ProbeTimeout.TotalSeconds:F0} s");
                continue;
            }

            using (response)
            {
                string body = await response.Content.ReadAsStringAsync();
                bool pageNotFound = response.StatusCode == HttpStatusCode.NotFound && MessageOf(body) == "page not found";
                bool served = !pageNotFound && response.StatusCode is not (HttpStatusCode.NotImplemented or HttpStatusCode.MethodNotAllowed);
                if (endpoint.Method == "HEAD" && response.StatusCode == HttpStatusCode.NotFound)
                {
                    served = false; // the container exists, so a 404 can only be the fallback
                }

                if (served != row.IsServed)
                {
                    wrong.Add($"{endpoint} is marked \"{row.Status}\" but answers {(int)response.StatusCode} {body.Trim()}");
                }

                if (response.StatusCode == HttpStatusCode.InternalServerError && body.Contains("   at ", StringComparison.Ordinal))
                {
                    wrong.Add($"{endpoint} answers a stack trace: {body}");
                }
            }
        }

        Assert.True(wrong.Count == 0, "docs/api-compatibility.md does not match berthd:\n" + string.Join("\n", wrong));
    }

    private static string? MessageOf(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("message", out JsonElement message) ? message.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
