using System.Text;
using System.Text.Json;
using Berth.Api.Types;

namespace Berth.Api.Client;

public sealed partial class BerthClient
{
    /// <summary>POST /containers/create.</summary>
    public async Task<ContainerCreateResponse> CreateContainerAsync(ContainerCreateRequest request, string? name, string? platform, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ApiVersion version = await NegotiateAsync(cancellationToken).ConfigureAwait(false);
        var query = new QueryBuilder();
        query.Add("name", name);
        if (version >= new ApiVersion(1, 41))
        {
            query.Add("platform", platform);
        }

        using HttpContent content = JsonBody(request, RequestJsonContext.Default.ContainerCreateRequest);
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, "/containers/create" + query, content, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return await ReadJsonAsync(response, ApiJsonContext.Default.ContainerCreateResponse, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>POST /containers/{id}/start.</summary>
    public async Task StartContainerAsync(string id, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, $"/containers/{Escape(id)}/start", null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// POST /containers/{id}/wait, returning as soon as the daemon has answered with its headers (dockerd
    /// sends them once the waiter is registered, which is how <c>run</c> can register the wait before it
    /// starts the container). The status arrives through <see cref="ContainerWait.ResultAsync"/>.
    /// </summary>
    /// <param name="condition">One of <see cref="WaitCondition"/>; null for the daemon's default (not-running).</param>
    public async Task<ContainerWait> BeginWaitContainerAsync(string id, string? condition, CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        query.Add("condition", condition);
        HttpResponseMessage response = await SendAsync(HttpMethod.Post, $"/containers/{Escape(id)}/wait{query}", null, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        return new ContainerWait(response);
    }

    /// <summary>POST /containers/{id}/wait: blocks until the condition is met.</summary>
    public async Task<ContainerWaitResponse> WaitContainerAsync(string id, string? condition, CancellationToken cancellationToken)
    {
        using ContainerWait wait = await BeginWaitContainerAsync(id, condition, cancellationToken).ConfigureAwait(false);
        return await wait.ResultAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>POST /containers/{id}/attach on a hijacked connection (see <see cref="HijackedConnection"/>).</summary>
    public Task<HijackedConnection> AttachContainerAsync(string id, AttachOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var query = new QueryBuilder();
        query.Add("stream", "1");
        query.AddFlag("logs", options.Logs);
        query.AddFlag("stdin", options.Stdin);
        query.AddFlag("stdout", options.Stdout);
        query.AddFlag("stderr", options.Stderr);
        query.Add("detachKeys", options.DetachKeys);
        return HijackAsync("POST", $"/containers/{Escape(id)}/attach{query}", ReadOnlyMemory<byte>.Empty, null, cancellationToken);
    }

    /// <summary>POST /containers/{id}/kill?signal=SIG (what <c>run</c> uses to forward Ctrl-C).</summary>
    public async Task KillContainerAsync(string id, string? signal, CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        query.Add("signal", signal);
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, $"/containers/{Escape(id)}/kill{query}", null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>POST /containers/{id}/resize (TTY size). Daemons that do not support it are ignored by callers.</summary>
    public async Task ResizeContainerTtyAsync(string id, int height, int width, CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        query.Add("h", height.ToString(System.Globalization.CultureInfo.InvariantCulture));
        query.Add("w", width.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, $"/containers/{Escape(id)}/resize{query}", null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// GET /containers/{id}/logs. The stream is multiplexed (<see cref="StdStreamCodec"/>) unless the
    /// container has a TTY; with <see cref="LogsOptions.Follow"/> it ends when the container stops.
    /// Dispose the stream to stop reading.
    /// </summary>
    public async Task<Stream> GetContainerLogsAsync(string id, LogsOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var query = new QueryBuilder();
        query.AddFlag("stdout", options.Stdout);
        query.AddFlag("stderr", options.Stderr);
        query.AddFlag("follow", options.Follow);
        query.AddFlag("timestamps", options.Timestamps);
        query.AddFlag("details", options.Details);
        query.Add("tail", options.Tail);
        query.Add("since", options.Since);
        query.Add("until", options.Until);
        HttpResponseMessage response = await SendAsync(HttpMethod.Get, $"/containers/{Escape(id)}/logs{query}", null, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>GET /containers/json.</summary>
    public Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(ContainerListOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var query = new QueryBuilder();
        query.AddFlag("all", options.All);
        if (options.Limit > 0)
        {
            query.Add("limit", options.Limit.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        query.AddFlag("size", options.Size);
        if (options.Filters is { IsEmpty: false } filters)
        {
            query.Add("filters", filters.ToJson());
        }

        return GetJsonAsync("/containers/json" + query, ApiJsonContext.Default.IReadOnlyListContainerSummary, cancellationToken);
    }

    /// <summary>GET /containers/{id}/json.</summary>
    public Task<ContainerInspect> InspectContainerAsync(string id, CancellationToken cancellationToken) =>
        GetJsonAsync($"/containers/{Escape(id)}/json", ApiJsonContext.Default.ContainerInspect, cancellationToken);

    /// <summary>GET /containers/{id}/json as the daemon sent it (what <c>inspect</c> prints).</summary>
    public Task<JsonDocument> InspectContainerJsonAsync(string id, bool size, CancellationToken cancellationToken) =>
        GetJsonDocumentAsync($"/containers/{Escape(id)}/json" + (size ? "?size=1" : ""), cancellationToken);

    /// <summary>DELETE /containers/{id}.</summary>
    public async Task RemoveContainerAsync(string id, bool force, bool removeVolumes, bool removeLink, CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        query.AddFlag("v", removeVolumes);
        query.AddFlag("link", removeLink);
        query.AddFlag("force", force);
        using HttpResponseMessage response = await SendAsync(HttpMethod.Delete, $"/containers/{Escape(id)}{query}", null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>A wait whose request the daemon has accepted; the result comes when the condition is met.</summary>
public sealed class ContainerWait : IDisposable
{
    private readonly HttpResponseMessage _response;

    internal ContainerWait(HttpResponseMessage response) => _response = response;

    /// <summary>Reads the daemon's answer: the exit status (and an error message when waiting failed).</summary>
    public async Task<ContainerWaitResponse> ResultAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await BerthClient.ReadJsonAsync(_response, ApiJsonContext.Default.ContainerWaitResponse, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new BerthProtocolException("the daemon closed the wait request without an answer", e);
        }
    }

    public void Dispose() => _response.Dispose();
}

/// <summary>Builds <c>?a=1&amp;b=x</c>, leaving out null values.</summary>
internal sealed class QueryBuilder
{
    private readonly StringBuilder _sb = new();

    public void Add(string key, string? value)
    {
        if (value is null)
        {
            return;
        }

        _sb.Append(_sb.Length == 0 ? '?' : '&').Append(key).Append('=').Append(Uri.EscapeDataString(value));
    }

    public void AddFlag(string key, bool value)
    {
        if (value)
        {
            Add(key, "1");
        }
    }

    public override string ToString() => _sb.ToString();
}
