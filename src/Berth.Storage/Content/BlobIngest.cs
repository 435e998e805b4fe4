using System.Security.Cryptography;
using Berth.Primitives;

namespace Berth.Storage.Content;

/// <summary>
/// One partial download of a known digest (<see cref="ContentStore.OpenIngestAsync"/>), held exclusively: bytes are
/// appended and hashed as they come, <see cref="Restart"/> drops them when the source cannot resume, and
/// <see cref="CommitAsync"/> verifies the digest before the blob becomes visible. Disposing without a commit keeps
/// the partial for the next attempt (a later pull, or the next daemon after a crash).
/// </summary>
public sealed class BlobIngest : IAsyncDisposable
{
    private readonly ContentStore _store;
    private readonly string _path;
    private readonly FileStream _file;
    private readonly IncrementalHash _hash;
    private Action? _release;

    internal BlobIngest(ContentStore store, Digest expected, string path, FileStream file, IncrementalHash hash, Action release)
    {
        _store = store;
        _path = path;
        _file = file;
        _hash = hash;
        _release = release;
        Expected = expected;
        Length = file.Length;
        ResumedFrom = Length;
    }

    public Digest Expected { get; }

    /// <summary>Bytes received and hashed so far: where a resumed request starts (<c>Range: bytes=Length-</c>).</summary>
    public long Length { get; private set; }

    /// <summary>What the partial held when it was opened (left by an earlier pull or a killed daemon).</summary>
    public long ResumedFrom { get; }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        // The hash follows only what the file will hold: a failed write must not leave the two apart.
        await _file.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        _hash.AppendData(data.Span);
        Length += data.Length;
    }

    /// <summary>Back to nothing: the source sent the blob from its start (it ignored the range), or a different part.</summary>
    public void Restart()
    {
        _file.SetLength(0);
        _file.Position = 0;
        _hash.GetHashAndReset();
        Length = 0;
    }

    /// <summary>
    /// Makes the partial durable, checks it against <see cref="Expected"/> and moves it into the store. A mismatch
    /// deletes the partial (its bytes are wrong, so nothing can resume from them) and is an invalid-argument error.
    /// </summary>
    public async Task<BlobDescriptor> CommitAsync(CancellationToken cancellationToken)
    {
        await _file.FlushAsync(cancellationToken).ConfigureAwait(false);
        _file.Flush(flushToDisk: true);
        Digest got = Digest.FromSha256Hash(_hash.GetHashAndReset());
        if (got != Expected)
        {
            Discard();
            throw EngineException.Invalid($"digest mismatch: expected {Expected}, got {got}");
        }

        _store.CommitIngest(_path, got);
        return new BlobDescriptor(got, Length);
    }

    /// <summary>Deletes the partial: its bytes are not worth resuming from.</summary>
    public void Discard()
    {
        File.Delete(_path);
        Length = 0;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            // What was received survives a failed attempt: flushed so the next one (or a next daemon) sees it.
            await _file.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The disk failed the write: the partial is shorter, and the next opener rehashes what is there.
        }
        finally
        {
            await _file.DisposeAsync().ConfigureAwait(false);
            _hash.Dispose();
            Interlocked.Exchange(ref _release, null)?.Invoke();
        }
    }
}
