using System.Collections.Immutable;
using System.Text;
using System.Text.Json;
using Berth.Primitives;
using Berth.Storage.Content;
using Berth.Storage.Metadata;
using Berth.Storage.Snapshots;

namespace Berth.Images;

/// <summary>An image as readers see it: the record plus the references that point at it.</summary>
public sealed record ImageView(ImageRecord Record, ImmutableArray<ImageReference> Tags);

/// <summary>
/// Images: their configs and layers in the content store, their records and tags in metadata, their unpacked
/// layers in the snapshotter. Readers get an immutable snapshot (<see cref="Snapshot"/>) that writers replace
/// whole, so listing never waits on an import.
/// </summary>
public sealed partial class ImageStore : IDisposable
{
    private readonly ContentStore _content;
    private readonly MetadataStore _metadata;
    private readonly OverlaySnapshotter _snapshots;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly List<BlobLease> _leases = [];
    private ImmutableDictionary<string, ImageView> _images = ImmutableDictionary<string, ImageView>.Empty;

    public ImageStore(ContentStore content, MetadataStore metadata, OverlaySnapshotter snapshots)
    {
        _content = content;
        _metadata = metadata;
        _snapshots = snapshots;
        _snapshots.RemoveIncompleteLayers();
        Reload();
    }

    public ContentStore Content => _content;

    public void Dispose() => _writeLock.Dispose();

    public OverlaySnapshotter Snapshots => _snapshots;

    /// <summary>Every image, keyed by id.</summary>
    public ImmutableDictionary<string, ImageView> Snapshot => Volatile.Read(ref _images);

    /// <summary>Finds an image by reference, full id, <c>sha256:</c> id or unique id prefix; null when none.</summary>
    public ImageView? Find(string nameOrId)
    {
        ImmutableDictionary<string, ImageView> images = Snapshot;
        if (images.TryGetValue(nameOrId, out ImageView? byId) || images.TryGetValue("sha256:" + nameOrId, out byId))
        {
            return byId;
        }

        if (ImageReference.TryParse(nameOrId, out ImageReference? reference))
        {
            string key = reference.ToString();
            // NAME@DIGEST also names the image a registry knows by that manifest digest (its RepoDigests).
            string? repoDigest = reference.Digest is null ? null : $"{reference.FamiliarName}@{reference.Digest}";
            foreach (ImageView view in images.Values)
            {
                if (view.Tags.Any(t => t.ToString() == key) || (repoDigest is not null && view.Record.RepoDigests.Contains(repoDigest, StringComparer.Ordinal)))
                {
                    return view;
                }
            }
        }

        string prefix = nameOrId.StartsWith("sha256:", StringComparison.Ordinal) ? nameOrId["sha256:".Length..] : nameOrId;
        if (Ids.IsHexPrefix(prefix))
        {
            ImageView[] matches = [.. images.Values.Where(v => v.Record.Id["sha256:".Length..].StartsWith(prefix, StringComparison.Ordinal))];
            if (matches.Length == 1)
            {
                return matches[0];
            }
        }

        return null;
    }

    /// <summary>Like <see cref="Find"/>, or Docker's 404.</summary>
    public ImageView Get(string nameOrId) =>
        Find(nameOrId) ?? throw EngineException.NotFound($"No such image: {Familiar(nameOrId)}");

    /// <summary>The layer directories of an image, top layer first (overlay's lowerdir order).</summary>
    public IReadOnlyList<Digest> LowerChain(ImageRecord image) =>
        [.. image.ChainIds.Select(Digest.Parse).Reverse()];

    /// <summary>
    /// Stores a new image from its config and uncompressed-or-gzip layer blobs already in the content store,
    /// unpacking each layer not yet unpacked, then records it and points <paramref name="references"/> at it.
    /// </summary>
    public async Task<ImageRecord> CommitAsync(OciImageConfig config, OciManifest manifest, IEnumerable<ImageReference> references, CancellationToken cancellationToken)
    {
        byte[] configBytes = JsonSerializer.SerializeToUtf8Bytes(config, ImageJsonContext.Default.OciImageConfig);
        return await CommitAsync(configBytes, config, manifest, references, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Like <see cref="CommitAsync(OciImageConfig, OciManifest, IEnumerable{ImageReference}, CancellationToken)"/> with the
    /// config's exact bytes (their digest is the image id, so a loaded image keeps the id it had elsewhere).
    /// </summary>
    public async Task<ImageRecord> CommitAsync(byte[] configBytes, OciImageConfig config, OciManifest manifest, IEnumerable<ImageReference> references, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(configBytes);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(manifest);
        if (manifest.Layers.Count != config.RootFs.DiffIds.Count)
        {
            throw EngineException.Invalid($"invalid image: {manifest.Layers.Count} layers but {config.RootFs.DiffIds.Count} diff ids");
        }

        using BlobLease lease = Lease();
        BlobDescriptor configBlob = await _content.WriteAsync(configBytes, cancellationToken).ConfigureAwait(false);
        lease.Add(configBlob.Digest);
        string configType = manifest.Config.MediaType is MediaTypes.DockerConfig ? MediaTypes.DockerConfig : MediaTypes.OciConfig;
        manifest = manifest with { Config = new OciDescriptor { MediaType = configType, Digest = configBlob.Digest.ToString(), Size = configBlob.Size } };
        byte[] manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest, ImageJsonContext.Default.OciManifest);
        BlobDescriptor manifestBlob = await _content.WriteAsync(manifestBytes, cancellationToken).ConfigureAwait(false);
        lease.Add(manifestBlob.Digest);

        // Layers are unpacked before the write lock is taken, each into its own staging directory: a big layer takes
        // seconds, and tag, rmi and other commits must not wait behind it. Under the lock each one is committed, or
        // dropped when another commit got there first (or unpacked there after all, if a collection removed it since).
        var staged = new Dictionary<int, (string Directory, long Size)>();
        try
        {
            var missing = new List<(int Index, Digest ChainId)>();
            Digest? stagingParent = null;
            for (int i = 0; i < manifest.Layers.Count; i++)
            {
                Digest chainId = NextChainId(stagingParent, config.RootFs.DiffIds[i]);
                if (_metadata.GetLayer(chainId.ToString()) is null || !_snapshots.LayerExists(chainId))
                {
                    missing.Add((i, chainId));
                }

                stagingParent = chainId;
            }

            // Each layer unpacks into a directory of its own, so they unpack side by side (bounded): decompressing
            // is most of a pull's or load's time, and one layer at a time leaves a core idle.
            using var gate = new SemaphoreSlim(Math.Max(2, Environment.ProcessorCount));
            await Task.WhenAll(missing.Select(async layer =>
            {
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    (string Directory, long Size) unpacked = await UnpackAsync(layer.ChainId, manifest.Layers[layer.Index], cancellationToken).ConfigureAwait(false);
                    lock (staged)
                    {
                        staged[layer.Index] = unpacked;
                    }
                }
                finally
                {
                    gate.Release();
                }
            })).ConfigureAwait(false);

            if (staged.Count > 0)
            {
                _snapshots.SyncStagedLayers(); // outside the lock too: on a busy disk it can take a while
            }

            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var chainIds = new List<string>();
                long size = 0;
                Digest? parent = null;
                for (int i = 0; i < manifest.Layers.Count; i++)
                {
                    Digest diffId = Digest.Parse(config.RootFs.DiffIds[i]);
                    Digest chainId = NextChainId(parent, config.RootFs.DiffIds[i]);
                    string? existing = _metadata.GetLayer(chainId.ToString());
                    if (existing is null || !_snapshots.LayerExists(chainId))
                    {
                        (string staging, long layerSize) = staged.TryGetValue(i, out var ready)
                            ? ready
                            : await UnpackDurablyAsync(chainId, manifest.Layers[i], cancellationToken).ConfigureAwait(false);
                        _snapshots.CommitLayer(chainId, staging);
                        var layer = new LayerRecord { ChainId = chainId.ToString(), DiffId = diffId.ToString(), Parent = parent?.ToString(), Size = layerSize };
                        _metadata.PutLayer(chainId.ToString(), JsonSerializer.Serialize(layer, ImageJsonContext.Default.LayerRecord));
                        size += layerSize;
                    }
                    else
                    {
                        size += JsonSerializer.Deserialize(existing, ImageJsonContext.Default.LayerRecord)!.Size;
                    }

                    chainIds.Add(chainId.ToString());
                    parent = chainId;
                }

                var record = new ImageRecord
                {
                    Id = configBlob.Digest.ToString(),
                    ManifestDigest = manifestBlob.Digest.ToString(),
                    Config = config,
                    ChainIds = chainIds,
                    Size = size,
                    LastTagTime = DateTimeOffset.UtcNow,
                };
                _metadata.PutImage(record.Id, JsonSerializer.Serialize(record, ImageJsonContext.Default.ImageRecord), references.Select(r => r.ToString()));
                Reload();
                return record;
            }
            finally
            {
                _writeLock.Release();
            }
        }
        finally
        {
            // Staging directories not committed (another commit won, or an error): gone, so nothing half-made lingers.
            foreach ((string directory, _) in staged.Values.Where(s => Directory.Exists(s.Directory)))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    private static Digest NextChainId(Digest? parent, string diffIdText)
    {
        Digest diffId = Digest.Parse(diffIdText);
        return parent is null ? diffId : ChainId(parent.Value, diffId);
    }

    /// <summary>Unpacks one layer blob into a fresh staging directory of <paramref name="chainId"/>; returns it and the unpacked size.</summary>
    private async Task<(string Directory, long Size)> UnpackAsync(Digest chainId, OciDescriptor layer, CancellationToken cancellationToken)
    {
        string staging = _snapshots.PrepareLayer(chainId);
        try
        {
            await using Stream blob = _content.OpenRead(Digest.Parse(layer.Digest));
            return (staging, await LayerApplier.ApplyAsync(blob, staging, cancellationToken).ConfigureAwait(false));
        }
        catch
        {
            Directory.Delete(staging, recursive: true);
            throw;
        }
    }

    /// <summary>Unpacks a layer found missing under the lock (a collection removed it since it was staged) and syncs it.</summary>
    private async Task<(string Directory, long Size)> UnpackDurablyAsync(Digest chainId, OciDescriptor layer, CancellationToken cancellationToken)
    {
        (string Directory, long Size) unpacked = await UnpackAsync(chainId, layer, cancellationToken).ConfigureAwait(false);
        _snapshots.SyncStagedLayers();
        return unpacked;
    }

    /// <summary>Points <paramref name="reference"/> at an image (moving it from any other image) and stamps LastTagTime.</summary>
    public async Task TagAsync(ImageReference reference, string imageId, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ImageView view = Snapshot.GetValueOrDefault(imageId) ?? throw EngineException.NotFound($"No such image: {imageId}");
            ImageRecord record = view.Record with { LastTagTime = DateTimeOffset.UtcNow };
            _metadata.PutImage(record.Id, JsonSerializer.Serialize(record, ImageJsonContext.Default.ImageRecord), [reference.ToString()]);
            Reload();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Records <c>NAME@DIGEST</c> (the manifest digest a registry knows the image by, after a pull or push) in the
    /// image's RepoDigests, replacing an older digest of the same repository.
    /// </summary>
    public async Task AddRepoDigestAsync(string imageId, string repoDigest, CancellationToken cancellationToken)
    {
        string name = repoDigest[..repoDigest.IndexOf('@', StringComparison.Ordinal)];
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ImageView view = Snapshot.GetValueOrDefault(imageId) ?? throw EngineException.NotFound($"No such image: {imageId}");
            ImageRecord record = view.Record with
            {
                RepoDigests = [.. view.Record.RepoDigests.Where(d => !d.StartsWith(name + "@", StringComparison.Ordinal)), repoDigest],
            };
            _metadata.PutImage(record.Id, JsonSerializer.Serialize(record, ImageJsonContext.Default.ImageRecord), []);
            Reload();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>The recorded (uncompressed) size of an unpacked layer; 0 when it is unknown.</summary>
    public long LayerSize(string chainId) =>
        _metadata.GetLayer(chainId) is { } doc ? JsonSerializer.Deserialize(doc, ImageJsonContext.Default.LayerRecord)!.Size : 0;

    /// <summary>Removes a reference; returns the image id it pointed at.</summary>
    public async Task<bool> UntagAsync(ImageReference reference, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            bool removed = _metadata.Untag(reference.ToString());
            Reload();
            return removed;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Deletes an image record, its tags, and its config and manifest blobs (layers stay until GC).</summary>
    public async Task DeleteAsync(ImageRecord image, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _metadata.DeleteImage(image.Id);
            Reload();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Protects blobs written before the image that references them is committed: garbage collection skips every
    /// digest held by a live lease, and every blob written since the oldest live lease began. Dispose the lease once the image is committed (or abandoned).
    /// </summary>
    public BlobLease Lease()
    {
        var lease = new BlobLease(Release);
        lock (_leases)
        {
            _leases.Add(lease);
        }

        return lease;
    }

    private void Release(BlobLease lease)
    {
        lock (_leases)
        {
            _leases.Remove(lease);
        }
    }

    /// <summary>Whether a lease holds <paramref name="blob"/>, or it was written (or found again) since a live lease began: an import may be about to reference it.</summary>
    private bool IsLeased(Digest blob, FileInfo file)
    {
        (HashSet<Digest> leased, DateTime? since) = LeasedDigests();
        return leased.Contains(blob) || (since is { } start && file.LastWriteTimeUtc >= start);
    }

    private (HashSet<Digest> Digests, DateTime? Since) LeasedDigests()
    {
        lock (_leases)
        {
            return ([.. _leases.SelectMany(l => l.Digests)], _leases.Count == 0 ? null : _leases.Min(l => l.Created));
        }
    }

    /// <summary>The blobs an image needs: its config, its manifest and the manifest's layers.</summary>
    public IEnumerable<Digest> BlobsOf(ImageRecord image)
    {
        yield return Digest.Parse(image.Id);
        if (image.ManifestDigest is null)
        {
            yield break;
        }

        Digest manifestDigest = Digest.Parse(image.ManifestDigest);
        yield return manifestDigest;
        if (!_content.Exists(manifestDigest))
        {
            yield break;
        }

        OciManifest? manifest;
        using (Stream stream = _content.OpenRead(manifestDigest))
        {
            manifest = JsonSerializer.Deserialize(stream, ImageJsonContext.Default.OciManifest);
        }

        foreach (OciDescriptor layer in manifest?.Layers ?? [])
        {
            yield return Digest.Parse(layer.Digest);
        }
    }

    /// <summary>
    /// Removes unpacked layers no image's chain uses and blobs no image (nor a live lease) references; returns the bytes
    /// reclaimed (unpacked layer sizes plus blob file sizes). Layers shared with remaining images stay.
    /// </summary>
    public async Task<long> CollectGarbageAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ImmutableDictionary<string, ImageView> images = Snapshot;
            var usedLayers = new HashSet<string>(images.Values.SelectMany(v => v.Record.ChainIds), StringComparer.Ordinal);
            var usedBlobs = new HashSet<Digest>(images.Values.SelectMany(v => BlobsOf(v.Record)));
            long reclaimed = 0;
            foreach (string chainId in _metadata.ListLayers())
            {
                if (usedLayers.Contains(chainId))
                {
                    continue;
                }

                reclaimed += LayerSize(chainId);
                // The record goes first: a crash in between leaves a directory the next collection cannot see, never a record without its files.
                _metadata.DeleteLayer(chainId);
                _snapshots.RemoveLayer(Digest.Parse(chainId));
            }

            foreach (Digest blob in _content.List().ToList())
            {
                if (usedBlobs.Contains(blob))
                {
                    continue;
                }

                long length = 0;
                // Leases are asked again at the moment of deletion: one may have begun since this collection did.
                if (_content.DeleteUnless(blob, info => { length = info.Length; return IsLeased(blob, info); }))
                {
                    reclaimed += length;
                }
            }

            reclaimed += _content.RemoveStalePartials(ContentStore.StalePartialAge);

            return reclaimed;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Deletes the blobs of <paramref name="lease"/> that no image references and no other lease holds, then ends the
    /// lease: what an import wrote but did not commit (all of it after a failure) does not linger.
    /// </summary>
    public async Task DiscardUnreferencedAsync(BlobLease lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Release(lease);
            var keep = new HashSet<Digest>(Snapshot.Values.SelectMany(v => BlobsOf(v.Record)));
            keep.UnionWith(LeasedDigests().Digests);
            foreach (Digest digest in lease.Digests)
            {
                if (!keep.Contains(digest))
                {
                    _content.Delete(digest);
                }
            }
        }
        finally
        {
            lease.Dispose();
            _writeLock.Release();
        }
    }

    public static Digest ChainId(Digest parent, Digest diffId) =>
        Digest.Sha256Of(Encoding.ASCII.GetBytes($"{parent} {diffId}"));

    public static string Familiar(string nameOrId) =>
        ImageReference.TryParse(nameOrId, out ImageReference? r) && !nameOrId.StartsWith("sha256:", StringComparison.Ordinal) && !IsLikelyId(nameOrId)
            ? r.FamiliarString
            : nameOrId;

    private static bool IsLikelyId(string text) => text.Length == 64 && Ids.IsHexPrefix(text);

    private void Reload()
    {
        var tags = _metadata.ListTags().ToLookup(t => t.ImageId, t => ImageReference.Parse(t.Reference));
        var builder = ImmutableDictionary.CreateBuilder<string, ImageView>();
        foreach ((string id, string doc) in _metadata.ListImages())
        {
            ImageRecord record = JsonSerializer.Deserialize(doc, ImageJsonContext.Default.ImageRecord)!;
            builder[id] = new ImageView(record, [.. tags[id]]);
        }

        Volatile.Write(ref _images, builder.ToImmutable());
    }

}

/// <summary>Digests that garbage collection must keep while an import is under way (see <see cref="ImageStore.Lease"/>).</summary>
public sealed class BlobLease : IDisposable
{
    private readonly HashSet<Digest> _digests = [];
    private Action<BlobLease>? _release;

    internal BlobLease(Action<BlobLease> release) => _release = release;

    /// <summary>When the lease began (less a second of file-time slack): blobs written since are kept too.</summary>
    internal DateTime Created { get; } = DateTime.UtcNow.AddSeconds(-1);

    internal IReadOnlyCollection<Digest> Digests
    {
        get
        {
            lock (_digests)
            {
                return [.. _digests];
            }
        }
    }

    public void Add(Digest digest)
    {
        lock (_digests)
        {
            _digests.Add(digest);
        }
    }

    public void Dispose() => Interlocked.Exchange(ref _release, null)?.Invoke(this);
}
