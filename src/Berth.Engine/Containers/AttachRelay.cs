using System.Buffers.Binary;
using System.Net.Sockets;
using Berth.Api.Types;

namespace Berth.Engine.Containers;

/// <summary>
/// Copies a monitor's attach stream to a client. The monitor already speaks Docker's multiplexed format
/// (8-byte header, then payload), so frames pass through untouched unless the client asked for only one stream.
/// Client bytes go to the container's stdin; the client's end of input closes stdin.
/// </summary>
internal static class AttachRelay
{
    /// <param name="tty">The container has a TTY: the client gets the raw bytes (Docker's raw stream), not frames.</param>
    public static async Task RunAsync(Socket monitor, Stream client, AttachOptions options, bool tty, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        byte[] detachKeys = DetachKeys.Parse(options.DetachKeys) ?? [];
        Task<bool> input = options.Stdin ? PumpStdinAsync(client, monitor, detachKeys, linked.Token) : Task.FromResult(false);
        Task output = PumpOutputAsync(monitor, client, options, tty, linked.Token);
        try
        {
            // The client typed the detach keys: the relay ends (the caller closes both sides), the container runs on.
            if (await Task.WhenAny(output, input).ConfigureAwait(false) == input && input.IsCompletedSuccessfully && await input.ConfigureAwait(false))
            {
                await linked.CancelAsync().ConfigureAwait(false);
                await Quietly(output).ConfigureAwait(false);
                return;
            }

            await output.ConfigureAwait(false);
        }
        finally
        {
            await linked.CancelAsync().ConfigureAwait(false);
            await Quietly(input).ConfigureAwait(false);
        }
    }

    private static async Task Quietly(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        catch (IOException)
        {
        }
        catch (SocketException)
        {
        }
    }

    private static async Task PumpOutputAsync(Socket monitor, Stream client, AttachOptions options, bool tty, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[32 * 1024];
        byte[] header = new byte[8];
        while (true)
        {
            if (!await ReadExactlyAsync(monitor, header, cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
            bool wanted = header[0] switch { 1 => options.Stdout, 2 => options.Stderr, _ => false };
            if (!await ForwardFrameAsync(monitor, client, header, length, wanted, tty, buffer, cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }
    }

    /// <summary>
    /// Passes one frame of <paramref name="length"/> payload bytes on to the client when <paramref name="wanted"/>
    /// (without its header on a TTY, whose stream is raw), or skips it; false when the monitor hung up mid-frame.
    /// </summary>
    internal static async Task<bool> ForwardFrameAsync(Socket monitor, Stream client, byte[] header, int length, bool wanted, bool tty, byte[] buffer, CancellationToken cancellationToken)
    {
        if (wanted && !tty)
        {
            await client.WriteAsync(header, cancellationToken).ConfigureAwait(false);
        }

        while (length > 0)
        {
            int n = await monitor.ReceiveAsync(buffer.AsMemory(0, Math.Min(buffer.Length, length)), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return false;
            }

            if (wanted)
            {
                await client.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            }

            length -= n;
        }

        if (wanted)
        {
            await client.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>Client bytes to the container's stdin; true when the client typed the detach keys (stdin stays open then).</summary>
    internal static async Task<bool> PumpStdinAsync(Stream client, Socket monitor, byte[] detachKeys, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[16 * 1024];
        byte[] forward = new byte[buffer.Length + detachKeys.Length];
        var matcher = new DetachKeyMatcher(detachKeys);
        int n;
        while ((n = await client.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            int count = matcher.Feed(buffer.AsSpan(0, n), forward);
            if (count < 0)
            {
                return true;
            }

            await monitor.SendAsync(forward.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
        }

        monitor.Shutdown(SocketShutdown.Send);
        return false;
    }

    internal static async Task<bool> ReadExactlyAsync(Socket socket, byte[] buffer, CancellationToken cancellationToken)
    {
        int got = 0;
        while (got < buffer.Length)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(got), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return false;
            }

            got += n;
        }

        return true;
    }
}
