using System.IO.Compression;
using Berth.Primitives;
using Berth.Storage.Content;

namespace Berth.Images;

/// <summary>
/// Turns a tar producer into a gzip layer blob in the content store, hashing the uncompressed tar on the way (its
/// digest is the layer's diff id), so a layer of any size is written once and never held in memory.
/// </summary>
public static class LayerWriter
{
    public sealed record WrittenLayer(OciDescriptor Descriptor, Digest DiffId, long UncompressedSize);

    /// <summary>Writes the tar that <paramref name="writeTar"/> produces; the caller holds <paramref name="lease"/> until the image is committed.</summary>
    public static Task<WrittenLayer> WriteAsync(ImageStore images, BlobLease lease, Func<Stream, CancellationToken, Task> writeTar, CancellationToken cancellationToken) =>
        WriteAsync(images, lease, writeTar, compress: true, cancellationToken);

    /// <summary>
    /// As above; <paramref name="compress"/> false stores the plain tar (<c>application/vnd.oci.image.layer.v1.tar</c>),
    /// as Docker's builder keeps its layers: a build step's layer is read back at once and may never leave the host,
    /// so gzip would cost time twice (compress, then decompress to unpack) for nothing. A plain tar's digest is its
    /// diff id, so it is written straight into the content store in one hashed pass, as durably as any other blob (see
    /// <see cref="Storage.Content.ContentStore.WriteProducedAsync"/>): build steps are what make plain layers.
    /// </summary>
    public static async Task<WrittenLayer> WriteAsync(ImageStore images, BlobLease lease, Func<Stream, CancellationToken, Task> writeTar, bool compress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(writeTar);
        if (!compress)
        {
            // The lease began before the write, so a collection meanwhile keeps the blob (written since the lease began).
            BlobDescriptor plain = await images.Content.WriteProducedAsync(writeTar, cancellationToken).ConfigureAwait(false);
            lease.Add(plain.Digest);
            return new WrittenLayer(new OciDescriptor { MediaType = MediaTypes.OciLayer, Digest = plain.Digest.ToString(), Size = plain.Size }, plain.Digest, plain.Size);
        }

        string temp = Path.Combine(Path.GetTempPath(), "berth-layer-" + Guid.NewGuid().ToString("N"));
        try
        {
            Digest diffId;
            long size;
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                // Level 2, not Fastest: zlib-ng's level 1 (deflate_quick) always writes Huffman blocks, which makes
                // incompressible data (random bytes, media, already compressed files) 5% bigger and slow to inflate on
                // every pull; from level 2 on, deflate falls back to stored blocks, at nearly the same speed.
                Stream sink = compress ? new GZipStream(file, new ZLibCompressionOptions { CompressionLevel = 2 }, leaveOpen: true) : new NonClosingStream(file);
                await using (sink)
                await using (var hashing = new HashingWriteStream(sink))
                {
                    await writeTar(hashing, cancellationToken).ConfigureAwait(false);
                    diffId = hashing.Digest();
                    size = hashing.Length;
                }

                file.Position = 0;
                BlobDescriptor blob = await images.Content.WriteAsync(file, expected: null, cancellationToken).ConfigureAwait(false);
                lease.Add(blob.Digest);
                return new WrittenLayer(new OciDescriptor { MediaType = compress ? MediaTypes.OciLayerGzip : MediaTypes.OciLayer, Digest = blob.Digest.ToString(), Size = blob.Size }, diffId, size);
            }
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Copies a (plain, gzip or zstd) tar stream into a layer blob: <c>import</c>.</summary>
    public static Task<WrittenLayer> ImportAsync(ImageStore images, BlobLease lease, Stream archive, CancellationToken cancellationToken) =>
        WriteAsync(images, lease, async (output, ct) =>
        {
            Stream plain = await LayerCompression.DecompressAsync(archive, ct).ConfigureAwait(false);
            await using (plain.ConfigureAwait(false))
            {
                await plain.CopyToAsync(output, ct).ConfigureAwait(false);
            }
        }, cancellationToken);

    /// <summary>A pass-through whose disposal leaves the file open (the plain-tar twin of GZipStream's leaveOpen).</summary>
    private sealed class NonClosingStream(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.WriteAsync(buffer, offset, count, cancellationToken);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);
    }
}
