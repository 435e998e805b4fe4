using System.Net.Sockets;

namespace Berth.Monitor;

/// <summary>
/// Serves <c>STATE/monitor.sock</c>: <c>attach</c> clients get the container's output as Docker stream
/// frames and feed its stdin; <c>wait</c> clients get the exit line. See docs/monitor-protocol.md.
/// </summary>
internal sealed class AttachServer : IAsyncDisposable
{
    /// <summary>Docker's multiplexed-stream header: <c>[stream, 0, 0, 0, length (uint32 big-endian)]</c>.</summary>
    public const int FrameHeaderLength = 8;

    private const int MaxCommandLength = 128;
    private const int StdinBufferSize = 4096;
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    // An empty frame of stream 0 tells an attach client it is registered: output from then on reaches
    // it, so berthd may start the container. Docker's stream readers skip it if it is relayed.
    private static readonly byte[] Attached = new byte[FrameHeaderLength];

    private readonly Socket _listener;
    private readonly string _path;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private readonly List<Socket> _attached = [];
    private readonly List<Socket> _waiting = [];
    private readonly SemaphoreSlim _stdinLock = new(1, 1);
    private FileStream? _stdin;
    private bool _outputEnded;
    private byte[]? _exitLine;
    private Task _acceptLoop = Task.CompletedTask;
    private int _disposed;

    // Clients accepted whose command line is not read yet: the end waits (briefly) for them to say what they want.
    private int _unread;

    private readonly Func<Socket, string, bool, bool, ReadOnlyMemory<byte>, Task>? _exec;
    private readonly Action<ushort, ushort>? _resize;
    private readonly bool _keepStdinOpen;

    private AttachServer(Socket listener, string path, FileStream? stdin, Func<Socket, string, bool, bool, ReadOnlyMemory<byte>, Task>? exec, Action<ushort, ushort>? resize)
    {
        _listener = listener;
        _path = path;
        _stdin = stdin;
        _exec = exec;
        _resize = resize;
        _keepStdinOpen = resize is not null;
    }

    /// <summary>Listens on <paramref name="path"/> (mode 0600) and starts accepting.</summary>
    /// <param name="stdin">The write end of the container's stdin pipe, or null without <c>--stdin</c>; the server owns it.</param>
    /// <param name="exec">Serves an <c>exec NAME [stdin]</c> client (name, stdin wanted, bytes after the line); null refuses exec.</param>
    /// <param name="resize">Sets the PTY's size (rows, columns) for <c>resize H W</c>; null without a PTY. With a PTY, a
    /// client's half-close does not close stdin (that is the terminal itself).</param>
    public static AttachServer Listen(string path, FileStream? stdin, Func<Socket, string, bool, bool, ReadOnlyMemory<byte>, Task>? exec = null, Action<ushort, ushort>? resize = null)
    {
        File.Delete(path); // a socket left by a monitor that died
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            listener.Listen(16);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        var server = new AttachServer(listener, path, stdin, exec, resize);
        server._acceptLoop = server.AcceptLoopAsync();
        return server;
    }

    /// <summary>Sends one frame to every attach client; a client that fails is dropped.</summary>
    /// <remarks>
    /// Called from an output pump. The send blocks: like Docker, a slow attach client slows the
    /// container's output down rather than making the monitor buffer without bound.
    /// </remarks>
    public void Broadcast(ReadOnlySpan<byte> frame)
    {
        lock (_gate)
        {
            for (int i = _attached.Count - 1; i >= 0; i--)
            {
                if (!TrySend(_attached[i], frame))
                {
                    _attached[i].Dispose();
                    _attached.RemoveAt(i);
                }
            }
        }
    }

    /// <summary>The container's output ended: closes attach clients, and those that come later at once.</summary>
    public void EndOutput()
    {
        lock (_gate)
        {
            _outputEnded = true;
            foreach (Socket client in _attached)
            {
                Close(client);
            }

            _attached.Clear();
        }
    }

    /// <summary>
    /// Answers every <c>wait</c> client with <paramref name="exitLine"/>, and those that come later at once. The
    /// connections stay open until <see cref="DisposeAsync"/>: their end tells berthd that the runtime has let go
    /// of the container id (the runtime's delete runs after the answer, off the path of `docker run --rm`).
    /// </summary>
    public void Exited(byte[] exitLine)
    {
        Socket[] waiting;
        lock (_gate)
        {
            _exitLine = exitLine;
            waiting = [.. _waiting];
        }

        foreach (Socket client in waiting)
        {
            _ = TrySend(client, exitLine);
        }
    }

    /// <summary>Stops listening, closes every client and the stdin pipe, and removes the socket file.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // A client that connected before the end (a `wait` sent just before the container died) gets its answer, not a
        // reset: let the accept loop take what is queued and each accepted client send its command. Bounded: a
        // client that connects and says nothing must not hold the monitor.
        for (int i = 0; i < 100 && (Volatile.Read(ref _unread) > 0 || PendingConnection()); i++)
        {
            await Task.Delay(10, CancellationToken.None).ConfigureAwait(false);
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        EndOutput();
        lock (_gate)
        {
            foreach (Socket client in _waiting)
            {
                Close(client);
            }

            _waiting.Clear();
        }

        await CloseStdinAsync().ConfigureAwait(false);
        try
        {
            File.Delete(_path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // berthd removed the state directory first: nothing is left to clean.
        }

        _stopping.Dispose();
    }

    private bool PendingConnection()
    {
        try
        {
            return _listener.Poll(0, SelectMode.SelectRead);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                await Console.Error.WriteLineAsync($"berth-monitor: accept: {e.Message}").ConfigureAwait(false);
                continue;
            }

            Interlocked.Increment(ref _unread);
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        try
        {
            byte[] buffer = new byte[MaxCommandLength];
            string? command;
            int consumed;
            int received;
            try
            {
                (command, consumed, received) = await ReadCommandAsync(client, buffer).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _unread);
            }

            switch (command)
            {
                case "attach":
                    await AttachAsync(client, buffer.AsMemory(consumed, received - consumed)).ConfigureAwait(false);
                    break;
                case "wait":
                    Wait(client);
                    break;
                case not null when command.StartsWith("resize ", StringComparison.Ordinal):
                    Resize(client, command);
                    break;
                case not null when command.StartsWith("exec ", StringComparison.Ordinal) && _exec is not null && ParseExec(command) is { } exec:
                    await _exec(client, exec.Name, exec.Stdin, exec.Tty, buffer.AsMemory(consumed, received - consumed)).ConfigureAwait(false);
                    break;
                default:
                    client.Dispose();
                    break;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The client went away, took too long to say what it wants, or the monitor is exiting.
            client.Dispose();
        }
    }

    /// <summary><c>resize H W [EXEC]</c>: sets the size of the container's (or an exec's) PTY, then closes the connection (at once without a PTY or for a bad line).</summary>
    private void Resize(Socket client, string command)
    {
        string[] parts = command.Split(' ');
        if (parts.Length is 3 or 4 && ushort.TryParse(parts[1], out ushort rows) && ushort.TryParse(parts[2], out ushort columns))
        {
            try
            {
                if (parts.Length == 4)
                {
                    _ = ExecSession.Resize(parts[3], rows, columns);
                }
                else
                {
                    _resize?.Invoke(rows, columns);
                }
            }
            catch (Exception e) when (e is Interop.NativeException or ObjectDisposedException)
            {
                Console.Error.WriteLine($"berth-monitor: resize: {e.Message}");
            }
        }

        Close(client);
    }

    /// <summary><c>exec NAME [stdin] [tty]</c>; null for anything else.</summary>
    private static (string Name, bool Stdin, bool Tty)? ParseExec(string command)
    {
        string[] parts = command.Split(' ');
        if (parts.Length is < 2 or > 4 || !ExecSession.ValidName(parts[1]))
        {
            return null;
        }

        bool stdin = false, tty = false;
        foreach (string flag in parts.Skip(2))
        {
            switch (flag)
            {
                case "stdin" when !stdin: stdin = true; break;
                case "tty" when !tty: tty = true; break;
                default: return null;
            }
        }

        return (parts[1], stdin, tty);
    }

    /// <summary>Reads the command line; returns it, the bytes it took (with the newline) and the bytes received.</summary>
    private async Task<(string? Command, int Consumed, int Received)> ReadCommandAsync(Socket client, byte[] buffer)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        timeout.CancelAfter(CommandTimeout);
        int received = 0;
        while (received < buffer.Length)
        {
            int count = await client.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None, timeout.Token).ConfigureAwait(false);
            if (count == 0)
            {
                return (null, 0, received);
            }

            int newline = buffer.AsSpan(received, count).IndexOf((byte)'\n');
            received += count;
            if (newline >= 0)
            {
                int end = received - count + newline;
                return (System.Text.Encoding.ASCII.GetString(buffer, 0, end), end + 1, received);
            }
        }

        return (null, 0, received);
    }

    private async Task AttachAsync(Socket client, ReadOnlyMemory<byte> early)
    {
        lock (_gate)
        {
            if (_outputEnded)
            {
                Close(client);
                return;
            }

            // Sent under the lock, so the acknowledgement precedes every frame.
            if (!TrySend(client, Attached))
            {
                client.Dispose();
                return;
            }

            _attached.Add(client);
        }

        // Whatever the client sends after its command line is the container's stdin, until it half-closes.
        if (!early.IsEmpty)
        {
            await WriteStdinAsync(early).ConfigureAwait(false);
        }

        byte[] buffer = new byte[StdinBufferSize];
        while (true)
        {
            int count = await client.ReceiveAsync(buffer, SocketFlags.None, _stopping.Token).ConfigureAwait(false);
            if (count == 0)
            {
                if (!_keepStdinOpen)
                {
                    await CloseStdinAsync().ConfigureAwait(false);
                }

                return;
            }

            await WriteStdinAsync(buffer.AsMemory(0, count)).ConfigureAwait(false);
        }
    }

    private void Wait(Socket client)
    {
        byte[]? exitLine;
        lock (_gate)
        {
            exitLine = _exitLine;
            if (_disposed == 0)
            {
                _waiting.Add(client);
            }
        }

        if (exitLine is not null)
        {
            _ = TrySend(client, exitLine);
        }

        if (Volatile.Read(ref _disposed) != 0)
        {
            Close(client);
        }
    }

    private async Task WriteStdinAsync(ReadOnlyMemory<byte> data)
    {
        await _stdinLock.WaitAsync(_stopping.Token).ConfigureAwait(false);
        try
        {
            if (_stdin is null)
            {
                return; // no --stdin, or already closed: the bytes are dropped, as Docker drops them
            }

            try
            {
                await _stdin.WriteAsync(data, _stopping.Token).ConfigureAwait(false);
            }
            catch (IOException)
            {
                // EPIPE: the container closed its stdin, so nothing more can reach it.
                await _stdin.DisposeAsync().ConfigureAwait(false);
                _stdin = null;
            }
        }
        finally
        {
            _stdinLock.Release();
        }
    }

    private async Task CloseStdinAsync()
    {
        await _stdinLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_stdin is not null)
            {
                await _stdin.DisposeAsync().ConfigureAwait(false);
                _stdin = null;
            }
        }
        finally
        {
            _stdinLock.Release();
        }
    }

    private static bool TrySend(Socket client, ReadOnlySpan<byte> data)
    {
        try
        {
            while (!data.IsEmpty)
            {
                data = data[client.Send(data, SocketFlags.None)..];
            }

            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    private static void Close(Socket client)
    {
        try
        {
            client.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already gone.
        }

        client.Dispose();
    }
}
