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
/// The OCI distribution API v2 over plain HTTP: blobs (HEAD/GET/DELETE), uploads (POST, PATCH, PUT; monolithic,
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

    /// <summary>
    /// The v1 search API docker search asks for (<c>?q=TERM&amp;n=LIMIT</c>): repositories whose name contains the term,
    /// in name order. Distribution's registry does not offer it; this one does, so <c>docker search</c> works on a
    /// private registry.
    /// </summary>
    private static async Task SearchAsync(RegistryStorage storage, HttpContext context)
    {
        string query = context.Request.Query["q"].ToString();
        int limit = int.TryParse(context.Request.Query["n"].ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) && n is > 0 and <= 100 ? n : 25;
        string[] names = [.. storage.Repositories().Where(r => r.Contains(query, StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal)];
        using var buffer = new MemoryStream();
        await using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("num_results", names.Length);
            writer.WriteString("query", query);
            writer.WriteStartArray("results");
            foreach (string name in names.Take(limit))
            {
                writer.WriteStartObject();
                writer.WriteString("name", name);
                writer.WriteString("description", "");
                writer.WriteNumber("star_count", 0);
                writer.WriteBoolean("is_official", false);
                writer.WriteBoolean("is_automated", false);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        await WriteJsonAsync(context.Response, 200, buffer.ToArray()).ConfigureAwait(false);
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

    // ---- blobs ----

    private static async Task BlobAsync(RegistryStorage storage, HttpContext context, string name, string digestText)
    {
        CheckName(name);
        Digest digest = ParseDigest(digestText);
        HttpResponse response = context.Response;
        string method = context.Request.Method;
        if (method is not ("GET" or "HEAD" or "DELETE"))
        {
            throw new RegistryError(405, "UNSUPPORTED", "The operation is unsupported.", null);
        }

        if (!storage.BlobExists(digest))
        {
            throw new RegistryError(404, "BLOB_UNKNOWN", "blob unknown to registry", digest.ToString());
        }

        if (method == "DELETE")
        {
            // Blobs are shared by every repository (content addressed); they go with garbage collection, not here.
            throw new RegistryError(405, "UNSUPPORTED", "The operation is unsupported.", null);
        }

        long size = storage.BlobSize(digest);
        response.Headers[DigestHeader] = digest.ToString();
        response.Headers.ETag = "\"" + digest + "\"";
        response.Headers.AcceptRanges = "bytes";
        response.ContentType = "application/octet-stream";
        if (method == "HEAD")
        {
            response.ContentLength = size;
            return;
        }

        await using Stream blob = storage.OpenBlob(digest);
        long start = 0;
        long end = size - 1;
        // A resumed download asks for the rest: Range: bytes=N- (or N-M).
        if (RangePattern().Match(context.Request.Headers.Range.ToString()) is { Success: true } range && size > 0)
        {
            start = long.Parse(range.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            if (range.Groups[2].Success)
            {
                end = Math.Min(end, long.Parse(range.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
            }

            if (start > end)
            {
                response.StatusCode = 416;
                response.Headers.ContentRange = $"bytes */{size}";
                return;
            }

            response.StatusCode = 206;
            response.Headers.ContentRange = $"bytes {start}-{end}/{size}";
            blob.Seek(start, SeekOrigin.Begin);
        }

        response.ContentLength = end - start + 1;
        await CopyAsync(blob, response.Body, end - start + 1, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task CopyAsync(Stream source, Stream target, long count, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[1 << 16];
        while (count > 0)
        {
            int read = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            count -= read;
        }
    }

    // ---- uploads ----

    private static async Task UploadAsync(RegistryStorage storage, HttpContext context, string name, string? id)
    {
        CheckName(name);
        HttpRequest request = context.Request;
        HttpResponse response = context.Response;
        CancellationToken cancellationToken = context.RequestAborted;
        string method = request.Method;
        if (id is null)
        {
            if (method != "POST")
            {
                throw new RegistryError(405, "UNSUPPORTED", "The operation is unsupported.", null);
            }

            // Cross-repository mount: blobs are content addressed and shared, so a known blob is there already.
            if (request.Query["mount"].ToString() is { Length: > 0 } mount)
            {
                Digest mounted = ParseDigest(mount);
                if (storage.BlobExists(mounted))
                {
                    BlobCreated(response, name, mounted);
                    return;
                }
            }

            string started = storage.StartUpload();
            if (request.Query["digest"].ToString() is { Length: > 0 } single)
            {
                // Monolithic upload in one POST.
                await storage.AppendAsync(started, request.Body, cancellationToken).ConfigureAwait(false);
                await CompleteAsync(storage, response, name, started, single, cancellationToken).ConfigureAwait(false);
                return;
            }

            UploadAccepted(response, name, started, 0, 202);
            return;
        }

        if (!storage.UploadExists(id))
        {
            throw new RegistryError(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", id);
        }

        switch (method)
        {
            case "GET":
                UploadAccepted(response, name, id, storage.UploadSize(id), 204);
                return;
            case "DELETE":
                storage.CancelUpload(id);
                response.StatusCode = 204;
                return;
            case "PATCH":
            {
                long current = storage.UploadSize(id);
                // Chunks must arrive in order: Content-Range (when given) must start where the upload ends.
                if (ContentRangePattern().Match(request.Headers.ContentRange.ToString()) is { Success: true } chunkRange
                    && long.Parse(chunkRange.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) != current)
                {
                    response.Headers.Location = $"/v2/{name}/blobs/uploads/{id}";
                    response.Headers.Range = $"0-{current - 1}";
                    throw new RegistryError(416, "BLOB_UPLOAD_INVALID", "blob upload invalid", "chunk out of order");
                }

                long size = await storage.AppendAsync(id, request.Body, cancellationToken).ConfigureAwait(false);
                UploadAccepted(response, name, id, size, 202);
                return;
            }

            case "PUT":
                await storage.AppendAsync(id, request.Body, cancellationToken).ConfigureAwait(false);
                await CompleteAsync(storage, response, name, id, request.Query["digest"].ToString(), cancellationToken).ConfigureAwait(false);
                return;
            default:
                throw new RegistryError(405, "UNSUPPORTED", "The operation is unsupported.", null);
        }
    }

    private static async Task CompleteAsync(RegistryStorage storage, HttpResponse response, string name, string id, string digestText, CancellationToken cancellationToken)
    {
        if (!Digest.TryParse(digestText, out Digest expected) || expected.Algorithm != "sha256")
        {
            storage.CancelUpload(id);
            throw new RegistryError(400, "DIGEST_INVALID", "provided digest did not match uploaded content", digestText);
        }

        try
        {
            await storage.CompleteAsync(id, expected, cancellationToken).ConfigureAwait(false);
        }
        catch (EngineException e) when (e.Kind == ErrorKind.InvalidArgument)
        {
            throw new RegistryError(400, "DIGEST_INVALID", "provided digest did not match uploaded content", e.Message);
        }

        BlobCreated(response, name, expected);
    }

    private static void BlobCreated(HttpResponse response, string name, Digest digest)
    {
        response.StatusCode = 201;
        response.Headers.Location = $"/v2/{name}/blobs/{digest}";
        response.Headers[DigestHeader] = digest.ToString();
        response.ContentLength = 0;
    }

    private static void UploadAccepted(HttpResponse response, string name, string id, long size, int status)
    {
        response.StatusCode = status;
        response.Headers.Location = $"/v2/{name}/blobs/uploads/{id}";
        response.Headers["Docker-Upload-UUID"] = id;
        response.Headers.Range = $"0-{Math.Max(0, size - 1)}";
        response.ContentLength = 0;
    }

    // ---- manifests ----

    private static readonly string[] ManifestTypes =
    [
        "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json",
    ];

    private static async Task ManifestAsync(RegistryStorage storage, ServerSettings settings, HttpContext context, string name, string reference)
    {
        CheckName(name);
        HttpRequest request = context.Request;
        HttpResponse response = context.Response;
        CancellationToken cancellationToken = context.RequestAborted;
        bool byDigest = Digest.TryParse(reference, out Digest referenceDigest);
        if (!byDigest && !RegistryStorage.IsValidTag(reference))
        {
            throw new RegistryError(400, "TAG_INVALID", "manifest tag did not match URI", reference);
        }

        switch (request.Method)
        {
            case "GET" or "HEAD":
            {
                StoredManifest manifest = await storage.GetManifestAsync(name, reference, cancellationToken).ConfigureAwait(false)
                    ?? throw new RegistryError(404, "MANIFEST_UNKNOWN", "manifest unknown", $"unknown tag={reference}");
                response.ContentType = manifest.MediaType;
                response.ContentLength = manifest.Content.Length;
                response.Headers[DigestHeader] = manifest.Digest.ToString();
                response.Headers.ETag = "\"" + manifest.Digest + "\"";
                if (request.Method == "GET")
                {
                    await response.Body.WriteAsync(manifest.Content, cancellationToken).ConfigureAwait(false);
                }

                return;
            }

            case "PUT":
            {
                using var buffer = new MemoryStream();
                await request.Body.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
                byte[] content = buffer.ToArray();
                string mediaType = CheckManifest(storage, name, content, request.ContentType);
                Digest digest;
                try
                {
                    digest = await storage.PutManifestAsync(name, reference, content, mediaType, cancellationToken).ConfigureAwait(false);
                }
                catch (EngineException e) when (e.Kind == ErrorKind.InvalidArgument)
                {
                    throw new RegistryError(400, "DIGEST_INVALID", "provided digest did not match uploaded content", e.Message);
                }

                response.StatusCode = 201;
                response.Headers.Location = $"/v2/{name}/manifests/{digest}";
                response.Headers[DigestHeader] = digest.ToString();
                response.ContentLength = 0;
                return;
            }

            case "DELETE":
                // As distribution: deleting is off unless the registry was started with it (storage.delete.enabled).
                if (!settings.DeleteEnabled)
                {
                    throw new RegistryError(405, "UNSUPPORTED", "The operation is unsupported.", null);
                }

                if (!byDigest)
                {
                    throw new RegistryError(400, "UNSUPPORTED", "The operation is unsupported.", "delete by digest");
                }

                if (!storage.DeleteManifest(name, referenceDigest))
                {
                    throw new RegistryError(404, "MANIFEST_UNKNOWN", "manifest unknown", reference);
                }

                response.StatusCode = 202;
                response.ContentLength = 0;
                return;
            default:
                throw new RegistryError(405, "UNSUPPORTED", "The operation is unsupported.", null);
        }
    }

    /// <summary>Parses a pushed manifest, checks that what it references is here, and returns its media type.</summary>
    private static string CheckManifest(RegistryStorage storage, string name, byte[] content, string? contentType)
    {
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(content);
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new RegistryError(400, "MANIFEST_INVALID", "manifest invalid", e.Message);
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new RegistryError(400, "MANIFEST_INVALID", "manifest invalid", "not a JSON object");
        }

        string? declared = root.TryGetProperty("mediaType", out JsonElement mt) && mt.ValueKind == JsonValueKind.String ? mt.GetString() : null;
        string? header = contentType?.Split(';')[0].Trim();
        string mediaType = declared ?? (header is { Length: > 0 } && header != "application/json" ? header
            : root.TryGetProperty("manifests", out _) ? ManifestTypes[1] : ManifestTypes[0]);
        if (!ManifestTypes.Contains(mediaType, StringComparer.Ordinal))
        {
            throw new RegistryError(400, "MANIFEST_INVALID", "manifest invalid", $"unsupported media type {mediaType}");
        }

        if (root.TryGetProperty("manifests", out JsonElement manifests) && manifests.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement child in manifests.EnumerateArray())
            {
                Digest digest = DescriptorDigest(child);
                if (!storage.BlobExists(digest))
                {
                    throw new RegistryError(400, "MANIFEST_BLOB_UNKNOWN", "manifest blob unknown to registry", digest.ToString());
                }
            }

            return mediaType;
        }

        IEnumerable<JsonElement> descriptors = root.TryGetProperty("layers", out JsonElement layers) && layers.ValueKind == JsonValueKind.Array ? layers.EnumerateArray() : [];
        if (root.TryGetProperty("config", out JsonElement config))
        {
            descriptors = descriptors.Prepend(config);
        }

        foreach (JsonElement descriptor in descriptors)
        {
            // Foreign layers (Windows base images) live elsewhere by design.
            if (descriptor.TryGetProperty("urls", out _))
            {
                continue;
            }

            Digest digest = DescriptorDigest(descriptor);
            if (!storage.BlobExists(digest))
            {
                throw new RegistryError(400, "MANIFEST_BLOB_UNKNOWN", "manifest blob unknown to registry", digest.ToString());
            }
        }

        return mediaType;
    }

    private static Digest DescriptorDigest(JsonElement descriptor) =>
        descriptor.ValueKind == JsonValueKind.Object && descriptor.TryGetProperty("digest", out JsonElement d) && Digest.TryParse(d.GetString(), out Digest digest)
            ? digest
            : throw new RegistryError(400, "MANIFEST_INVALID", "manifest invalid", "a descriptor has no valid digest");

    // ---- responses ----

    private static async Task WriteJsonAsync(HttpResponse response, int status, byte[] body)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body).ConfigureAwait(false);
    }

    private static async Task WriteListAsync(HttpResponse response, string key, string? name, IReadOnlyList<string> items, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (name is not null)
            {
                json.WriteString("name", name);
            }

            json.WriteStartArray(key);
            foreach (string item in items)
            {
                json.WriteStringValue(item);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        cancellationToken.ThrowIfCancellationRequested();
        await WriteJsonAsync(response, 200, buffer.ToArray()).ConfigureAwait(false);
    }

    private static async Task WriteErrorAsync(HttpResponse response, RegistryError error, bool head)
    {
        using var buffer = new MemoryStream();
        await using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("errors");
            json.WriteStartObject();
            json.WriteString("code", error.Code);
            json.WriteString("message", error.Message);
            if (error.Detail is not null)
            {
                json.WriteString("detail", error.Detail);
            }

            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        if (head)
        {
            response.StatusCode = error.Status;
            return;
        }

        await WriteJsonAsync(response, error.Status, buffer.ToArray()).ConfigureAwait(false);
    }

    [GeneratedRegex(@"^(?<name>.+)/blobs/uploads/?(?<id>[^/]+)?\z")]
    private static partial Regex UploadsPattern();

    [GeneratedRegex(@"^(?<name>.+)/blobs/(?<digest>[^/]+)\z")]
    private static partial Regex BlobPattern();

    [GeneratedRegex(@"^(?<name>.+)/manifests/(?<reference>[^/]+)\z")]
    private static partial Regex ManifestPattern();

    [GeneratedRegex(@"^(?<name>.+)/tags/list\z")]
    private static partial Regex TagsPattern();

    [GeneratedRegex(@"^bytes=(\d+)-(\d+)?\z")]
    private static partial Regex RangePattern();

    [GeneratedRegex(@"^(?:bytes )?(\d+)-(\d+)")]
    private static partial Regex ContentRangePattern();
}

/// <summary>A distribution-spec error: HTTP status, error code, message and detail.</summary>
internal sealed class RegistryError(int status, string code, string message, string? detail) : Exception(message)
{
    public int Status { get; } = status;

    public string Code { get; } = code;

    public string? Detail { get; } = detail;
}
