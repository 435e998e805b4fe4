using System.Security.Cryptography;
using Berth.Primitives;

namespace Berth.Storage.Content;

/// <summary>
/// Resumable ingests: a download of a known digest goes to <c>ingest/sha256-HEX.partial</c>, a name derived from the
/// digest, so that what a killed daemon had already received is found again by the next pull of the same blob. The
/// partial is never a committed blob: only <see cref="BlobIngest.CommitAsync"/> moves it into place, after its digest
/// has been verified.
/// </summary>
public sealed partial class ContentStore
{
    private const string PartialSuffix = ".partial";

    /// <summary>Partials untouched for longer than this are abandoned downloads: start-up and collection remove them.</summary>
    public static readonly TimeSpan StalePartialAge = TimeSpan.FromDays(1);

    // One writer per digest in this process; the partial's flock (FileShare.None) keeps out any other process.
    private readonly Dictionary<Digest, (SemaphoreSlim Gate, int Users)> _ingestGates = [];

    /// <summary>
    /// Opens the partial download of <paramref name="expected"/>, waiting while another pull of this process writes
    /// it, and hashes what is already there. Null when the blob is committed by the time the wait ends (the other pull
    /// finished it). Dispose the ingest to release it; an uncommitted partial stays for a later resume.
    /// </summary>
    public async Task<BlobIngest?> OpenIngestAsync(Digest expected, CancellationToken cancellationToken)
    {
        string path = PartialPathOf(expected);
        SemaphoreSlim gate = AcquireGate(expected);
        bool handedOver = false;
        try
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (Exists(expected))
                {
                    return null;
                }

                FileStream file = await OpenPartialAsync(path, cancellationToken).ConfigureAwait(false);
                var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                try
                {
                    // The hasher's state died with whoever wrote this: rehash the bytes already received.
                    byte[] buffer = new byte[1 << 16];
                    int read;
                    while ((read = await file.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        hash.AppendData(buffer, 0, read);
                    }

                    var ingest = new BlobIngest(this, expected, path, file, hash, () => ReleaseGate(expected, gate, entered: true));
                    handedOver = true;
                    return ingest;
                }
                finally
                {
                    if (!handedOver)
                    {
                        hash.Dispose();
                        await file.DisposeAsync().ConfigureAwait(false);
                    }
                }
            }
            finally
            {
                if (!handedOver)
                {
                    gate.Release();
                }
            }
        }
        finally
        {
            if (!handedOver)
            {
                ReleaseGate(expected, gate, entered: false);
            }
        }
    }

    /// <summary>
    /// Removes partial downloads last written more than <paramref name="olderThan"/> ago; one that is open (being
    /// resumed, so flocked) is left alone. Returns the bytes removed.
    /// </summary>
    public long RemoveStalePartials(TimeSpan olderThan)
    {
        long removed = 0;
        DateTime cutoff = DateTime.UtcNow - olderThan;
        foreach (string path in Directory.EnumerateFiles(_ingest, "*" + PartialSuffix))
        {
            try
            {
                using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
                if (File.GetLastWriteTimeUtc(path) >= cutoff)
                {
                    continue;
                }

                removed += file.Length;
                File.Delete(path);
            }
            catch (IOException)
            {
                // Held by a download in progress (or gone already): not stale.
            }
        }

        return removed;
    }

    /// <summary>The partial downloads now in the ingest area (what a finished or failed pull must not leave behind).</summary>
    public IEnumerable<string> ListPartials() => Directory.EnumerateFiles(_ingest, "*" + PartialSuffix).Select(Path.GetFileName).OfType<string>();

    private string PartialPathOf(Digest digest) =>
        digest.Algorithm == "sha256" ? Path.Combine(_ingest, $"sha256-{digest.Hex}{PartialSuffix}") : throw EngineException.Invalid($"unsupported digest algorithm {digest.Algorithm}");

    /// <summary>Start-up: temporary files of writes a crash interrupted go; partial downloads stay unless stale.</summary>
    private void CleanIngestArea()
    {
        foreach (string stale in Directory.EnumerateFiles(_ingest).Where(p => !p.EndsWith(PartialSuffix, StringComparison.Ordinal)))
        {
            File.Delete(stale);
        }

        RemoveStalePartials(StalePartialAge);
    }

    /// <summary>
    /// The partial, flocked exclusively. Only another process can hold it here (this one's gate is taken), so wait a
    /// bounded while for it rather than write beside it.
    /// </summary>
    private static async Task<FileStream> OpenPartialAsync(string path, CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            }
            catch (IOException) when (attempt < 300)
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw EngineException.Conflict($"the download of {Path.GetFileName(path)} is held by another process: {e.Message}");
            }
        }
    }

    private SemaphoreSlim AcquireGate(Digest digest)
    {
        lock (_ingestGates)
        {
            (SemaphoreSlim gate, int users) = _ingestGates.TryGetValue(digest, out var entry) ? entry : (new SemaphoreSlim(1, 1), 0);
            _ingestGates[digest] = (gate, users + 1);
            return gate;
        }
    }

    private void ReleaseGate(Digest digest, SemaphoreSlim gate, bool entered)
    {
        if (entered)
        {
            gate.Release();
        }

        lock (_ingestGates)
        {
            (SemaphoreSlim current, int users) = _ingestGates[digest];
            if (users == 1)
            {
                _ingestGates.Remove(digest);
                current.Dispose();
            }
            else
            {
                _ingestGates[digest] = (current, users - 1);
            }
        }
    }

    /// <summary>Moves a verified partial into place (see <see cref="Commit"/>); a copy already there wins.</summary>
    internal void CommitIngest(string path, Digest digest)
    {
        Commit(path, digest);
        File.Delete(path);
    }
}
