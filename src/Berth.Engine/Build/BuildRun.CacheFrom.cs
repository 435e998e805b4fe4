using Berth.Api.Types;
using Berth.Images;
using Berth.Primitives;

namespace Berth.Engine.Build;

/// <summary>
/// <c>--cache-from</c> with local images, as Docker's legacy builder does it: a step is a hit when a given image's
/// history continues the current image's history with this very step (same history entries and layers so far,
/// then an entry created by the same instruction), and the hit is that image's layer for the step under the
/// step's own config, so a pulled or loaded image seeds the cache of a machine that never built it.
/// </summary>
internal sealed partial class BuildRun
{
    private async Task<ImageRecord?> FromCacheSourcesAsync(ImageRecord? parent, string createdBy, ImageRuntimeConfig next, string? author, bool emptyLayer, CancellationToken cancellationToken)
    {
        IReadOnlyList<OciHistory> parentHistory = parent?.Config.History ?? [];
        IReadOnlyList<string> parentLayers = parent?.Config.RootFs.DiffIds ?? [];
        foreach (string reference in request.CacheFrom)
        {
            if (service.Images.Find(reference)?.Record is not { ManifestDigest: not null } source)
            {
                continue;
            }

            IReadOnlyList<OciHistory> history = source.Config.History;
            IReadOnlyList<string> layers = source.Config.RootFs.DiffIds;
            if (history.Count <= parentHistory.Count || layers.Count < parentLayers.Count || !parentLayers.SequenceEqual(layers.Take(parentLayers.Count), StringComparer.Ordinal))
            {
                continue;
            }

            bool samePrefix = true;
            for (int i = 0; i < parentHistory.Count && samePrefix; i++)
            {
                samePrefix = history[i].CreatedBy == parentHistory[i].CreatedBy && (history[i].EmptyLayer ?? false) == (parentHistory[i].EmptyLayer ?? false);
            }

            OciHistory step = history[parentHistory.Count];
            if (!samePrefix || step.CreatedBy != createdBy || (step.EmptyLayer ?? false) != emptyLayer)
            {
                continue;
            }

            LayerWriter.WrittenLayer? layer = null;
            if (!emptyLayer)
            {
                if (layers.Count <= parentLayers.Count)
                {
                    continue;
                }

                byte[] manifestBytes = await service.Images.Content.ReadAllAsync(Digest.Parse(source.ManifestDigest), cancellationToken).ConfigureAwait(false);
                OciManifest manifest = System.Text.Json.JsonSerializer.Deserialize(manifestBytes, ImageJsonContext.Default.OciManifest)!;
                OciDescriptor descriptor = manifest.Layers[parentLayers.Count];
                layer = new LayerWriter.WrittenLayer(descriptor, Digest.Parse(layers[parentLayers.Count]), descriptor.Size);
            }

            return await ImageComposer.ComposeAsync(service.Images, parent, layer, next, step, author, [], cancellationToken).ConfigureAwait(false);
        }

        return null;
    }
}
