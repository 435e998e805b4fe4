using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Berth.Images;
using Berth.Primitives;

namespace Berth.Distribution;

/// <summary>
/// Pushes an image: its config and layers in parallel (a blob the registry has already is skipped after a HEAD;
/// the others go up as POST + monolithic PUT with their digest, which the registry verifies), then its manifest
/// under the tag. Returns the manifest digest.
/// </summary>
public sealed class ImagePusher(ImageStore images, DistributionOptions options)
{
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

        using var gate = new SemaphoreSlim(options.ParallelTransfers);
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
                    return;
                }
            }

            progress?.Report(new TransferProgress(id, "Pushing"));
            Uri location;
            using (HttpResponseMessage started = await client.SendAsync(() => new HttpRequestMessage(HttpMethod.Post, client.Url($"/v2/{reference.Path}/blobs/uploads/")), scope, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false))
            {
                await EnsureAsync(started, reference, cancellationToken).ConfigureAwait(false);
                Uri where = started.Headers.Location ?? throw new EngineException(ErrorKind.Internal, $"{client.Endpoint.Host}: upload started without a Location");
                location = where.IsAbsoluteUri ? where : new Uri(client.Endpoint.BaseUri, where);
            }

            var put = new UriBuilder(location);
            put.Query = (put.Query.Length > 1 ? put.Query[1..] + "&" : "") + "digest=" + Uri.EscapeDataString(digest.ToString());
            using HttpResponseMessage done = await client.SendAsync(() =>
            {
                long size = new FileInfo(images.Content.PathOf(digest)).Length;
                Stream blob = images.Content.OpenRead(digest);
                if (progress is not null)
                {
                    blob = new ProgressStream(blob, size, done => progress.Report(new TransferProgress(id, "Pushing") { Current = done, Total = size }));
                }

                var content = new StreamContent(blob, 1 << 20);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                content.Headers.ContentLength = size;
                return new HttpRequestMessage(HttpMethod.Put, put.Uri) { Content = content };
            }, scope, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            await EnsureAsync(done, reference, cancellationToken).ConfigureAwait(false);
            progress?.Report(new TransferProgress(id, "Pushed"));
        }
        finally
        {
            gate.Release();
        }
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
