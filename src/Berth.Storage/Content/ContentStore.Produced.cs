using Berth.Interop;
using Berth.Primitives;

namespace Berth.Storage.Content;

/// <summary>Blobs made on the fly (a build step's layer tar), written into the store as they are produced.</summary>
public sealed partial class ContentStore
{
    /// <summary>
    /// Stores what <paramref name="produce"/> writes, hashed on the way, without a temporary copy. With
    /// <paramref name="durable"/> false the blob is not fsynced: a build step's layer can be made again from the
    /// build cache's inputs, and a daemon that is killed (not the machine losing power) still finds every renamed blob
    /// whole, because the rename into place stays atomic and comes after the last write.
    /// </summary>
    public async Task<BlobDescriptor> WriteProducedAsync(Func<Stream, CancellationToken, Task> produce, bool durable, CancellationToken cancellationToken)
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
                if (durable)
                {
                    file.Flush(flushToDisk: true);
                }

                digest = sink.Digest();
                size = sink.Length;
            }

            Commit(temp, digest, durable);
            return new BlobDescriptor(digest, size);
        }
        finally
        {
            File.Delete(temp);
        }
    }
}
