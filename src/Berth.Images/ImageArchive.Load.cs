using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text.Json;
using Berth.Primitives;
using Berth.Storage.Content;

namespace Berth.Images;

public static partial class ImageArchive
{
    /// <summary>
    /// Reads an archive into the store and commits its images; returns Docker's lines (<c>Loaded image: NAME</c>, or
    /// <c>Loaded image ID: ID</c> for an untagged image). On any error nothing is committed and the blobs it wrote that
    /// nothing else references are removed.
    /// </summary>
    public static async Task<IReadOnlyList<string>> LoadAsync(ImageStore store, Stream input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(input);
        using BlobLease lease = store.Lease();
        try
        {
            ArchiveContents contents;
            try
            {
                contents = await ReadArchiveAsync(store.Content, lease, input, cancellationToken).ConfigureAwait(false);
            }
            catch (EndOfStreamException)
            {
                throw EngineException.Invalid("unexpected EOF");
            }
            catch (Exception e) when (e is InvalidDataException or FormatException)
            {
                throw EngineException.Invalid($"invalid tar archive: {e.Message}");
            }

            List<PendingImage> images = contents.Metadata.ContainsKey("manifest.json")
                ? await PlanDockerArchiveAsync(store.Content, contents, cancellationToken).ConfigureAwait(false)
                : contents.Metadata.ContainsKey("index.json")
                    ? await PlanOciLayoutAsync(store.Content, contents, cancellationToken).ConfigureAwait(false)
                    : throw EngineException.Invalid("invalid archive: it has neither manifest.json nor index.json");

            var lines = new List<string>();
            foreach (PendingImage image in images)
            {
                ImageRecord record = await store.CommitAsync(image.ConfigBytes, image.Config, image.Manifest, image.Tags, cancellationToken).ConfigureAwait(false);
                if (image.Tags.Count == 0)
                {
                    lines.Add($"Loaded image ID: {record.Id}");
                }

                lines.AddRange(image.Tags.Select(t => $"Loaded image: {t.FamiliarString}"));
            }

            return lines;
        }
        finally
        {
            // Whatever the archive held that no image references (legacy json/VERSION files, or everything after an error).
            await store.DiscardUnreferencedAsync(lease, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private sealed record PendingImage(byte[] ConfigBytes, OciImageConfig Config, OciManifest Manifest, IReadOnlyList<ImageReference> Tags);

    /// <summary>What an archive held: small metadata files in memory, every other file as a verified blob, links as aliases.</summary>
    private sealed class ArchiveContents
    {
        public Dictionary<string, byte[]> Metadata { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, BlobDescriptor> Files { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, string> Links { get; } = new(StringComparer.Ordinal);

        public BlobDescriptor File(string path)
        {
            string resolved = NormalizePath(path) ?? throw EngineException.Invalid($"invalid archive: {path} escapes the archive");
            for (int hops = 0; hops < 16 && Links.TryGetValue(resolved, out string? target); hops++)
            {
                resolved = target;
            }

            return Files.TryGetValue(resolved, out BlobDescriptor blob)
                ? blob
                : throw EngineException.Invalid($"invalid archive: {path} is missing");
        }
    }

    private static readonly string[] MetadataFiles = ["manifest.json", "index.json", "repositories", "oci-layout"];

    private static async Task<ArchiveContents> ReadArchiveAsync(ContentStore content, BlobLease lease, Stream input, CancellationToken cancellationToken)
    {
        var contents = new ArchiveContents();
        Stream source = await LayerCompression.DecompressAsync(input, cancellationToken).ConfigureAwait(false);
        await using var reader = new TarReader(source, leaveOpen: false);
        while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
        {
            string name = NormalizePath(entry.Name) ?? throw EngineException.Invalid($"invalid archive: entry {entry.Name} escapes the archive");
            switch (entry.EntryType)
            {
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    if (MetadataFiles.Contains(name))
                    {
                        if (entry.Length > MaxMetadataFile)
                        {
                            throw EngineException.Invalid($"invalid archive: {name} is too large");
                        }

                        using var buffer = new MemoryStream();
                        if (entry.DataStream is { } metadata)
                        {
                            await metadata.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
                        }

                        contents.Metadata[name] = buffer.ToArray();
                        break;
                    }

                    Digest? expected = BlobName(name);
                    if (expected is { } known)
                    {
                        lease.Add(known);
                    }

                    BlobDescriptor blob = await content.WriteAsync(entry.DataStream ?? Stream.Null, expected, cancellationToken).ConfigureAwait(false);
                    lease.Add(blob.Digest);
                    contents.Files[name] = blob;
                    break;
                case TarEntryType.SymbolicLink:
                    {
                        string directory = name.Contains('/', StringComparison.Ordinal) ? name[..name.LastIndexOf('/')] : "";
                        string target = entry.LinkName.StartsWith('/') ? entry.LinkName : directory + "/" + entry.LinkName;
                        contents.Links[name] = NormalizePath(target) ?? throw EngineException.Invalid($"invalid archive: link {entry.Name} points outside the archive");
                        break;
                    }

                case TarEntryType.HardLink:
                    contents.Links[name] = NormalizePath(entry.LinkName) ?? throw EngineException.Invalid($"invalid archive: link {entry.Name} points outside the archive");
                    break;
                default:
                    break; // directories and anything else carry nothing an image needs
            }
        }

        return contents;
    }

    /// <summary>A relative, clean archive path (<c>./a//b/</c> is <c>a/b</c>, <c>a/../b</c> is <c>b</c>); null when <c>..</c> climbs above the top.</summary>
    public static string? NormalizePath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var parts = new List<string>();
        foreach (string part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (parts.Count == 0)
                {
                    return null;
                }

                parts.RemoveAt(parts.Count - 1);
                continue;
            }

            parts.Add(part);
        }

        return string.Join('/', parts);
    }

    /// <summary>The digest a path <c>blobs/sha256/HEX</c> promises, else null.</summary>
    private static Digest? BlobName(string path)
    {
        const string Prefix = "blobs/sha256/";
        return path.StartsWith(Prefix, StringComparison.Ordinal) && path.Length == Prefix.Length + 64 && Ids.IsHexPrefix(path[Prefix.Length..])
            ? Digest.Parse("sha256:" + path[Prefix.Length..])
            : null;
    }

    private static async Task<List<PendingImage>> PlanDockerArchiveAsync(ContentStore content, ArchiveContents contents, CancellationToken cancellationToken)
    {
        List<DockerArchiveManifest> entries;
        try
        {
            entries = JsonSerializer.Deserialize(contents.Metadata["manifest.json"], ImageJsonContext.Default.ListDockerArchiveManifest) ?? [];
        }
        catch (JsonException e)
        {
            throw EngineException.Invalid($"invalid archive: manifest.json: {e.Message}");
        }

        var images = new List<PendingImage>();
        foreach (DockerArchiveManifest entry in entries)
        {
            BlobDescriptor configBlob = contents.File(entry.Config);
            IReadOnlyList<BlobDescriptor> layers = [.. entry.Layers.Select(contents.File)];
            var tags = new List<ImageReference>();
            foreach (string tag in entry.RepoTags ?? [])
            {
                tags.Add(ImageReference.TryParse(tag, out ImageReference? reference) && reference.Digest is null
                    ? reference
                    : throw EngineException.Invalid($"invalid archive: invalid tag {tag}"));
            }

            images.Add(await PlanImageAsync(content, configBlob, null, layers, tags, cancellationToken).ConfigureAwait(false));
        }

        return images;
    }

    private static async Task<List<PendingImage>> PlanOciLayoutAsync(ContentStore content, ArchiveContents contents, CancellationToken cancellationToken)
    {
        OciIndex index = ParseIndex(contents.Metadata["index.json"], "index.json");
        var images = new List<PendingImage>();
        foreach (OciDescriptor descriptor in index.Manifests)
        {
            OciDescriptor chosen = descriptor;
            if (descriptor.MediaType is MediaTypes.OciIndex or MediaTypes.DockerManifestList)
            {
                OciIndex nested = ParseIndex(await ReadBlobAsync(content, contents, descriptor.Digest, cancellationToken).ConfigureAwait(false), descriptor.Digest);
                chosen = nested.Manifests.FirstOrDefault(m => m.Platform is { Os: "linux", Architecture: "amd64" })
                    ?? (nested.Manifests.Count > 0 ? nested.Manifests[0] : null)
                    ?? throw EngineException.Invalid($"invalid archive: index {descriptor.Digest} lists no manifest");
            }

            OciManifest manifest;
            try
            {
                manifest = JsonSerializer.Deserialize(await ReadBlobAsync(content, contents, chosen.Digest, cancellationToken).ConfigureAwait(false), ImageJsonContext.Default.OciManifest)
                    ?? throw EngineException.Invalid($"invalid archive: manifest {chosen.Digest} is empty");
            }
            catch (JsonException e)
            {
                throw EngineException.Invalid($"invalid archive: manifest {chosen.Digest}: {e.Message}");
            }

            BlobDescriptor configBlob = contents.File("blobs/sha256/" + Digest.Parse(manifest.Config.Digest).Hex);
            IReadOnlyList<BlobDescriptor> layers = [.. manifest.Layers.Select(l => contents.File("blobs/sha256/" + Digest.Parse(l.Digest).Hex))];
            var tags = new List<ImageReference>();
            if (descriptor.Annotations is { } annotations)
            {
                string? name = annotations.GetValueOrDefault("io.containerd.image.name");
                if (name is null && annotations.GetValueOrDefault("org.opencontainers.image.ref.name") is { } refName && (refName.Contains('/', StringComparison.Ordinal) || refName.Contains(':', StringComparison.Ordinal)))
                {
                    name = refName;
                }

                if (name is not null && ImageReference.TryParse(name, out ImageReference? reference) && reference.Digest is null)
                {
                    tags.Add(reference);
                }
            }

            images.Add(await PlanImageAsync(content, configBlob, manifest, layers, tags, cancellationToken).ConfigureAwait(false));
        }

        return images;
    }

    private static OciIndex ParseIndex(byte[] bytes, string what)
    {
        try
        {
            return JsonSerializer.Deserialize(bytes, ImageJsonContext.Default.OciIndex) ?? throw EngineException.Invalid($"invalid archive: {what} is empty");
        }
        catch (JsonException e)
        {
            throw EngineException.Invalid($"invalid archive: {what}: {e.Message}");
        }
    }

    private static Task<byte[]> ReadBlobAsync(ContentStore content, ArchiveContents contents, string digest, CancellationToken cancellationToken)
    {
        BlobDescriptor blob = contents.File("blobs/sha256/" + Digest.Parse(digest).Hex);
        return blob.Size > MaxMetadataFile
            ? throw EngineException.Invalid($"invalid archive: {digest} is too large for a manifest")
            : content.ReadAllAsync(blob.Digest, cancellationToken);
    }

    /// <summary>Parses the config and checks every layer against its diff id.</summary>
    private static async Task<PendingImage> PlanImageAsync(ContentStore content, BlobDescriptor configBlob, OciManifest? source, IReadOnlyList<BlobDescriptor> layers, IReadOnlyList<ImageReference> tags, CancellationToken cancellationToken)
    {
        if (configBlob.Size > MaxMetadataFile)
        {
            throw EngineException.Invalid("invalid archive: the image config is too large");
        }

        byte[] configBytes = await content.ReadAllAsync(configBlob.Digest, cancellationToken).ConfigureAwait(false);
        OciImageConfig config;
        try
        {
            config = JsonSerializer.Deserialize(configBytes, ImageJsonContext.Default.OciImageConfig)
                ?? throw EngineException.Invalid("invalid archive: empty image config");
        }
        catch (JsonException e)
        {
            throw EngineException.Invalid($"invalid archive: image config {configBlob.Digest}: {e.Message}");
        }

        if (config.RootFs.DiffIds.Count != layers.Count)
        {
            throw EngineException.Invalid($"invalid archive: image {configBlob.Digest} has {layers.Count} layers but its config lists {config.RootFs.DiffIds.Count}");
        }

        var descriptors = new List<OciDescriptor>();
        for (int i = 0; i < layers.Count; i++)
        {
            Digest diffId = Digest.Parse(config.RootFs.DiffIds[i]);
            string mediaType;
            await using (Stream blob = content.OpenRead(layers[i].Digest))
            {
                mediaType = await LayerMediaTypeAsync(blob, cancellationToken).ConfigureAwait(false);
            }

            if (layers[i].Digest != diffId)
            {
                Digest actual;
                await using (Stream blob = content.OpenRead(layers[i].Digest))
                {
                    actual = await CopyDecompressedAsync(blob, Stream.Null, cancellationToken).ConfigureAwait(false);
                }

                if (actual != diffId)
                {
                    throw EngineException.Invalid($"invalid archive: layer {i + 1} of image {configBlob.Digest} is {actual}, but its config expects {diffId}");
                }
            }

            descriptors.Add(new OciDescriptor
            {
                MediaType = mediaType,
                Digest = layers[i].Digest.ToString(),
                Size = layers[i].Size,
            });
        }

        var manifest = new OciManifest
        {
            Config = new OciDescriptor { MediaType = source?.Config.MediaType ?? MediaTypes.OciConfig },
            Layers = descriptors,
        };
        return new PendingImage(configBytes, config, manifest, tags);
    }

    /// <summary>The OCI layer media type of a blob by its magic number: gzip, zstd or a plain tar.</summary>
    private static async Task<string> LayerMediaTypeAsync(Stream stream, CancellationToken cancellationToken)
    {
        byte[] magic = new byte[4];
        int read = await stream.ReadAtLeastAsync(magic, 4, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        return read >= 2 && magic[0] == 0x1f && magic[1] == 0x8b ? MediaTypes.OciLayerGzip
            : read == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd ? MediaTypes.OciLayerZstd
            : MediaTypes.OciLayer;
    }

    /// <summary>Copies the (possibly gzip-compressed) content to <paramref name="target"/> uncompressed; returns its digest.</summary>
    private static async Task<Digest> CopyDecompressedAsync(Stream source, Stream target, CancellationToken cancellationToken)
    {
        Stream plain = await LayerCompression.DecompressAsync(source, cancellationToken).ConfigureAwait(false);
        await using (plain.ConfigureAwait(false))
        {
            using var hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            byte[] buffer = new byte[1 << 16];
            int read;
            while ((read = await plain.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                hasher.AppendData(buffer, 0, read);
                await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }

            return Digest.FromSha256Hash(hasher.GetHashAndReset());
        }
    }

    /// <summary>A sink that only counts what is written to it.</summary>
    private sealed class CountingSink : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => Position;
        public override long Position { get; set; }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Position += count;

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Position += buffer.Length;
            return ValueTask.CompletedTask;
        }
    }
}
