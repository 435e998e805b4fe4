using System.Formats.Tar;
using System.Text.Json;
using Berth.Primitives;
using Berth.Storage.Content;

namespace Berth.Images;

/// <summary>An image to save and the references to save it under.</summary>
public sealed record SaveItem(ImageRecord Image, IReadOnlyList<ImageReference> Tags);

/// <summary>
/// <c>docker save</c> and <c>docker load</c>. Saves write Docker 25+'s archive: an OCI image layout
/// (<c>oci-layout</c>, <c>index.json</c>, <c>blobs/sha256/…</c> with uncompressed layers) plus the docker-archive
/// <c>manifest.json</c> and <c>repositories</c> pointing into the same blobs. Loads read docker-archives (legacy
/// <c>ID/layer.tar</c> layouts and blob layouts) and plain OCI layouts, plain or gzip-compressed. Every blob is verified
/// (blob names against their content, layers against the config's diff ids) before anything is committed.
/// </summary>
public static partial class ImageArchive
{
    private const long MaxMetadataFile = 16 << 20;
    private static readonly DateTimeOffset Epoch = DateTimeOffset.UnixEpoch;

    // ---- save ----

    /// <summary>Writes the archive of <paramref name="items"/> (one entry per image; tags merged) to <paramref name="output"/>.</summary>
    public static async Task SaveAsync(ImageStore store, IReadOnlyList<SaveItem> items, Stream output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(items);
        ContentStore content = store.Content;
        var written = new HashSet<string>(StringComparer.Ordinal);
        var manifests = new List<DockerArchiveManifest>();
        var index = new List<OciDescriptor>();
        var repositories = new SortedDictionary<string, SortedDictionary<string, string>>(StringComparer.Ordinal);

        await using var tar = new TarWriter(output, TarEntryFormat.Ustar, leaveOpen: true);
        await WriteDirectoryAsync(tar, "blobs/", cancellationToken).ConfigureAwait(false);
        await WriteDirectoryAsync(tar, "blobs/sha256/", cancellationToken).ConfigureAwait(false);

        foreach (IGrouping<string, SaveItem> group in items.GroupBy(i => i.Image.Id, StringComparer.Ordinal))
        {
            ImageRecord image = group.First().Image;
            ImageReference[] tags = [.. group.SelectMany(i => i.Tags).DistinctBy(t => t.ToString())];
            Digest configDigest = Digest.Parse(image.Id);
            await WriteBlobAsync(tar, content, configDigest, written, cancellationToken).ConfigureAwait(false);

            OciManifest stored = await ReadManifestAsync(content, image, cancellationToken).ConfigureAwait(false);
            IReadOnlyList<string> diffIds = image.Config.RootFs.DiffIds;
            var layers = new List<OciDescriptor>();
            for (int i = 0; i < diffIds.Count; i++)
            {
                Digest diffId = Digest.Parse(diffIds[i]);
                long size = await WriteLayerAsync(tar, content, Digest.Parse(stored.Layers[i].Digest), diffId, written, cancellationToken).ConfigureAwait(false);
                layers.Add(new OciDescriptor { MediaType = MediaTypes.OciLayer, Digest = diffId.ToString(), Size = size });
            }

            long configSize = new FileInfo(content.PathOf(configDigest)).Length;
            var manifest = new OciManifest
            {
                Config = new OciDescriptor { MediaType = MediaTypes.OciConfig, Digest = image.Id, Size = configSize },
                Layers = layers,
            };
            byte[] manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest, ImageJsonContext.Default.OciManifest);
            Digest manifestDigest = Digest.Sha256Of(manifestBytes);
            if (written.Add(manifestDigest.Hex))
            {
                await WriteFileAsync(tar, "blobs/sha256/" + manifestDigest.Hex, manifestBytes, cancellationToken).ConfigureAwait(false);
            }

            var descriptor = new OciDescriptor { MediaType = MediaTypes.OciManifest, Digest = manifestDigest.ToString(), Size = manifestBytes.Length };
            if (tags.Length == 0)
            {
                index.Add(descriptor);
            }

            foreach (ImageReference tag in tags)
            {
                index.Add(descriptor with
                {
                    Annotations = new Dictionary<string, string>
                    {
                        ["io.containerd.image.name"] = tag.ToString(),
                        ["org.opencontainers.image.ref.name"] = tag.Tag ?? "latest",
                    },
                });
                if (diffIds.Count > 0 && tag.Tag is not null)
                {
                    string repository = tag.FamiliarName;
                    if (!repositories.TryGetValue(repository, out SortedDictionary<string, string>? byTag))
                    {
                        repositories[repository] = byTag = new SortedDictionary<string, string>(StringComparer.Ordinal);
                    }

                    byTag[tag.Tag] = Digest.Parse(diffIds[^1]).Hex;
                }
            }

            manifests.Add(new DockerArchiveManifest
            {
                Config = "blobs/sha256/" + configDigest.Hex,
                RepoTags = tags.Length == 0 ? null : [.. tags.Where(t => t.Tag is not null).Select(t => t.FamiliarString)],
                Layers = [.. layers.Select(l => "blobs/sha256/" + Digest.Parse(l.Digest).Hex)],
            });
        }

        var ociIndex = new OciIndex { Manifests = index };
        await WriteFileAsync(tar, "index.json", JsonSerializer.SerializeToUtf8Bytes(ociIndex, ImageJsonContext.Default.OciIndex), cancellationToken).ConfigureAwait(false);
        await WriteFileAsync(tar, "manifest.json", JsonSerializer.SerializeToUtf8Bytes(manifests, ImageJsonContext.Default.ListDockerArchiveManifest), cancellationToken).ConfigureAwait(false);
        await WriteFileAsync(tar, "oci-layout", """{"imageLayoutVersion":"1.0.0"}"""u8.ToArray(), cancellationToken).ConfigureAwait(false);
        if (repositories.Count > 0)
        {
            var plain = repositories.ToDictionary(r => r.Key, r => r.Value.ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal), StringComparer.Ordinal);
            await WriteFileAsync(tar, "repositories", JsonSerializer.SerializeToUtf8Bytes(plain, ImageJsonContext.Default.DictionaryStringDictionaryStringString), cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<OciManifest> ReadManifestAsync(ContentStore content, ImageRecord image, CancellationToken cancellationToken)
    {
        if (image.ManifestDigest is null)
        {
            throw new EngineException(ErrorKind.Internal, $"image {image.Id} has no manifest");
        }

        byte[] bytes = await content.ReadAllAsync(Digest.Parse(image.ManifestDigest), cancellationToken).ConfigureAwait(false);
        OciManifest manifest = JsonSerializer.Deserialize(bytes, ImageJsonContext.Default.OciManifest)
            ?? throw new EngineException(ErrorKind.Internal, $"image {image.Id} has an empty manifest");
        if (manifest.Layers.Count != image.Config.RootFs.DiffIds.Count)
        {
            throw new EngineException(ErrorKind.Internal, $"image {image.Id}: manifest and config disagree on the layers");
        }

        return manifest;
    }

    private static async Task WriteBlobAsync(TarWriter tar, ContentStore content, Digest digest, HashSet<string> written, CancellationToken cancellationToken)
    {
        if (!written.Add(digest.Hex))
        {
            return;
        }

        await using Stream blob = content.OpenRead(digest);
        await WriteEntryAsync(tar, "blobs/sha256/" + digest.Hex, blob, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes a layer uncompressed under its diff id (decompressing and verifying a compressed blob); returns its size.</summary>
    /// <remarks>
    /// A tar header needs the size before the data, and a compressed blob does not say how big it is unpacked: it is
    /// decompressed twice, once to measure and verify it, once straight into the archive. Inflating again is cheaper
    /// than writing the whole layer to a temp file and reading it back.
    /// </remarks>
    private static async Task<long> WriteLayerAsync(TarWriter tar, ContentStore content, Digest blob, Digest diffId, HashSet<string> written, CancellationToken cancellationToken)
    {
        if (blob == diffId)
        {
            long size = new FileInfo(content.PathOf(blob)).Length;
            await WriteBlobAsync(tar, content, blob, written, cancellationToken).ConfigureAwait(false);
            return size;
        }

        (Digest actual, long length) = await MeasureDecompressedAsync(content, blob, cancellationToken).ConfigureAwait(false);
        if (actual != diffId)
        {
            throw new EngineException(ErrorKind.Internal, $"layer {blob} is corrupt: its content is {actual}, not {diffId}");
        }

        if (written.Add(diffId.Hex))
        {
            await using Stream source = content.OpenRead(blob);
            Stream plain = await LayerCompression.DecompressAsync(source, cancellationToken).ConfigureAwait(false);
            await using (plain.ConfigureAwait(false))
            {
                await WriteEntryAsync(tar, "blobs/sha256/" + diffId.Hex, new KnownLengthStream(plain, length), cancellationToken).ConfigureAwait(false);
            }
        }

        return length;
    }

    private static async Task<(Digest Digest, long Length)> MeasureDecompressedAsync(ContentStore content, Digest blob, CancellationToken cancellationToken)
    {
        await using Stream source = content.OpenRead(blob);
        var counter = new CountingSink();
        Digest digest = await CopyDecompressedAsync(source, counter, cancellationToken).ConfigureAwait(false);
        return (digest, counter.Length);
    }

    private static Task WriteDirectoryAsync(TarWriter tar, string name, CancellationToken cancellationToken) =>
        tar.WriteEntryAsync(new UstarTarEntry(TarEntryType.Directory, name) { Mode = (UnixFileMode)0x1ED, ModificationTime = Epoch }, cancellationToken);

    private static async Task WriteFileAsync(TarWriter tar, string name, byte[] data, CancellationToken cancellationToken)
    {
        using var stream = new MemoryStream(data, writable: false);
        await WriteEntryAsync(tar, name, stream, cancellationToken).ConfigureAwait(false);
    }

    private static Task WriteEntryAsync(TarWriter tar, string name, Stream data, CancellationToken cancellationToken) =>
        tar.WriteEntryAsync(new UstarTarEntry(TarEntryType.RegularFile, name) { Mode = (UnixFileMode)0x1A4, ModificationTime = Epoch, DataStream = data }, cancellationToken);
}
