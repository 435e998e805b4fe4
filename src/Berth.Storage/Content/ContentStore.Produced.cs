using Berth.Interop;
using Berth.Primitives;

namespace Berth.Storage.Content;

/// <summary>Blobs made on the fly (a build step's layer tar), written into the store as they are produced.</summary>
public sealed partial class ContentStore
{
    /// <summary>
    /// Stores what <paramref name="produce"/> writes, hashed on the way, without a temporary copy. As durable as
    /// <see cref="WriteAsync(Stream, Digest?, CancellationToken)"/>: fsynced before the rename into place and the
    /// directory after it, so an image recorded next never points at a blob that power loss truncated.
    /// </summary>
    public async Task<BlobDescriptor> WriteProducedAsync(Func<Stream, CancellationToken, Task> produce, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(produce);
        string temp = Path.Combine(_ingest, Ids.NewId());
        try
        {
            Digest digest;
            long size;
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            await using (var sink = new HashingWriteStream(file))
            {
                await produce(sink, cancellationToken).ConfigureAwait(false);
                await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);

                digest = sink.Digest();
                size = sink.Length;
            }

            Commit(temp, digest);
            return new BlobDescriptor(digest, size);
        }
        finally
        {
            File.Delete(temp);
        }
    }
}
