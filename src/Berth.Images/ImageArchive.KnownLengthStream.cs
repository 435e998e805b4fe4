using Berth.Primitives;

namespace Berth.Images;

public static partial class ImageArchive
{
    /// <summary>
    /// A forward-only stream of a known length (a decompressed layer measured before): TarWriter reads the entry's
    /// size from Length, as it does for a file. Fewer bytes than promised is an error, never a short entry.
    /// </summary>
    private sealed class KnownLengthStream(Stream inner, long length) : ReadOnlyWrapperStream(inner)
    {
        private long _position;

        // Seekable in name only (Seek answers just "where am I"): TarWriter asks CanSeek before it trusts Length.
        public override bool CanSeek => true;

        public override long Length => length;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(Span<byte> buffer)
        {
            int read = Inner.Read(buffer[..(int)Math.Min(buffer.Length, length - _position)]);
            return Advance(read, buffer.Length);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int read = await Inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, length - _position)], cancellationToken).ConfigureAwait(false);
            return Advance(read, buffer.Length);
        }

        public override long Seek(long offset, SeekOrigin origin) =>
            origin == SeekOrigin.Current && offset == 0 ? _position : throw new NotSupportedException();

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
