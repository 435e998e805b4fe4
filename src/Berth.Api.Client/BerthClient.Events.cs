using System.Runtime.CompilerServices;
using System.Text.Json;
using Berth.Api.Types;

namespace Berth.Api.Client;

/// <summary>One event as the daemon sent it: the record, and its JSON line (what <c>--format '{{json .}}'</c> prints).</summary>
public sealed record EventLine(EventMessage Message, string Json);

public sealed partial class BerthClient
{
    /// <summary>
    /// GET /events: the events between <paramref name="since"/> and <paramref name="until"/> (unix seconds with an
    /// optional fraction), as they come; the stream ends at <paramref name="until"/> or when cancelled.
    /// </summary>
    public async IAsyncEnumerable<EventLine> StreamEventsAsync(string? since, string? until, ApiFilters? filters, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        query.Add("since", since);
        query.Add("until", until);
        if (filters is { IsEmpty: false })
        {
            query.Add("filters", filters.ToJson());
        }

        using HttpResponseMessage response = await SendAsync(HttpMethod.Get, "/events" + query, null, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            using var reader = new StreamReader(body);
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                if (line.Length == 0)
                {
                    continue;
                }

                EventMessage? message;
                try
                {
                    message = JsonSerializer.Deserialize(line, ApiJsonContext.Default.EventMessage);
                }
                catch (JsonException e)
                {
                    throw new BerthProtocolException($"the daemon sent an invalid event: {e.Message}", e);
                }

                if (message is not null)
                {
                    yield return new EventLine(message, line);
                }
            }
        }
    }

    /// <summary>POST /containers/{id}/update.</summary>
    public async Task<ContainerUpdateResponse> UpdateContainerAsync(string id, ContainerUpdateRequest request, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, $"/containers/{Escape(id)}/update", JsonBody(request, ApiJsonContext.Default.ContainerUpdateRequest), HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return await ReadJsonAsync(response, ApiJsonContext.Default.ContainerUpdateResponse, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>POST /containers/prune.</summary>
    public async Task<ContainerPruneResponse> PruneContainersAsync(ApiFilters? filters, CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        if (filters is { IsEmpty: false })
        {
            query.Add("filters", filters.ToJson());
        }

        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, "/containers/prune" + query, null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return await ReadJsonAsync(response, ApiJsonContext.Default.ContainerPruneResponse, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>GET /system/df.</summary>
    public Task<SystemDataUsage> GetDiskUsageAsync(CancellationToken cancellationToken) =>
        GetJsonAsync("/system/df", ApiJsonContext.Default.SystemDataUsage, cancellationToken);
}
