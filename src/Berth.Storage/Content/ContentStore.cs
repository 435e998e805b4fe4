using System.Security.Cryptography;
using Berth.Interop;
using Berth.Primitives;

namespace Berth.Storage.Content;

/// <summary>What was committed: a digest and a size.</summary>
public readonly record struct BlobDescriptor(Digest Digest, long Size);

/// <summary>
/// Blobs addressed by digest under <c>ROOT/blobs/sha256/HEX</c>. Committed blobs are immutable:
/// every write goes to <c>ROOT/ingest</c>, is hashed while written, fsynced, verified, renamed
/// into place and the directory fsynced, so a crash leaves either the whole blob or nothing.
/// </summary>
public sealed partial class ContentStore
{
    private readonly string _blobs;
    private readonly string _ingest;

    // Orders a commit of a blob against garbage collection deleting it (see Commit).
    private readonly Lock _commitLock = new();

    public ContentStore(string root)
    {
        _blobs = Path.Combine(root, "blobs", "sha256");
        _ingest = Path.Combine(root, "ingest");
        Directory.CreateDirectory(_blobs);
        Directory.CreateDirectory(_ingest);
        // A crash mid-ingest leaves temp files that nothing references (partial downloads are kept to resume).
        CleanIngestArea();
    }

    public string PathOf(Digest digest) =>
        digest.Algorithm == "sha256" ? Path.Combine(_blobs, digest.Hex) : throw EngineException.Invalid($"unsupported digest algorithm {digest.Algorithm}");

    public bool Exists(Digest digest) => File.Exists(PathOf(digest));

    public Stream OpenRead(Digest digest)
    {
        string path = PathOf(digest);
        return File.Exists(path)
            ? new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan)
            : throw EngineException.NotFound($"content {digest} not found");
    }

    public async Task<byte[]> ReadAllAsync(Digest digest, CancellationToken cancellationToken)
    {
        await using Stream stream = OpenRead(digest);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer.ToArray();
    }

    public Task<BlobDescriptor> WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        WriteAsync(new MemoryStream(data.ToArray(), writable: false), expected: null, cancellationToken);

    /// <summary>Copies <paramref name="source"/> into the store; when <paramref name="expected"/> is given the content must match it.</summary>
    public async Task<BlobDescriptor> WriteAsync(Stream source, Digest? expected, CancellationToken cancellationToken)
    {
        string temp = Path.Combine(_ingest, Ids.NewId());
        try
        {
            long size = 0;
            byte[] hash;
            using (var hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                await using (var target = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
                {
                    byte[] buffer = new byte[1 << 16];
                    int read;
                    while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        hasher.AppendData(buffer, 0, read);
                        await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                        size += read;
                    }

                    await target.FlushAsync(cancellationToken).ConfigureAwait(false);
                    target.Flush(flushToDisk: true);
                }

                hash = hasher.GetHashAndReset();
            }

            Digest digest = Digest.FromSha256Hash(hash);
            if (expected is { } want && want != digest)
            {
                throw EngineException.Invalid($"digest mismatch: expected {want}, got {digest}");
            }

            Commit(temp, digest);
            return new BlobDescriptor(digest, size);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    public void Delete(Digest digest) => File.Delete(PathOf(digest));

    /// <summary>
    /// Deletes a blob unless <paramref name="keep"/> (asked with the blob's file, under the commit lock) says it is
    /// still wanted: garbage collection's delete, which a concurrent write of the same content must not lose.
    /// </summary>
    public bool DeleteUnless(Digest digest, Func<FileInfo, bool> keep)
    {
        ArgumentNullException.ThrowIfNull(keep);
        lock (_commitLock)
        {
            var info = new FileInfo(PathOf(digest));
            if (!info.Exists || keep(info))
            {
                return false;
            }

            info.Delete();
            return true;
        }
    }

    /// <summary>
    /// Puts a written and verified ingest file in place as <paramref name="digest"/>. When the blob is there already
    /// its time is refreshed instead: garbage collection keeps blobs written since a lease began, and under the same
    /// lock as <see cref="DeleteUnless"/> either the collection deletes first (and the file is moved in) or it sees a
    /// fresh blob, never a blob it is about to delete that a writer was told exists.
    /// </summary>
    private void Commit(string temp, Digest digest)
    {
        string final = PathOf(digest);
        lock (_commitLock)
        {
            if (File.Exists(final))
            {
                File.SetLastWriteTimeUtc(final, DateTime.UtcNow);
                return;
            }

            File.Move(temp, final);
        }

        FileSync.Directory(_blobs);
    }

    public IEnumerable<Digest> List() =>
        Directory.EnumerateFiles(_blobs).Select(p => Digest.Parse("sha256:" + Path.GetFileName(p)));
}
