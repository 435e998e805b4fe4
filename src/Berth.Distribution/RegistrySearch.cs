using System.Net;
using System.Text.Json;
using Berth.Primitives;

namespace Berth.Distribution;

/// <summary>One hit of a registry search (the v1 search API's result, as <c>/images/search</c> passes it on).</summary>
public sealed record SearchHit(string Name, string Description, int StarCount, bool IsOfficial, bool IsAutomated);

/// <summary>
/// <c>docker search</c>: the v1 search API (<c>GET /v1/search?q=TERM&amp;n=LIMIT</c>) of the registry the term names
/// (<c>localhost:5000/app</c> searches localhost:5000 for "app"), Docker Hub's index otherwise. Registries that do not
/// offer search answer 404, which is said plainly.
/// </summary>
public static class RegistrySearch
{
    public static async Task<IReadOnlyList<SearchHit>> SearchAsync(string term, int limit, RegistryCredentials? credentials, DistributionOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(term);
        ArgumentNullException.ThrowIfNull(options);
        (string host, string query) = Split(term);
        if (query.Length == 0)
        {
            throw EngineException.Invalid("invalid search term: it names a registry but nothing to search for");
        }

        RegistryEndpoint endpoint = host == ImageReference.DefaultDomain
            ? new RegistryEndpoint("index.docker.io", new Uri("https://index.docker.io/"))
            : RegistryEndpoint.ForHost(host, options.InsecureRegistries);
        using var client = new RegistryClient(endpoint, credentials, options);
        string url = $"/v1/search?q={Uri.EscapeDataString(query)}&n={limit}";
        using HttpResponseMessage response = await client.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, client.Url(url)), "", HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw EngineException.NotFound($"Unexpected status code 404 from {endpoint.Host}: the registry does not offer search");
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new EngineException(ErrorKind.Internal, $"Unexpected status code {(int)response.StatusCode} from {endpoint.Host} searching for {query}");
        }

        using JsonDocument document = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
        var hits = new List<SearchHit>();
        if (document.RootElement.TryGetProperty("results", out JsonElement results) && results.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement result in results.EnumerateArray().Take(limit))
            {
                hits.Add(new SearchHit(
                    Text(result, "name"),
                    Text(result, "description"),
                    result.TryGetProperty("star_count", out JsonElement stars) && stars.TryGetInt32(out int count) ? count : 0,
                    result.TryGetProperty("is_official", out JsonElement official) && official.ValueKind == JsonValueKind.True,
                    result.TryGetProperty("is_automated", out JsonElement automated) && automated.ValueKind == JsonValueKind.True));
            }
        }

        return hits;
    }

    /// <summary>The registry a term names (its first component when that has a '.' or ':' or is localhost) and what to search there.</summary>
    public static (string Host, string Query) Split(string term)
    {
        ArgumentNullException.ThrowIfNull(term);
        int slash = term.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0)
        {
            string first = term[..slash];
            if (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost")
            {
                return (first is "docker.io" or "index.docker.io" ? ImageReference.DefaultDomain : first, term[(slash + 1)..]);
            }
        }

        return (ImageReference.DefaultDomain, term);
    }

    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";
}
