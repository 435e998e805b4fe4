using System.Buffers;
using System.Buffers.Binary;

namespace Berth.Api.Client;

/// <summary>The stream a frame of Docker's multiplexed stdio format belongs to.</summary>
public enum StdStreamKind : byte
{
    Stdin = 0,
    Stdout = 1,
    Stderr = 2,

    /// <summary>An error the daemon reports in the middle of the stream.</summary>
    SystemError = 3,
}

/// <summary>
/// Docker's multiplexed stdio format, used by attach, logs and exec without a TTY: each frame is an
/// 8-byte header <c>[stream, 0, 0, 0, length (uint32 big-endian)]</c> followed by <c>length</c> bytes.
/// </summary>
public static class StdStreamCodec
{
    public const int HeaderSize = 8;

    /// <summary>Writes the header of a frame of <paramref name="length"/> bytes into <paramref name="header"/>.</summary>
    public static void WriteHeader(Span<byte> header, StdStreamKind kind, int length)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(header.Length, HeaderSize);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        header[0] = (byte)kind;
        header[1] = 0;
        header[2] = 0;
        header[3] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], (uint)length);
    }

    /// <summary>Writes one frame (header and payload) to <paramref name="destination"/>.</summary>
    public static async ValueTask WriteFrameAsync(Stream destination, StdStreamKind kind, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        byte[] frame = ArrayPool<byte>.Shared.Rent(HeaderSize + payload.Length);
        try
        {
            WriteHeader(frame, kind, payload.Length);
            payload.Span.CopyTo(frame.AsSpan(HeaderSize));
            await destination.WriteAsync(frame.AsMemory(0, HeaderSize + payload.Length), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    /// <summary>
    /// Copies a multiplexed stream to <paramref name="stdout"/> and <paramref name="stderr"/> until it ends.
    /// Frames for stdin go to stdout (as Docker's stdcopy does). Like Docker, a stream that ends inside a
    /// frame is not an error: the partial frame is dropped. Payloads are forwarded in chunks as they arrive,
    /// and each destination is flushed at the end of every frame so interactive output shows at once.
    /// </summary>
    /// <returns>The number of payload bytes written.</returns>
    /// <exception cref="BerthProtocolException">A system-error frame or an unknown stream id.</exception>
    public static async Task<long> DemultiplexAsync(Stream source, Stream stdout, Stream stderr, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);

        byte[] header = new byte[HeaderSize];
        byte[] buffer = ArrayPool<byte>.Shared.Rent(32 * 1024);
        long written = 0;
        try
        {
            while (true)
            {
                int got = await source.ReadAtLeastAsync(header, HeaderSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                if (got < HeaderSize)
                {
                    return written;
                }

                var kind = (StdStreamKind)header[0];
                long length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
                Stream? destination = kind switch
                {
                    StdStreamKind.Stdin or StdStreamKind.Stdout => stdout,
                    StdStreamKind.Stderr => stderr,
                    StdStreamKind.SystemError => null,
                    _ => throw new BerthProtocolException($"Unrecognized input header: {header[0]}"),
                };

                if (destination is null)
                {
                    byte[] message = new byte[Math.Min(length, 64 * 1024)];
                    int read = await source.ReadAtLeastAsync(message, message.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                    throw new BerthProtocolException("error from daemon in stream: " + System.Text.Encoding.UTF8.GetString(message, 0, read));
                }

                while (length > 0)
                {
                    int chunk = (int)Math.Min(length, buffer.Length);
                    int read = await source.ReadAsync(buffer.AsMemory(0, chunk), cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        return written;
                    }

                    await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    written += read;
                    length -= read;
                }

                await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Copies a raw (TTY) stream to <paramref name="stdout"/>, flushing after every read.</summary>
    public static async Task<long> CopyRawAsync(Stream source, Stream stdout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(stdout);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(32 * 1024);
        long written = 0;
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await stdout.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
                written += read;
            }

            return written;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
