using System.Text.Json;
using Berth.Api.Types;

namespace Berth.Api.Client;

public sealed partial class BerthClient
{
    /// <summary>GET /volumes.</summary>
    public Task<VolumeListResponse> ListVolumesAsync(ApiFilters? filters, CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        if (filters is { IsEmpty: false })
        {
            query.Add("filters", filters.ToJson());
        }

        return GetJsonAsync("/volumes" + query, ApiJsonContext.Default.VolumeListResponse, cancellationToken);
    }

    /// <summary>POST /volumes/create.</summary>
    public async Task<Volume> CreateVolumeAsync(VolumeCreateOptions options, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, "/volumes/create", JsonBody(options, ApiJsonContext.Default.VolumeCreateOptions), HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return await ReadJsonAsync(response, ApiJsonContext.Default.Volume, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>GET /volumes/{name} as the daemon sent it.</summary>
    public Task<JsonDocument> InspectVolumeJsonAsync(string name, CancellationToken cancellationToken) =>
        GetJsonDocumentAsync("/volumes/" + Escape(name), cancellationToken);

    /// <summary>DELETE /volumes/{name}.</summary>
    public async Task RemoveVolumeAsync(string name, bool force, CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        query.AddFlag("force", force);
        using HttpResponseMessage response = await SendAsync(HttpMethod.Delete, "/volumes/" + Escape(name) + query, null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>POST /volumes/prune.</summary>
    public async Task<VolumePruneResponse> PruneVolumesAsync(ApiFilters? filters, CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        if (filters is { IsEmpty: false })
        {
            query.Add("filters", filters.ToJson());
        }

        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, "/volumes/prune" + query, null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return await ReadJsonAsync(response, ApiJsonContext.Default.VolumePruneResponse, cancellationToken).ConfigureAwait(false);
    }
}
