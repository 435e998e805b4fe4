using System.Text.Json;
using System.Text.RegularExpressions;
using Berth.Primitives;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Berth.Registry;

/// <summary>
/// The OCI distribution API v2 over HTTP or HTTPS (--tls-cert): blobs (HEAD/GET/DELETE), uploads (POST, PATCH, PUT; monolithic,
/// chunked and cross-repository mount), manifests by tag or digest (HEAD/GET/PUT/DELETE), <c>tags/list</c> and
/// <c>_catalog</c>. Errors use the spec's <c>{"errors":[{code,message,detail}]}</c> body.
/// </summary>
public static partial class RegistryServer
{
    private const string ApiVersionHeader = "Docker-Distribution-API-Version";
    private const string DigestHeader = "Docker-Content-Digest";

    /// <summary>A started registry; <see cref="Address"/> is its base URL (the real port when 0 was asked for).</summary>
    public sealed class Running(WebApplication app) : IAsyncDisposable
    {
        public string Address { get; } = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync().ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Starts a registry on <paramref name="address"/> (<c>HOST:PORT</c>) storing under <paramref name="root"/>.</summary>
    public static Task<Running> StartAsync(string address, string root, CancellationToken cancellationToken) =>
        StartAsync(new RegistryServerOptions { Address = address, Root = root }, cancellationToken);

    /// <summary>Starts a registry as <paramref name="options"/> say (auth, TLS, delete).</summary>
    public static async Task<Running> StartAsync(RegistryServerOptions options, CancellationToken cancellationToken)
    {
        WebApplication app = Build(options);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return new Running(app);
    }

    public static WebApplication Build(string address, string root) => Build(new RegistryServerOptions { Address = address, Root = root });

    /// <summary>
    /// The registry's web application, not started. The root's lock is taken shared here and held until the
    /// application stops, so <c>garbage-collect</c> (which takes it exclusively) never sweeps under a live server.
    /// </summary>
    public static WebApplication Build(RegistryServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Htpasswd? users = options.HtpasswdPath is { } htpasswd ? Htpasswd.Load(htpasswd) : null;
        System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = options.TlsCertPath is { } certPath
            ? LoadCertificate(certPath, options.TlsKeyPath ?? throw new ArgumentException("--tls-cert needs --tls-key"))
            : null;
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = null;
            Listen(k, options.Address, certificate);
        });
        WebApplication app = builder.Build();
        FileStream rootLock = RegistryStorage.LockShared(options.Root);
        var storage = new RegistryStorage(options.Root);
        app.Lifetime.ApplicationStopped.Register(rootLock.Dispose);
        var settings = new ServerSettings(users, options.Realm, options.DeleteEnabled);
        app.MapMethods("/v2/{**path}", ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"], (HttpContext context, string? path) =>
            Authorized(settings, context) ? HandleAsync(storage, settings, context, path ?? "") : ChallengeAsync(settings, context));
        app.MapGet("/v1/search", (HttpContext context) => Authorized(settings, context) ? SearchAsync(storage, context) : ChallengeAsync(settings, context));
        return app;
    }

    /// <summary>What the handlers need from the options: the users (null: no auth), the realm, whether DELETE is on.</summary>
    private sealed record ServerSettings(Htpasswd? Users, string Realm, bool DeleteEnabled);

    /// <summary>A PEM certificate (the chain, leaf first) and its PEM private key, as distribution's tls.certificate/key.</summary>
    private static System.Security.Cryptography.X509Certificates.X509Certificate2 LoadCertificate(string certPath, string keyPath)
    {
        using var pem = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(certPath, keyPath);
        // Kestrel on Linux wants the key in an exportable, non-ephemeral form: round-trip through PKCS#12.
        return System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(pem.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12), null);
    }

    /// <summary>HOST:PORT (HOST empty, 0.0.0.0 or [::] for every address; localhost for loopback), plain or TLS.</summary>
    private static void Listen(Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions kestrel, string address, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate)
    {
        int colon = address.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(address[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int port) || port > 65535)
        {
            throw new ArgumentException($"invalid address {address}: want HOST:PORT");
        }

        string host = address[..colon].Trim('[', ']');
        Action<Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions> configure = listen =>
        {
            if (certificate is not null)
            {
                listen.UseHttps(certificate);
            }
        };
        if (host is "" or "0.0.0.0" or "::" or "*")
        {
            kestrel.ListenAnyIP(port, configure);
        }
        else if (host == "localhost")
        {
            kestrel.ListenLocalhost(port, configure);
        }
        else
        {
            kestrel.Listen(System.Net.IPAddress.TryParse(host, out System.Net.IPAddress? ip) ? ip : throw new ArgumentException($"invalid address {address}: HOST must be an IP address or localhost"), port, configure);
        }
    }

    /// <summary>No users configured, or Basic credentials of one of them.</summary>
    private static bool Authorized(ServerSettings settings, HttpContext context) =>
        settings.Users is null
        || (Htpasswd.ParseBasic(context.Request.Headers.Authorization.ToString()) is { } basic && settings.Users.Verify(basic.User, basic.Password));

    /// <summary>As distribution's htpasswd access controller: 401, a Basic challenge for the realm, the spec's error body.</summary>
    private static Task ChallengeAsync(ServerSettings settings, HttpContext context)
    {
        context.Response.Headers[ApiVersionHeader] = "registry/2.0";
        context.Response.Headers.WWWAuthenticate = $"Basic realm=\"{settings.Realm}\"";
        return WriteErrorAsync(context.Response, new RegistryError(401, "UNAUTHORIZED", "authentication required", null), context.Request.Method == "HEAD");
    }

    private static async Task HandleAsync(RegistryStorage storage, ServerSettings settings, HttpContext context, string path)
    {
        HttpResponse response = context.Response;
        response.Headers[ApiVersionHeader] = "registry/2.0";
        string method = context.Request.Method;
        try
        {
            if (path.Length == 0)
            {
                await WriteJsonAsync(response, 200, "{}"u8.ToArray()).ConfigureAwait(false);
                return;
            }

            if (path == "_catalog" && method == "GET")
            {
                await WriteListAsync(response, "repositories", null, Paginate(context, storage.Repositories()), context.RequestAborted).ConfigureAwait(false);
                return;
            }

            Match match;
            if ((match = UploadsPattern().Match(path)).Success)
            {
                await UploadAsync(storage, context, match.Groups["name"].Value, match.Groups["id"].Success ? match.Groups["id"].Value : null).ConfigureAwait(false);
            }
            else if ((match = BlobPattern().Match(path)).Success)
            {
                await BlobAsync(storage, context, match.Groups["name"].Value, match.Groups["digest"].Value).ConfigureAwait(false);
            }
            else if ((match = ManifestPattern().Match(path)).Success)
            {
                await ManifestAsync(storage, settings, context, match.Groups["name"].Value, match.Groups["reference"].Value).ConfigureAwait(false);
            }
            else if ((match = TagsPattern().Match(path)).Success && method == "GET")
            {
                string name = match.Groups["name"].Value;
                if (!RegistryStorage.IsValidRepository(name) || !storage.RepositoryExists(name))
                {
                    throw new RegistryError(404, "NAME_UNKNOWN", "repository name not known to registry", name);
                }

                await WriteListAsync(response, "tags", name, Paginate(context, storage.Tags(name)), context.RequestAborted).ConfigureAwait(false);
            }
            else
            {
                throw new RegistryError(404, "NOT_FOUND", "page not found", null);
            }
        }
        catch (RegistryError e)
        {
            if (!response.HasStarted)
            {
                await WriteErrorAsync(response, e, method == "HEAD").ConfigureAwait(false);
            }
        }
    }

    private static IReadOnlyList<string> Paginate(HttpContext context, IReadOnlyList<string> all)
    {
        string last = context.Request.Query["last"].ToString();
        IEnumerable<string> items = last.Length > 0 ? all.Where(i => string.CompareOrdinal(i, last) > 0) : all;
        if (int.TryParse(context.Request.Query["n"], out int n) && n >= 0)
        {
            string[] page = [.. items.Take(n)];
            if (page.Length == n && n > 0 && all.Count > 0 && string.CompareOrdinal(page[^1], all[^1]) < 0)
            {
                context.Response.Headers.Link = $"<{context.Request.Path}?n={n}&last={Uri.EscapeDataString(page[^1])}>; rel=\"next\"";
            }

            return page;
        }

        return [.. items];
    }

    private static void CheckName(string name)
    {
        if (!RegistryStorage.IsValidRepository(name))
        {
            throw new RegistryError(400, "NAME_INVALID", "invalid repository name", name);
        }
    }

    private static Digest ParseDigest(string text) =>
        Digest.TryParse(text, out Digest digest) && digest.Algorithm == "sha256"
            ? digest
            : throw new RegistryError(400, "DIGEST_INVALID", "provided digest did not match uploaded content", text);

    [GeneratedRegex(@"^(?<name>.+)/blobs/uploads/?(?<id>[^/]+)?\z")]
    private static partial Regex UploadsPattern();

    [GeneratedRegex(@"^(?<name>.+)/blobs/(?<digest>[^/]+)\z")]
    private static partial Regex BlobPattern();

    [GeneratedRegex(@"^(?<name>.+)/manifests/(?<reference>[^/]+)\z")]
    private static partial Regex ManifestPattern();

    [GeneratedRegex(@"^(?<name>.+)/tags/list\z")]
    private static partial Regex TagsPattern();
}
