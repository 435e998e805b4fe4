using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Berth.Images;
using Berth.Primitives;
using Berth.Storage.Content;

namespace Berth.Distribution;

/// <summary>One line of Docker's pull/push progress: a layer's short id (or the tag) and what is happening.</summary>
public sealed record TransferProgress(string? Id, string Status, string? Progress = null)
{
    /// <summary>Bytes moved so far, with <see cref="Total"/> (Docker's progressDetail) while a blob moves.</summary>
    public long Current { get; init; }

    public long? Total { get; init; }
}

/// <summary>The outcome of a pull: the image, the manifest digest the registry knows it by, and whether anything changed.</summary>
public sealed record PullResult(ImageRecord Image, Digest ManifestDigest, bool Downloaded);

/// <summary>
/// Where registries are and how to reach them: daemon.json's <c>insecure-registries</c> (host[:port] names or CIDRs
/// reached over plain HTTP, as loopback always is) and <c>registry-mirrors</c> (tried in order for docker.io pulls,
/// before Docker Hub itself).
/// </summary>
public sealed record DistributionOptions(IReadOnlyCollection<string> InsecureRegistries)
{
    public static DistributionOptions Default { get; } = new([]);

    /// <summary>Mirrors of docker.io, each a base URL (<c>https://mirror.example</c>).</summary>
    public IReadOnlyList<Uri> Mirrors { get; init; } = [];

    /// <summary>Docker's certs.d directories, first match wins: <c>DIR/HOST[:PORT]/ca.crt</c> and client certificates.</summary>
    public IReadOnlyList<string> CertsDirectories { get; init; } = [RegistryTls.DockerCertsDirectory];

    /// <summary>How many blobs of one pull download at once (daemon.json <c>max-concurrent-downloads</c>, Docker's default 3); 0: no limit.</summary>
    public int ParallelDownloads { get; init; } = 3;

    /// <summary>How many blobs of one push upload at once (daemon.json <c>max-concurrent-uploads</c>, Docker's default 5); 0: no limit.</summary>
    public int ParallelUploads { get; init; } = 5;

    /// <summary>How often one blob's download is tried (daemon.json <c>max-download-attempts</c>, Docker's default 5) before the pull fails.</summary>
    public int DownloadAttempts { get; init; } = 5;

    /// <summary>The wait before the first retry of a blob; it doubles with each failure that made no progress.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A blob response that sends nothing for this long is given up and resumed, as a reset connection is.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// Pulls an image: the manifest (an index or manifest list resolves to the wanted platform), then the config and
/// layers in parallel into the content store, each verified against its digest before it is committed, then the
/// image record. Blobs written under a lease; whatever no image references afterwards (an error) is deleted.
/// </summary>
public sealed partial class ImagePuller(ImageStore images, DistributionOptions options)
{
    internal static readonly string[] ManifestAccept =
    [
        MediaTypes.OciIndex, MediaTypes.DockerManifestList, MediaTypes.OciManifest, MediaTypes.DockerManifest,
    ];

    public async Task<PullResult> PullAsync(ImageReference reference, RegistryCredentials? credentials, string? platform, IProgress<TransferProgress> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(progress);
        // As dockerd: docker.io pulls try each mirror first; a mirror that fails (unreachable, missing the image) is
        // skipped and the next is tried, Docker Hub last, so a mirror can only make a pull faster, never break it.
        if (reference.Domain == ImageReference.DefaultDomain)
        {
            foreach (Uri mirror in options.Mirrors)
            {
                var endpoint = new RegistryEndpoint(mirror.Authority, new Uri(mirror.GetLeftPart(UriPartial.Authority) + "/"));
                try
                {
                    return await PullFromAsync(endpoint, reference, credentials, platform, progress, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is EngineException or HttpRequestException && !cancellationToken.IsCancellationRequested)
                {
                    progress.Report(new TransferProgress(null, $"mirror {mirror} failed ({e.Message}); trying the next source"));
                }
            }
        }

        return await PullFromAsync(RegistryEndpoint.For(reference, options.InsecureRegistries), reference, credentials, platform, progress, cancellationToken).ConfigureAwait(false);
    }

    private async Task<PullResult> PullFromAsync(RegistryEndpoint endpoint, ImageReference reference, RegistryCredentials? credentials, string? platform, IProgress<TransferProgress> progress, CancellationToken cancellationToken)
    {
        (string os, string architecture, string? variant) = ParsePlatform(platform);
        using var client = new RegistryClient(endpoint, credentials, options);
        string scope = $"repository:{reference.Path}:pull";
        string wanted = reference.Digest ?? reference.Tag ?? "latest";
        (byte[] top, string topType, Digest topDigest) = await GetManifestAsync(client, reference, wanted, scope, cancellationToken).ConfigureAwait(false);
        // After the manifest, as Docker: a missing tag is an error response, not a stream that starts and fails.
        progress.Report(new TransferProgress(reference.Tag ?? reference.Digest, $"Pulling from {reference.Path}"));
        if (reference.Digest is not null && Digest.Parse(reference.Digest) != topDigest)
        {
            throw EngineException.Invalid($"manifest verification failed for digest {reference.Digest}");
        }

        byte[] manifestBytes = top;
        if (topType is MediaTypes.OciIndex or MediaTypes.DockerManifestList)
        {
            OciIndex index = JsonSerializer.Deserialize(top, ImageJsonContext.Default.OciIndex) ?? throw EngineException.Invalid("invalid manifest list");
            OciDescriptor chosen = index.Manifests.FirstOrDefault(m => m.Platform is { } p && p.Os == os && p.Architecture == architecture && (variant is null || p.Variant == variant))
                ?? throw EngineException.NotFound($"no matching manifest for {os}/{architecture}{(variant is null ? "" : "/" + variant)} in the manifest list entries");
            Digest childDigest = Digest.Parse(chosen.Digest);
            (manifestBytes, _, Digest got) = await GetManifestAsync(client, reference, childDigest.ToString(), scope, cancellationToken).ConfigureAwait(false);
            if (got != childDigest)
            {
                throw EngineException.Invalid($"manifest verification failed for digest {childDigest}");
            }
        }

        OciManifest manifest = ParseManifest(manifestBytes);
        Digest configDigest = Digest.Parse(manifest.Config.Digest);
        IReadOnlyList<ImageReference> tags = reference.Tag is not null ? [reference with { Digest = null }] : [];
        string repoDigest = $"{reference.FamiliarName}@{topDigest}";

        // The same config is the same image: only the tag (and repo digest) may be new.
        if (images.Snapshot.TryGetValue(configDigest.ToString(), out ImageView? existing))
        {
            bool tagged = tags.All(t => existing.Tags.Any(e => e.ToString() == t.ToString()));
            foreach (ImageReference tag in tags)
            {
                await images.TagAsync(tag, existing.Record.Id, cancellationToken).ConfigureAwait(false);
            }

            await images.AddRepoDigestAsync(existing.Record.Id, repoDigest, cancellationToken).ConfigureAwait(false);
            progress.Report(new TransferProgress(null, $"Digest: {topDigest}"));
            progress.Report(new TransferProgress(null, $"Status: {(tagged ? "Image is up to date" : "Downloaded newer image")} for {reference.FamiliarString}"));
            return new PullResult(images.Get(existing.Record.Id).Record, topDigest, !tagged);
        }

        BlobLease lease = images.Lease();
        try
        {
            foreach (OciDescriptor layer in manifest.Layers)
            {
                progress.Report(new TransferProgress(ShortId(layer.Digest), "Pulling fs layer"));
            }

            using var gate = new SemaphoreSlim(options.ParallelDownloads > 0 ? options.ParallelDownloads : int.MaxValue);
            Task[] downloads =
            [
                DownloadAsync(client, reference, manifest.Config, lease, gate, null, scope, cancellationToken),
                .. manifest.Layers.Select(l => DownloadAsync(client, reference, l, lease, gate, progress, scope, cancellationToken)),
            ];
            await Task.WhenAll(downloads).ConfigureAwait(false);

            byte[] configBytes = await images.Content.ReadAllAsync(configDigest, cancellationToken).ConfigureAwait(false);
            OciImageConfig config = JsonSerializer.Deserialize(configBytes, ImageJsonContext.Default.OciImageConfig) ?? throw EngineException.Invalid("invalid image config");
            ImageRecord record = await images.CommitAsync(configBytes, config, manifest, tags, cancellationToken).ConfigureAwait(false);
            if (record.Id != configDigest.ToString())
            {
                throw EngineException.Invalid($"image config verification failed for digest {configDigest}");
            }

            foreach (OciDescriptor layer in manifest.Layers)
            {
                progress.Report(new TransferProgress(ShortId(layer.Digest), "Pull complete"));
            }

            await images.AddRepoDigestAsync(record.Id, repoDigest, cancellationToken).ConfigureAwait(false);
            progress.Report(new TransferProgress(null, $"Digest: {topDigest}"));
            progress.Report(new TransferProgress(null, $"Status: Downloaded newer image for {reference.FamiliarString}"));
            return new PullResult(images.Get(record.Id).Record, topDigest, true);
        }
        finally
        {
            await images.DiscardUnreferencedAsync(lease, CancellationToken.None).ConfigureAwait(false);
        }
    }

    public static string ShortId(string digest) => digest.Length > 19 && digest.StartsWith("sha256:", StringComparison.Ordinal) ? digest[7..19] : digest;

    /// <summary>Every tag of <paramref name="reference"/>'s repository (tags/list, following the Link pages; bounded).</summary>
    public async Task<IReadOnlyList<string>> ListTagsAsync(ImageReference reference, RegistryCredentials? credentials, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reference);
        using var client = new RegistryClient(RegistryEndpoint.For(reference, options.InsecureRegistries), credentials, options);
        string scope = $"repository:{reference.Path}:pull";
        var tags = new List<string>();
        string? next = $"/v2/{reference.Path}/tags/list?n=1000";
        for (int page = 0; next is not null && page < 100; page++)
        {
            string url = next;
            using HttpResponseMessage response = await client.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, client.Url(url)), scope, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                throw EngineException.NotFound($"repository {reference.FamiliarName} not found: does not exist or no pull access");
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new EngineException(ErrorKind.Internal, $"error listing the tags of {reference.FamiliarName}: {await RegistryClient.DescribeErrorAsync(response, cancellationToken).ConfigureAwait(false)}");
            }

            using JsonDocument document = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
            if (document.RootElement.TryGetProperty("tags", out JsonElement list) && list.ValueKind == JsonValueKind.Array)
            {
                tags.AddRange(list.EnumerateArray().Select(t => t.GetString()).OfType<string>());
            }

            // Link: </v2/NAME/tags/list?last=X&n=1000>; rel="next"
            next = response.Headers.TryGetValues("Link", out IEnumerable<string>? links)
                ? links.Select(l => l.Split(';')[0].Trim().Trim('<', '>')).FirstOrDefault(l => l.Length > 0)
                : null;
        }

        return tags;
    }

    internal static async Task<(byte[] Content, string MediaType, Digest Digest)> GetManifestAsync(RegistryClient client, ImageReference reference, string wanted, string scope, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await client.SendAsync(() =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, client.Url($"/v2/{reference.Path}/manifests/{wanted}"));
            foreach (string type in ManifestAccept)
            {
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
            }

            return request;
        }, scope, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            string why = await RegistryClient.DescribeErrorAsync(response, cancellationToken).ConfigureAwait(false);
            throw EngineException.NotFound(why.StartsWith("name unknown", StringComparison.Ordinal) || why.StartsWith("manifest unknown", StringComparison.Ordinal)
                ? $"manifest for {reference.FamiliarString} not found: manifest unknown: manifest unknown"
                : $"manifest for {reference.FamiliarString} not found: {why}");
        }

        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            string why = await RegistryClient.DescribeErrorAsync(response, cancellationToken).ConfigureAwait(false);
            throw new EngineException(ErrorKind.Forbidden, $"pull access denied for {reference.FamiliarName}, repository does not exist or may require 'docker login': {why}");
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new EngineException(ErrorKind.Internal, $"error pulling {reference.FamiliarString}: {await RegistryClient.DescribeErrorAsync(response, cancellationToken).ConfigureAwait(false)}");
        }

        byte[] content = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        string mediaType = response.Content.Headers.ContentType?.MediaType ?? "";
        if (mediaType is "" or "application/json" or "text/plain")
        {
            using var document = JsonDocument.Parse(content);
            mediaType = document.RootElement.TryGetProperty("mediaType", out JsonElement mt) ? mt.GetString() ?? "" :
                document.RootElement.TryGetProperty("manifests", out _) ? MediaTypes.OciIndex : MediaTypes.OciManifest;
        }

        return (content, mediaType, Digest.Sha256Of(content));
    }

    private static OciManifest ParseManifest(byte[] bytes)
    {
        OciManifest manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(bytes, ImageJsonContext.Default.OciManifest) ?? throw EngineException.Invalid("invalid manifest");
        }
        catch (JsonException e)
        {
            throw EngineException.Invalid($"invalid manifest: {e.Message}");
        }

        if (manifest.SchemaVersion != 2 || string.IsNullOrEmpty(manifest.Config.Digest))
        {
            throw EngineException.Invalid("unsupported manifest: only Docker schema 2 and OCI image manifests can be pulled");
        }

        return manifest;
    }

    /// <summary>os/arch[/variant], linux/amd64 by default.</summary>
    public static (string Os, string Architecture, string? Variant) ParsePlatform(string? platform)
    {
        if (string.IsNullOrEmpty(platform))
        {
            return ("linux", "amd64", null);
        }

        string[] parts = platform.ToLowerInvariant().Split('/');
        return parts.Length switch
        {
            1 => ("linux", parts[0], null),
            2 => (parts[0], parts[1], null),
            3 => (parts[0], parts[1], parts[2]),
            _ => throw EngineException.Invalid($"invalid platform \"{platform}\": expected os/arch[/variant]"),
        };
    }
}
