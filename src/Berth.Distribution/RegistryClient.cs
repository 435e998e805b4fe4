using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Berth.Primitives;

namespace Berth.Distribution;

/// <summary>A user name and password (or identity token) for one registry.</summary>
public sealed record RegistryCredentials(string? Username, string? Password, string? IdentityToken = null)
{
    public static RegistryCredentials Anonymous { get; } = new(null, null);

    public bool IsAnonymous => string.IsNullOrEmpty(Username) && string.IsNullOrEmpty(IdentityToken);
}

/// <summary>
/// HTTP to one registry with its authentication: anonymous first; on a 401 the <c>WWW-Authenticate</c> challenge
/// decides: Basic sends the credentials, Bearer fetches a token from the realm (with the credentials, for the
/// service and scope) and caches it per scope.
/// </summary>
public sealed class RegistryClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly RegistryCredentials _credentials;
    private readonly ConcurrentDictionary<string, string> _tokens = new(StringComparer.Ordinal);
    private readonly Lock _schemeLock = new();
    private AuthChallenge? _challenge;
    private Task? _schemeSettled;

    public RegistryClient(RegistryEndpoint endpoint, RegistryCredentials? credentials, DistributionOptions? options = null, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        Endpoint = endpoint;
        _credentials = credentials ?? RegistryCredentials.Anonymous;
        _http = new HttpClient(handler ?? RegistryTls.CreateHandler(endpoint.Host, (options ?? DistributionOptions.Default).CertsDirectories, skipVerification: endpoint.Insecure));
        _http.Timeout = Timeout.InfiniteTimeSpan;
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("berth/0.1 (docker-compatible)");
        // A secure endpoint, or an insecure one whose working scheme this process already found, needs no probe.
        if (!endpoint.Insecure || RegistrySchemes.Known(endpoint.Host) is not null)
        {
            _schemeSettled = Task.CompletedTask;
        }
    }

    /// <summary>The registry; an insecure one's <see cref="RegistryEndpoint.BaseUri"/> turns to http:// when HTTPS does not work there.</summary>
    public RegistryEndpoint Endpoint { get; private set; }

    public void Dispose() => _http.Dispose();

    public Uri Url(string pathAndQuery) => new(Endpoint.BaseUri, pathAndQuery);

    /// <summary>
    /// Sends a request built by <paramref name="build"/> (called again for the authenticated retry, since a request
    /// cannot be sent twice) for <paramref name="scope"/> (e.g. <c>repository:library/busybox:pull</c>).
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> build, string scope, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(build);
        Task settled;
        lock (_schemeLock)
        {
            settled = _schemeSettled ??= SettleSchemeAsync(cancellationToken);
        }

        await settled.ConfigureAwait(false);
        HttpResponseMessage response = await SendOnceAsync(build, scope, completion, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized)
        {
            return response;
        }

        AuthChallenge? challenge = WwwAuthenticate.Parse(string.Join(", ", response.Headers.WwwAuthenticate.Select(h => h.ToString())))
            .FirstOrDefault(c => c.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase) || c.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase));
        if (challenge is null)
        {
            return response;
        }

        response.Dispose();
        _challenge = challenge;
        if (challenge.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            _tokens[scope] = await FetchTokenAsync(challenge, scope, cancellationToken).ConfigureAwait(false);
        }
        else if (_credentials.IsAnonymous)
        {
            throw new EngineException(ErrorKind.Forbidden, $"unauthorized: authentication required for {Endpoint.Host}");
        }

        return await SendOnceAsync(build, scope, completion, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendOnceAsync(Func<HttpRequestMessage> build, string scope, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        using HttpRequestMessage request = build();
        if (_tokens.TryGetValue(scope, out string? token))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        else if (_challenge is { } c && c.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase) && !_credentials.IsAnonymous)
        {
            request.Headers.Authorization = BasicHeader();
        }

        try
        {
            return await _http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            if (Endpoint.Insecure)
            {
                RegistrySchemes.Forget(Endpoint.Host);
            }

            throw Unreachable(e);
        }
    }

    /// <summary>
    /// An insecure registry, first contact in this process: HTTPS (any certificate) if it answers /v2/ at all, else plain
    /// HTTP, as Docker falls back. The answer is remembered for the host unless the HTTPS attempt could not even connect
    /// (refused, unreachable: that says nothing about TLS, and the request that follows reports it).
    /// </summary>
    private async Task SettleSchemeAsync(CancellationToken cancellationToken)
    {
        try
        {
            // A plain server may never answer a ClientHello: bound the attempt as Go's TLS handshake timeout does.
            using var handshake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            handshake.CancelAfter(TimeSpan.FromSeconds(5));
            using var probe = new HttpRequestMessage(HttpMethod.Get, new Uri(Endpoint.BaseUri, "/v2/"));
            using HttpResponseMessage answered = await _http.SendAsync(probe, HttpCompletionOption.ResponseHeadersRead, handshake.Token).ConfigureAwait(false);
            RegistrySchemes.Remember(Endpoint.Host, Endpoint.BaseUri.Scheme);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Endpoint = Endpoint with { BaseUri = new Uri($"http://{Endpoint.Host}/") };
            RegistrySchemes.Remember(Endpoint.Host, "http");
        }
        catch (HttpRequestException e) when (!cancellationToken.IsCancellationRequested)
        {
            Endpoint = Endpoint with { BaseUri = new Uri($"http://{Endpoint.Host}/") };
            if (e.InnerException is not SocketException)
            {
                RegistrySchemes.Remember(Endpoint.Host, "http");
            }
        }
    }

    private AuthenticationHeaderValue BasicHeader() =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_credentials.Username}:{_credentials.Password}")));

    private async Task<string> FetchTokenAsync(AuthChallenge challenge, string scope, CancellationToken cancellationToken)
    {
        string realm = challenge["realm"] ?? throw new EngineException(ErrorKind.Internal, $"{Endpoint.Host}: bearer challenge without a realm");
        var query = new StringBuilder();
        if (challenge["service"] is { } service)
        {
            query.Append("service=").Append(Uri.EscapeDataString(service));
        }

        // Several scopes (a mount also reads the source repository) are separate scope parameters.
        foreach (string one in scope.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            query.Append(query.Length > 0 ? "&" : "").Append("scope=").Append(Uri.EscapeDataString(one));
        }

        var uri = new UriBuilder(realm) { Query = query.ToString() };
        using var request = new HttpRequestMessage(HttpMethod.Get, uri.Uri);
        if (!_credentials.IsAnonymous)
        {
            request.Headers.Authorization = BasicHeader();
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }

        using (response)
        {
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                throw new EngineException(ErrorKind.Forbidden, $"Get \"{uri.Uri}\": unauthorized: incorrect username or password");
            }

            response.EnsureSuccessStatusCode();
            using JsonDocument body = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), cancellationToken: cancellationToken).ConfigureAwait(false);
            foreach (string name in new[] { "token", "access_token" })
            {
                if (body.RootElement.TryGetProperty(name, out JsonElement value) && value.GetString() is { Length: > 0 } token)
                {
                    return token;
                }
            }

            throw new EngineException(ErrorKind.Internal, $"{Endpoint.Host}: the token endpoint answered without a token");
        }
    }

    /// <summary>No route, no DNS, refused: offline machines are normal here, so say so and point at the offline way.</summary>
    private EngineException Unreachable(HttpRequestException e)
    {
        if (e.InnerException is System.Security.Authentication.AuthenticationException tls)
        {
            // Reachable, but its certificate is not trusted (or the handshake failed): say where Docker looks for a CA.
            return new EngineException(ErrorKind.Internal,
                $"Get \"{Endpoint.BaseUri}v2/\": tls: failed to verify the certificate of {Endpoint.Host} ({tls.Message}); " +
                $"a private CA goes in certs.d/{Endpoint.Host}/ca.crt (beside daemon.json, or /etc/docker/certs.d)", e);
        }

        string reason = e.InnerException is SocketException s ? s.SocketErrorCode switch
        {
            SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData => "no such host (DNS lookup failed)",
            SocketError.NetworkUnreachable or SocketError.HostUnreachable => "network is unreachable",
            SocketError.ConnectionRefused => "connection refused",
            SocketError.TimedOut => "connection timed out",
            _ => s.Message,
        } : e.Message;
        return new EngineException(ErrorKind.Internal, 
            $"Get \"{Endpoint.BaseUri}v2/\": cannot reach registry {Endpoint.Host}: {reason}. This machine may be offline; " +
            "create base images offline with `berth image bootstrap busybox`", e);
    }

    /// <summary>Turns a registry's error body (<c>{"errors":[{code,message}]}</c>) into Docker's wording.</summary>
    public static async Task<string> DescribeErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        string text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.TryGetProperty("errors", out JsonElement errors) && errors.ValueKind == JsonValueKind.Array && errors.GetArrayLength() > 0)
            {
                JsonElement first = errors[0];
                string code = first.TryGetProperty("code", out JsonElement c) ? c.GetString() ?? "" : "";
                string message = first.TryGetProperty("message", out JsonElement m) ? m.GetString() ?? "" : "";
                return $"{code.ToLowerInvariant().Replace('_', ' ')}: {message}";
            }
        }
        catch (JsonException)
        {
            // Not the spec's error body: fall through to the status.
        }

        return $"unexpected status from registry: {(int)response.StatusCode} {response.ReasonPhrase}";
    }
}
