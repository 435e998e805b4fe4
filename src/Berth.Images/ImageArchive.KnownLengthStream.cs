using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text.Json;
using Berth.Primitives;
using Berth.Storage.Content;

namespace Berth.Images;

public static partial class ImageArchive
{
    /// <summary>
    /// A forward-only stream of a known length (a decompressed layer measured before): TarWriter reads the entry's
    /// size from Length, as it does for a file. Fewer bytes than promised is an error, never a short entry.
    /// </summary>
    private sealed class KnownLengthStream(Stream inner, long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => length;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int read = inner.Read(buffer[..(int)Math.Min(buffer.Length, length - _position)]);
            return Advance(read, buffer.Length);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int read = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, length - _position)], cancellationToken).ConfigureAwait(false);
            return Advance(read, buffer.Length);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override long Seek(long offset, SeekOrigin origin) =>
            origin == SeekOrigin.Current && offset == 0 ? _position : throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Advance(int read, int asked)
        {
            if (read == 0 && asked > 0 && _position < length)
            {
                throw new EngineException(ErrorKind.Internal, $"layer changed while it was saved: {_position} of {length} bytes");
            }

            _position += read;
            return read;
        }
    }
}
