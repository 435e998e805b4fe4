using System.Globalization;
using Berth.Api.Types;

namespace Berth.Api.Client;

/// <summary>stop, restart, pause, unpause, rename and top.</summary>
public sealed partial class BerthClient
{
    /// <summary>POST /containers/{id}/stop. False when the container was not running (the daemon's 304).</summary>
    public async Task<bool> StopContainerAsync(string id, int? timeoutSeconds, string? signal, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, $"/containers/{Escape(id)}/stop{StopQuery(timeoutSeconds, signal)}", null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return response.StatusCode != System.Net.HttpStatusCode.NotModified;
    }

    /// <summary>POST /containers/{id}/restart.</summary>
    public async Task RestartContainerAsync(string id, int? timeoutSeconds, string? signal, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, $"/containers/{Escape(id)}/restart{StopQuery(timeoutSeconds, signal)}", null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    public async Task PauseContainerAsync(string id, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, $"/containers/{Escape(id)}/pause", null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    public async Task UnpauseContainerAsync(string id, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, $"/containers/{Escape(id)}/unpause", null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    public async Task RenameContainerAsync(string id, string newName, CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        query.Add("name", newName);
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, $"/containers/{Escape(id)}/rename{query}", null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>GET /containers/{id}/top.</summary>
    public Task<ContainerTopResponse> TopContainerAsync(string id, string? psArgs, CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        query.Add("ps_args", psArgs);
        return GetJsonAsync($"/containers/{Escape(id)}/top{query}", ApiJsonContext.Default.ContainerTopResponse, cancellationToken);
    }

    private static QueryBuilder StopQuery(int? timeoutSeconds, string? signal)
    {
        var query = new QueryBuilder();
        query.Add("t", timeoutSeconds?.ToString(CultureInfo.InvariantCulture));
        query.Add("signal", signal);
        return query;
    }
}
