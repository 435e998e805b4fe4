using System.Text.Json;
using Berth.Api.Types;

namespace Berth.Api.Client;

public sealed partial class BerthClient
{
    /// <summary>POST /networks/create.</summary>
    public async Task<NetworkCreateResponse> CreateNetworkAsync(NetworkCreateRequest request, CancellationToken cancellationToken)
    {
        using HttpContent content = JsonBody(request, ApiJsonContext.Default.NetworkCreateRequest);
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, "/networks/create", content, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return await ReadJsonAsync(response, ApiJsonContext.Default.NetworkCreateResponse, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>GET /networks with filters.</summary>
    public Task<IReadOnlyList<NetworkInspect>> ListNetworksAsync(ApiFilters? filters, CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        if (filters is { IsEmpty: false })
        {
            query.Add("filters", filters.ToJson());
        }

        return GetJsonAsync("/networks" + query, ApiJsonContext.Default.IReadOnlyListNetworkInspect, cancellationToken);
    }

    /// <summary>GET /networks/{id} as the daemon sent it.</summary>
    public Task<JsonDocument> InspectNetworkJsonAsync(string nameOrId, CancellationToken cancellationToken) =>
        GetJsonDocumentAsync($"/networks/{Uri.EscapeDataString(nameOrId)}", cancellationToken);

    /// <summary>DELETE /networks/{id}.</summary>
    public async Task RemoveNetworkAsync(string nameOrId, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await SendAsync(HttpMethod.Delete, $"/networks/{Uri.EscapeDataString(nameOrId)}", null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>POST /networks/prune.</summary>
    public async Task<NetworkPruneResponse> PruneNetworksAsync(ApiFilters? filters, CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        if (filters is { IsEmpty: false })
        {
            query.Add("filters", filters.ToJson());
        }

        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, "/networks/prune" + query, null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return await ReadJsonAsync(response, ApiJsonContext.Default.NetworkPruneResponse, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>POST /networks/{id}/connect.</summary>
    public async Task ConnectNetworkAsync(string network, NetworkConnectRequest request, CancellationToken cancellationToken)
    {
        using HttpContent content = JsonBody(request, ApiJsonContext.Default.NetworkConnectRequest);
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, $"/networks/{Uri.EscapeDataString(network)}/connect", content, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>POST /networks/{id}/disconnect.</summary>
    public async Task DisconnectNetworkAsync(string network, NetworkDisconnectRequest request, CancellationToken cancellationToken)
    {
        using HttpContent content = JsonBody(request, ApiJsonContext.Default.NetworkDisconnectRequest);
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, $"/networks/{Uri.EscapeDataString(network)}/disconnect", content, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }
}
