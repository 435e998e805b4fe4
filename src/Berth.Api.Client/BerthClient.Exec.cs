using System.Text.Json;
using Berth.Api.Types;

namespace Berth.Api.Client;

public sealed partial class BerthClient
{
    /// <summary>POST /containers/{id}/exec: creates an exec instance; returns its id.</summary>
    public async Task<string> CreateExecAsync(string container, ExecCreateRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        using HttpContent content = JsonBody(request, RequestJsonContext.Default.ExecCreateRequest);
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, $"/containers/{Escape(container)}/exec", content, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return (await ReadJsonAsync(response, ApiJsonContext.Default.IdResponse, cancellationToken).ConfigureAwait(false)).Id;
    }

    /// <summary>POST /exec/{id}/start with <c>Detach</c>: returns once the process runs.</summary>
    public async Task StartExecDetachedAsync(string execId, bool tty, CancellationToken cancellationToken)
    {
        using HttpContent content = JsonBody(new ExecStartRequest { Detach = true, Tty = tty }, RequestJsonContext.Default.ExecStartRequest);
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, $"/exec/{Escape(execId)}/start", content, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>POST /exec/{id}/start on a hijacked connection (JSON body and <c>Upgrade: tcp</c>, as docker's CLI sends it).</summary>
    public Task<HijackedConnection> StartExecAsync(string execId, bool tty, CancellationToken cancellationToken)
    {
        byte[] body = JsonSerializer.SerializeToUtf8Bytes(new ExecStartRequest { Tty = tty }, RequestJsonContext.Default.ExecStartRequest);
        return HijackAsync("POST", $"/exec/{Escape(execId)}/start", body, "application/json", cancellationToken);
    }

    /// <summary>GET /exec/{id}/json.</summary>
    public Task<ExecInspect> InspectExecAsync(string execId, CancellationToken cancellationToken) =>
        GetJsonAsync($"/exec/{Escape(execId)}/json", ApiJsonContext.Default.ExecInspect, cancellationToken);
}
