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
    /// frame is not an error: the partial frame is dropped.
    /// </summary>
    /// <remarks>
    /// Output is batched per read of the source, not per frame: every log line is its own frame, so writing and
    /// flushing each one costs a system call per line (1M of them for 100 MB of 101-byte lines). Payloads collect
    /// in one buffer and go out when the destination changes (so stdout and stderr keep their order), when the
    /// buffer is full, and before every read of the source that the bytes in hand cannot satisfy, so interactive
    /// output still shows as soon as it arrives.
    /// </remarks>
    /// <returns>The number of payload bytes written.</returns>
    /// <exception cref="BerthProtocolException">A system-error frame or an unknown stream id.</exception>
    public static async Task<long> DemultiplexAsync(Stream source, Stream stdout, Stream stderr, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);

        const int BufferSize = 64 * 1024;
        byte[] input = ArrayPool<byte>.Shared.Rent(BufferSize);
        byte[] output = ArrayPool<byte>.Shared.Rent(BufferSize);
        int start = 0;
        int end = 0;
        int pending = 0;
        Stream? pendingTo = null;
        long frameLeft = 0;
        Stream? frameTo = null;
        long written = 0;

        async ValueTask FlushPendingAsync()
        {
            if (pendingTo is not null && pending > 0)
            {
                await pendingTo.WriteAsync(output.AsMemory(0, pending), cancellationToken).ConfigureAwait(false);
                await pendingTo.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            pending = 0;
            pendingTo = null;
        }

        // Reads more of the source behind the unread bytes (moved to the front); false at the end of the stream.
        async ValueTask<bool> FillAsync()
        {
            await FlushPendingAsync().ConfigureAwait(false);
            if (start > 0)
            {
                input.AsSpan(start, end - start).CopyTo(input);
                end -= start;
                start = 0;
            }

            int read = await source.ReadAsync(input.AsMemory(end, BufferSize - end), cancellationToken).ConfigureAwait(false);
            end += read;
            return read > 0;
        }

        try
        {
            while (true)
            {
                if (frameLeft == 0)
                {
                    while (end - start < HeaderSize)
                    {
                        if (!await FillAsync().ConfigureAwait(false))
                        {
                            return written;
                        }
                    }

                    byte kind = input[start];
                    frameLeft = BinaryPrimitives.ReadUInt32BigEndian(input.AsSpan(start + 4, 4));
                    start += HeaderSize;
                    frameTo = (StdStreamKind)kind switch
                    {
                        StdStreamKind.Stdin or StdStreamKind.Stdout => stdout,
                        StdStreamKind.Stderr => stderr,
                        StdStreamKind.SystemError => null,
                        _ => throw new BerthProtocolException($"Unrecognized input header: {kind}"),
                    };
                    if (frameTo is null)
                    {
                        await FlushPendingAsync().ConfigureAwait(false);
                        int want = (int)Math.Min(frameLeft, BufferSize);
                        while (end - start < want && await FillAsync().ConfigureAwait(false))
                        {
                        }

                        int got = Math.Min(want, end - start);
                        throw new BerthProtocolException("error from daemon in stream: " + System.Text.Encoding.UTF8.GetString(input, start, got));
                    }

                    continue;
                }

                if (start == end && !await FillAsync().ConfigureAwait(false))
                {
                    return written;
                }

                int take = (int)Math.Min(frameLeft, end - start);
                if (take >= BufferSize / 2)
                {
                    // A big payload goes straight out (after what is pending, to keep the order): copying it would
                    // only cost time.
                    await FlushPendingAsync().ConfigureAwait(false);
                    await frameTo!.WriteAsync(input.AsMemory(start, take), cancellationToken).ConfigureAwait(false);
                    await frameTo.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    if (pendingTo != frameTo || pending + take > BufferSize)
                    {
                        await FlushPendingAsync().ConfigureAwait(false);
                    }

                    input.AsSpan(start, take).CopyTo(output.AsSpan(pending));
                    pending += take;
                    pendingTo = frameTo;
                }

                start += take;
                frameLeft -= take;
                written += take;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
            ArrayPool<byte>.Shared.Return(output);
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
