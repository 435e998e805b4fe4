using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Berth.Api.Types;

namespace Berth.Api.Client;

/// <summary>
/// A client of the Engine API (Berth's or Docker's) over a unix socket or TCP.
/// <para>
/// The first call pings the daemon and negotiates the version like Docker's client: it reads the
/// <c>Api-Version</c> header of <c>GET /_ping</c> and prefixes every later path with
/// <c>/v{min(server, <see cref="ApiVersion.Max"/>)}</c>, unless a version was pinned
/// (<see cref="BerthClientOptions.ApiVersion"/>, e.g. from <c>DOCKER_API_VERSION</c>).
/// </para>
/// <para>
/// Errors: a non-2xx answer throws <see cref="BerthApiException"/> (status and the daemon's message);
/// a daemon that cannot be reached throws <see cref="DaemonUnavailableException"/>.
/// </para>
/// Every call is asynchronous and takes a <see cref="CancellationToken"/>. Instances are thread-safe.
/// </summary>
public sealed partial class BerthClient : IDisposable
{
    private const string JsonMediaType = "application/json";

    private readonly HttpClient _http;
    private readonly string _hostHeader;
    private readonly string _userAgent;
    private readonly ApiVersion? _pinned;
    private ApiVersion? _negotiated;

    public BerthClient(DaemonEndpoint endpoint, BerthClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        options ??= new BerthClientOptions();
        Endpoint = endpoint;
        _pinned = options.ApiVersion;
        _userAgent = options.UserAgent;
        _hostHeader = endpoint.IsUnixSocket ? "localhost" : FormatHostHeader(endpoint);

        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            ConnectCallback = async (_, cancellationToken) =>
            {
                Socket socket = await endpoint.ConnectAsync(cancellationToken).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };

        _http = new HttpClient(handler, disposeHandler: true)
        {
            BaseAddress = new Uri("http://" + _hostHeader + "/"),
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.UserAgent.TryParseAdd(_userAgent);
    }

    /// <summary>Where this client connects.</summary>
    public DaemonEndpoint Endpoint { get; }

    /// <summary>The version used for calls: the pinned one, else the negotiated one (null before the first call).</summary>
    public ApiVersion? ApiVersion => _pinned ?? _negotiated;

    /// <summary>A client for <c>-H</c>/<c>BERTH_HOST</c>/<c>DOCKER_HOST</c> (in that order) and <c>BERTH_API_VERSION</c>/<c>DOCKER_API_VERSION</c>.</summary>
    /// <exception cref="FormatException">The host or the pinned version cannot be parsed.</exception>
    public static BerthClient FromEnvironment(string? hostFlag, Func<string, string?>? environment = null, string? userAgent = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        DaemonEndpoint endpoint = DaemonEndpoint.Parse(DaemonEndpoint.ResolveHost(hostFlag, environment));
        string? pinnedText = environment("BERTH_API_VERSION");
        if (string.IsNullOrEmpty(pinnedText))
        {
            pinnedText = environment("DOCKER_API_VERSION");
        }

        ApiVersion? pinned = string.IsNullOrEmpty(pinnedText) ? null : Client.ApiVersion.Parse(pinnedText);
        var options = new BerthClientOptions { ApiVersion = pinned };
        if (userAgent is not null)
        {
            options = options with { UserAgent = userAgent };
        }

        return new BerthClient(endpoint, options);
    }

    public void Dispose() => _http.Dispose();

    /// <summary>GET /_ping (unversioned). Also records the daemon's version for negotiation.</summary>
    public async Task<PingResponse> PingAsync(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "_ping");
        using HttpResponseMessage response = await SendRawAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        var ping = new PingResponse
        {
            ApiVersion = Header(response, "Api-Version"),
            OSType = Header(response, "Ostype"),
            Experimental = string.Equals(Header(response, "Docker-Experimental"), "true", StringComparison.OrdinalIgnoreCase),
            BuilderVersion = Header(response, "Builder-Version"),
        };

        if (ping.ApiVersion is not null || response.IsSuccessStatusCode)
        {
            // Like Docker's client: a daemon that predates the header speaks 1.24.
            ApiVersion server = Client.ApiVersion.TryParse(ping.ApiVersion, out ApiVersion v) ? v : Client.ApiVersion.Min;
            _negotiated = Client.ApiVersion.Negotiate(server, Client.ApiVersion.Max);
        }

        if (!response.IsSuccessStatusCode)
        {
            throw await ReadApiExceptionAsync(response, "/_ping", cancellationToken).ConfigureAwait(false);
        }

        return ping;
    }

    /// <summary>Makes sure the version is known (pings once when needed) and returns it.</summary>
    public async ValueTask<ApiVersion> NegotiateAsync(CancellationToken cancellationToken)
    {
        if (ApiVersion is ApiVersion known)
        {
            return known;
        }

        await PingAsync(cancellationToken).ConfigureAwait(false);
        return ApiVersion ?? Client.ApiVersion.Max;
    }

    // ---- plumbing shared by the endpoint files ----

    internal static string Escape(string value) => Uri.EscapeDataString(value);

    internal async Task<HttpResponseMessage> SendAsync(
        HttpMethod method,
        string pathAndQuery,
        HttpContent? content,
        HttpCompletionOption completion,
        CancellationToken cancellationToken)
    {
        string versioned = await VersionedPathAsync(pathAndQuery, cancellationToken).ConfigureAwait(false);
        using var request = new HttpRequestMessage(method, versioned.TrimStart('/')) { Content = content };
        HttpResponseMessage response = await SendRawAsync(request, completion, cancellationToken).ConfigureAwait(false);
        // As Docker's client: 1xx-3xx are answers (304 means "already started/stopped"), 4xx and 5xx errors.
        if ((int)response.StatusCode is < 200 or >= 400)
        {
            using (response)
            {
                throw await ReadApiExceptionAsync(response, versioned, cancellationToken).ConfigureAwait(false);
            }
        }

        return response;
    }

    internal async Task<T> GetJsonAsync<T>(string pathAndQuery, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await SendAsync(HttpMethod.Get, pathAndQuery, null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return await ReadJsonAsync(response, typeInfo, cancellationToken).ConfigureAwait(false);
    }

    internal async Task<JsonDocument> GetJsonDocumentAsync(string pathAndQuery, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await SendAsync(HttpMethod.Get, pathAndQuery, null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        byte[] body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            throw new BerthProtocolException($"the daemon sent invalid JSON for {pathAndQuery}: {e.Message}", e);
        }
    }

    internal static async Task<T> ReadJsonAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            try
            {
                T? value = await JsonSerializer.DeserializeAsync(body, typeInfo, cancellationToken).ConfigureAwait(false);
                return value ?? throw new BerthProtocolException($"the daemon sent an empty {typeof(T).Name}");
            }
            catch (JsonException e)
            {
                throw new BerthProtocolException($"the daemon sent invalid JSON: {e.Message}", e);
            }
        }
    }

    internal static HttpContent JsonBody<T>(T value, JsonTypeInfo<T> typeInfo) =>
        new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(value, typeInfo))
        {
            Headers = { ContentType = new MediaTypeHeaderValue(JsonMediaType) },
        };

    internal async Task<HijackedConnection> HijackAsync(string method, string pathAndQuery, ReadOnlyMemory<byte> body, string? contentType, CancellationToken cancellationToken)
    {
        string versioned = await VersionedPathAsync(pathAndQuery, cancellationToken).ConfigureAwait(false);
        return await HijackedConnection.OpenAsync(Endpoint, method, versioned, _hostHeader, _userAgent, body, contentType, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Turns an error answer into an exception whose message reads like Docker's client.</summary>
    public static BerthApiException CreateApiException(HttpStatusCode status, byte[] body, string? contentType, string path)
    {
        string text = Encoding.UTF8.GetString(body).Trim();
        if (text.Length == 0)
        {
            string reason = ReasonPhrase(status);
            return new BerthApiException(status, $"request returned {reason} for API route and version {path}, check if the server supports the requested API version");
        }

        bool looksJson = text.StartsWith('{') || (contentType?.Contains("json", StringComparison.OrdinalIgnoreCase) ?? false);
        if (looksJson)
        {
            try
            {
                ErrorResponse? error = JsonSerializer.Deserialize(text, ApiJsonContext.Default.ErrorResponse);
                if (error is not null)
                {
                    return new BerthApiException(status, error.Message.Trim());
                }
            }
            catch (JsonException)
            {
                // Not JSON after all: show the body as it is, as Docker does.
            }
        }

        return new BerthApiException(status, text);
    }

    private static string ReasonPhrase(HttpStatusCode status) => status switch
    {
        HttpStatusCode.NotFound => "Not Found",
        HttpStatusCode.BadRequest => "Bad Request",
        HttpStatusCode.Conflict => "Conflict",
        HttpStatusCode.InternalServerError => "Internal Server Error",
        HttpStatusCode.NotImplemented => "Not Implemented",
        HttpStatusCode.MethodNotAllowed => "Method Not Allowed",
        _ => ((int)status).ToString(CultureInfo.InvariantCulture),
    };

    private static async Task<BerthApiException> ReadApiExceptionAsync(HttpResponseMessage response, string path, CancellationToken cancellationToken)
    {
        byte[] body;
        try
        {
            body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException)
        {
            body = [];
        }

        return CreateApiException(response.StatusCode, body, response.Content.Headers.ContentType?.MediaType, path);
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out IEnumerable<string>? values) ? values.FirstOrDefault() : null;

    private static string FormatHostHeader(DaemonEndpoint endpoint)
    {
        string host = endpoint.TcpHost!.Contains(':', StringComparison.Ordinal) ? $"[{endpoint.TcpHost}]" : endpoint.TcpHost!;
        return host + ":" + endpoint.TcpPort.ToString(CultureInfo.InvariantCulture);
    }

    private async ValueTask<string> VersionedPathAsync(string pathAndQuery, CancellationToken cancellationToken)
    {
        ApiVersion version = await NegotiateAsync(cancellationToken).ConfigureAwait(false);
        return "/v" + version + pathAndQuery;
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        try
        {
            return await _http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e) when (IsConnectFailure(e))
        {
            throw new DaemonUnavailableException(Endpoint.Host, e);
        }
    }

    private static bool IsConnectFailure(HttpRequestException e) =>
        e.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError
        || e.InnerException is SocketException;
}

/// <summary>How a <see cref="BerthClient"/> talks to the daemon.</summary>
public sealed record BerthClientOptions
{
    /// <summary>Use this version for every call instead of negotiating.</summary>
    public ApiVersion? ApiVersion { get; init; }

    public string UserAgent { get; init; } = "Berth-Client/" + ClientInfo.Version + " (linux)";
}

/// <summary>Facts about this client build.</summary>
public static class ClientInfo
{
    /// <summary>The product version (the informational version without the commit).</summary>
    public static string Version { get; } = SplitInformational(BuildVersion.Informational).Version;

    /// <summary>The short commit the build came from, when SourceLink recorded one; else "unknown".</summary>
    public static string Commit { get; } = SplitInformational(BuildVersion.Informational).Commit;

    private static (string Version, string Commit) SplitInformational(string informational)
    {
        if (string.IsNullOrEmpty(informational))
        {
            return ("0.0.0", "unknown");
        }

        int plus = informational.IndexOf('+', StringComparison.Ordinal);
        if (plus < 0)
        {
            return (informational, "unknown");
        }

        string commit = informational[(plus + 1)..];
        return (informational[..plus], commit.Length > 7 ? commit[..7] : commit);
    }
}
