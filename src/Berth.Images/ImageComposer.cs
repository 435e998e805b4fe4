using Berth.Primitives;

namespace Berth.Images;

/// <summary>
/// New images made here rather than loaded: a parent (or nothing) plus one new layer and a config, as commit, import
/// and each build step make them. The parent's layers are shared, never copied.
/// </summary>
public static class ImageComposer
{
    /// <summary>
    /// Commits <paramref name="parent"/>'s layers plus <paramref name="layer"/> (null for a config-only change) with
    /// <paramref name="runtimeConfig"/> and one more history entry; tags it with <paramref name="references"/>.
    /// </summary>
    public static Task<ImageRecord> ComposeAsync(
        ImageStore images,
        ImageRecord? parent,
        LayerWriter.WrittenLayer? layer,
        ImageRuntimeConfig runtimeConfig,
        OciHistory history,
        string? author,
        IEnumerable<ImageReference> references,
        CancellationToken cancellationToken) =>
        ComposeAsync(images, parent, layer, runtimeConfig, history, author, references, DateTimeOffset.UtcNow, cancellationToken);

    /// <summary>As the other overload, the image (and its new history entry, unless that has a time) created at <paramref name="created"/>.</summary>
    public static async Task<ImageRecord> ComposeAsync(
        ImageStore images,
        ImageRecord? parent,
        LayerWriter.WrittenLayer? layer,
        ImageRuntimeConfig runtimeConfig,
        OciHistory history,
        string? author,
        IEnumerable<ImageReference> references,
        DateTimeOffset created,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(history);
        IReadOnlyList<OciDescriptor> parentLayers = [];
        if (parent is not null)
        {
            if (parent.ManifestDigest is null)
            {
                throw EngineException.Invalid($"image {parent.Id} has no manifest");
            }

            byte[] manifestBytes = await images.Content.ReadAllAsync(Digest.Parse(parent.ManifestDigest), cancellationToken).ConfigureAwait(false);
            parentLayers = System.Text.Json.JsonSerializer.Deserialize(manifestBytes, ImageJsonContext.Default.OciManifest)!.Layers;
        }

        DateTimeOffset now = created;
        var config = new OciImageConfig
        {
            Created = now,
            Author = author,
            Architecture = parent?.Config.Architecture ?? "amd64",
            Os = parent?.Config.Os ?? "linux",
            Config = runtimeConfig,
            RootFs = new OciRootFs { DiffIds = [.. parent?.Config.RootFs.DiffIds ?? [], .. layer is null ? [] : new[] { layer.DiffId.ToString() }] },
            History = [.. parent?.Config.History ?? [], history with { Created = history.Created ?? now, EmptyLayer = layer is null ? true : null }],
        };
        var manifest = new OciManifest { Layers = [.. parentLayers, .. layer is null ? [] : new[] { layer.Descriptor }] };
        return await images.CommitAsync(config, manifest, references, cancellationToken).ConfigureAwait(false);
    }
}
