using System.Security.Cryptography;
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
            await using (var sink = new HashingSink(file))
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

    /// <summary>A write-only pass-through to the ingest file that hashes (SHA-256) and counts what goes through.</summary>
    private sealed class HashingSink(FileStream file) : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long _length;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _length;

        public override long Position
        {
            get => _length;
            set => throw new NotSupportedException();
        }

        public Digest Digest() => Primitives.Digest.FromSha256Hash(_hash.GetHashAndReset());

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _hash.AppendData(buffer);
            _length += buffer.Length;
            file.Write(buffer);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _hash.AppendData(buffer.Span);
            _length += buffer.Length;
            await file.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() => file.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => file.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _hash.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
