using System.Text.Json;
using Berth.Api.Types;

namespace Berth.Api.Client;

public sealed partial class BerthClient
{
    /// <summary>GET /version.</summary>
    public Task<SystemVersion> GetVersionAsync(CancellationToken cancellationToken) =>
        GetJsonAsync("/version", ApiJsonContext.Default.SystemVersion, cancellationToken);

    /// <summary>GET /version as the daemon sent it (for templates that name fields the records lack).</summary>
    public Task<JsonDocument> GetVersionJsonAsync(CancellationToken cancellationToken) =>
        GetJsonDocumentAsync("/version", cancellationToken);

    /// <summary>GET /info.</summary>
    public Task<SystemInfo> GetInfoAsync(CancellationToken cancellationToken) =>
        GetJsonAsync("/info", ApiJsonContext.Default.SystemInfo, cancellationToken);

    /// <summary>GET /info as the daemon sent it.</summary>
    public Task<JsonDocument> GetInfoJsonAsync(CancellationToken cancellationToken) =>
        GetJsonDocumentAsync("/info", cancellationToken);
}
