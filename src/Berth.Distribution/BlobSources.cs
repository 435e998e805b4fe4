using System.Text.Json;
using Berth.Images;
using Berth.Primitives;

namespace Berth.Distribution;

/// <summary>Records where a pulled image's blobs live on its registry, so a later push elsewhere on it can mount them.</summary>
public static class BlobSources
{
    /// <summary>
    /// The config and layers of <paramref name="image"/>'s manifest are in <paramref name="reference"/>'s repository
    /// (it was just pulled from there). An image without a stored manifest has nothing to record.
    /// </summary>
    public static async Task RecordPulledAsync(ImageStore images, ImageReference reference, ImageRecord image, DistributionOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(options);
        if (image.ManifestDigest is null || !Digest.TryParse(image.ManifestDigest, out Digest manifestDigest) || !images.Content.Exists(manifestDigest))
        {
            return;
        }

        byte[] bytes = await images.Content.ReadAllAsync(manifestDigest, cancellationToken).ConfigureAwait(false);
        OciManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(bytes, ImageJsonContext.Default.OciManifest);
        }
        catch (JsonException)
        {
            return;
        }

        if (manifest is null)
        {
            return;
        }

        // Only what parses as a digest: a record is an optimisation, never a reason for a finished pull to fail.
        List<Digest> digests = [];
        foreach (string? text in manifest.Layers.Select(l => l.Digest).Prepend(manifest.Config.Digest))
        {
            if (Digest.TryParse(text, out Digest digest))
            {
                digests.Add(digest);
            }
        }

        images.RecordBlobSources(RegistryEndpoint.For(reference, options.InsecureRegistries).Host, reference.Path, digests);
    }
}
