using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Berth.Images;
using Berth.Primitives;

namespace Berth.Distribution;

/// <summary>
/// Pushes an image: its config and layers in parallel (a blob the registry has already is skipped after a HEAD, one
/// it has in another repository is mounted from there, the others go up as POST + streamed PATCH, resumed when the
/// connection breaks, + PUT with their digest, which the registry verifies), then its manifest under the tag.
/// Returns the manifest digest.
/// </summary>
public sealed partial class ImagePusher(ImageStore images, DistributionOptions options)
{
    /// <summary>How many source repositories a push asks to mount a blob from before it uploads it (Docker tries three).</summary>
    private const int MountAttempts = 3;

    public async Task<Digest> PushAsync(ImageReference reference, ImageRecord image, RegistryCredentials? credentials, IProgress<TransferProgress> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(progress);
        if (image.ManifestDigest is null)
        {
            throw EngineException.Invalid($"image {image.Id} has no manifest to push");
        }

        progress.Report(new TransferProgress(null, $"The push refers to repository [{reference.Name}]"));
        byte[] manifestBytes = await images.Content.ReadAllAsync(Digest.Parse(image.ManifestDigest), cancellationToken).ConfigureAwait(false);
        OciManifest manifest = JsonSerializer.Deserialize(manifestBytes, ImageJsonContext.Default.OciManifest) ?? throw EngineException.Invalid("invalid stored manifest");
        using var client = new RegistryClient(RegistryEndpoint.For(reference, options.InsecureRegistries), credentials, options);
        string scope = $"repository:{reference.Path}:pull,push";

        // Docker lists layers top first.
        OciDescriptor[] layers = [.. manifest.Layers.Reverse()];
        foreach (OciDescriptor layer in layers)
        {
            progress.Report(new TransferProgress(ImagePuller.ShortId(layer.Digest), "Preparing"));
        }

        using var gate = new SemaphoreSlim(options.ParallelUploads > 0 ? options.ParallelUploads : int.MaxValue);
        await Task.WhenAll([
            UploadAsync(client, reference, manifest.Config, gate, null, scope, cancellationToken),
            .. layers.Select(l => UploadAsync(client, reference, l, gate, progress, scope, cancellationToken)),
        ]).ConfigureAwait(false);

        string tag = reference.Tag ?? "latest";
        using HttpResponseMessage response = await client.SendAsync(() => new HttpRequestMessage(HttpMethod.Put, client.Url($"/v2/{reference.Path}/manifests/{tag}"))
        {
            Content = new ByteArrayContent(manifestBytes) { Headers = { ContentType = new MediaTypeHeaderValue(manifest.MediaType) } },
        }, scope, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        await EnsureAsync(response, reference, cancellationToken).ConfigureAwait(false);
        Digest digest = Digest.Sha256Of(manifestBytes);
        progress.Report(new TransferProgress(null, $"{tag}: digest: {digest} size: {manifestBytes.Length}"));
        return digest;
    }

    private async Task UploadAsync(RegistryClient client, ImageReference reference, OciDescriptor descriptor, SemaphoreSlim gate, IProgress<TransferProgress>? progress, string scope, CancellationToken cancellationToken)
    {
        Digest digest = Digest.Parse(descriptor.Digest);
        string id = ImagePuller.ShortId(descriptor.Digest);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using (HttpResponseMessage head = await client.SendAsync(() => new HttpRequestMessage(HttpMethod.Head, client.Url($"/v2/{reference.Path}/blobs/{digest}")), scope, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false))
            {
                if (head.IsSuccessStatusCode)
                {
                    progress?.Report(new TransferProgress(id, "Layer already exists"));
                    images.RecordBlobSources(client.Endpoint.Host, reference.Path, [digest]);
                    return;
                }
            }

            (string? mountedFrom, Uri? location) = await MountAsync(client, reference, digest, scope, cancellationToken).ConfigureAwait(false);
            if (mountedFrom is not null)
            {
                progress?.Report(new TransferProgress(id, $"Mounted from {mountedFrom}"));
                images.RecordBlobSources(client.Endpoint.Host, reference.Path, [digest]);
                return;
            }

            progress?.Report(new TransferProgress(id, "Pushing"));
            await SendBlobAsync(client, reference, digest, id, location, progress, scope, cancellationToken).ConfigureAwait(false);
            progress?.Report(new TransferProgress(id, "Pushed"));
            images.RecordBlobSources(client.Endpoint.Host, reference.Path, [digest]);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Asks the registry to mount the blob from a repository it is known to hold it in (the most recently seen first,
    /// at most <see cref="MountAttempts"/>). 201: mounted, returns the source. 202: the registry started a plain upload
    /// instead (it lacks the blob there, or the source is not readable with these credentials): returns that session to
    /// continue (the last one; earlier ones are cancelled while other sources remain). Anything else, or no known
    /// source: neither, and the caller uploads as usual.
    /// </summary>
    private async Task<(string? MountedFrom, Uri? Location)> MountAsync(RegistryClient client, ImageReference reference, Digest digest, string scope, CancellationToken cancellationToken)
    {
        string[] sources = [.. images.BlobSources(client.Endpoint.Host, digest).Where(r => r != reference.Path).Take(MountAttempts)];
        for (int i = 0; i < sources.Length; i++)
        {
            string url = $"/v2/{reference.Path}/blobs/uploads/?mount={Uri.EscapeDataString(digest.ToString())}&from={Uri.EscapeDataString(sources[i])}";
            using HttpResponseMessage response = await client.SendAsync(() => new HttpRequestMessage(HttpMethod.Post, client.Url(url)), $"{scope} repository:{sources[i]}:pull", HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Created)
            {
                return (sources[i], null);
            }

            if (response.StatusCode != HttpStatusCode.Accepted || response.Headers.Location is null)
            {
                // Refused outright (no pull on the source, say): an ordinary upload still can work.
                continue;
            }

            Uri location = LocationOf(client, response);
            if (i == sources.Length - 1)
            {
                return (null, location);
            }

            // Another source may work: give this session back rather than leave it to the registry's purge.
            using HttpResponseMessage cancelled = await client.SendAsync(() => new HttpRequestMessage(HttpMethod.Delete, location), scope, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        }

        return (null, null);
    }

    /// <summary>An upload session's URL from a response's Location (relative to the registry, or absolute).</summary>
    private static Uri LocationOf(RegistryClient client, HttpResponseMessage response)
    {
        Uri where = response.Headers.Location ?? throw new EngineException(ErrorKind.Internal, $"{client.Endpoint.Host}: upload answered without a Location");
        return where.IsAbsoluteUri ? where : new Uri(client.Endpoint.BaseUri, where);
    }

    private static async Task EnsureAsync(HttpResponseMessage response, ImageReference reference, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        string why = await RegistryClient.DescribeErrorAsync(response, cancellationToken).ConfigureAwait(false);
        throw response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden
            ? new EngineException(ErrorKind.Forbidden, $"denied: requested access to the resource is denied ({reference.FamiliarName}): {why}")
            : new EngineException(ErrorKind.Internal, $"error pushing {reference.FamiliarString}: {why}");
    }
}
