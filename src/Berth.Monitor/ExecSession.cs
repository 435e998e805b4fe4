using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using Berth.Interop;
using Microsoft.Win32.SafeHandles;

namespace Berth.Monitor;

/// <summary>
/// One <c>exec NAME [stdin]</c> client of monitor.sock: runs <c>runtime exec --process STATE/NAME.exec.json</c> with
/// pipes as its stdio, sends its output to the client as Docker stream frames, feeds it the client's bytes as stdin
/// (with <c>stdin</c>), and ends with one stream-0 frame whose payload is <c>{"exitCode":N[,"error":"..."]}</c>.
/// See docs/monitor-protocol.md.
/// </summary>
internal static class ExecSession
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Whether <paramref name="name"/> is a valid exec name (lower-case hex, so it cannot leave the state directory).</summary>
    public static bool ValidName(string name) =>
        name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> Terminals = new(StringComparer.Ordinal);
    private static readonly Dictionary<string, (ushort Rows, ushort Columns)> PendingSizes = new(StringComparer.Ordinal);
    private static int _consoleSockets;

    /// <summary>Sets the size of exec <paramref name="name"/>'s terminal; false when it has none (or is gone).</summary>
    public static bool Resize(string name, ushort rows, ushort columns)
    {
        lock (PendingSizes)
        {
            if (!Terminals.TryGetValue(name, out int master))
            {
                // The client may resize before the runtime has handed us the terminal: keep the size for it.
                if (PendingSizes.Count < 64)
                {
                    PendingSizes[name] = (rows, columns);
                }

                return false;
            }

            Terminal.Resize(master, rows, columns);
            return true;
        }
    }

    private static void AddTerminal(string name, int master)
    {
        lock (PendingSizes)
        {
            Terminals[name] = master;
            if (PendingSizes.Remove(name, out (ushort Rows, ushort Columns) size))
            {
                Terminal.Resize(master, size.Rows, size.Columns);
            }
        }
    }

    private static void RemoveTerminal(string name)
    {
        lock (PendingSizes)
        {
            Terminals.TryRemove(name, out _);
            PendingSizes.Remove(name);
        }
    }

    public static async Task RunAsync(Socket client, string name, bool stdin, bool tty, ReadOnlyMemory<byte> early, MonitorOptions options, ChildReaper reaper)
    {
        var sendLock = new Lock();
        string process = Path.Combine(options.State, name + ".exec.json");
        string log = Path.Combine(options.State, name + ".exec.log");
        string pidFile = Path.Combine(options.State, name + ".exec.pid");
        // berthd writes a spec for berth-exec (the native path) or a process.json for runc exec, never both.
        string nativeSpec = Path.Combine(options.State, name + ".exec.spec");
        bool native = File.Exists(nativeSpec);
        FileStream? stdinWrite = null;
        SafeFileHandle? sealedHelper = null;
        string? consolePath = null;
        byte[] exitPayload;
        try
        {
            int stdinRead;
            if (stdin)
            {
                (stdinRead, int write) = ProcessControl.CreatePipe();
                stdinWrite = DescriptorStream.Open(write, FileAccess.Write);
            }
            else
            {
                stdinRead = -1;
            }

            using var devNull = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Read);
            (int stdoutRead, int stdoutWrite) = ProcessControl.CreatePipe();
            (int stderrRead, int stderrWrite) = ProcessControl.CreatePipe();
            // A short name: the console socket sits beside monitor.sock and must fit a unix socket address as well.
            consolePath = tty ? Path.Combine(options.State, $"t{Interlocked.Increment(ref _consoleSockets)}.s") : null;
            using Socket? console = consolePath is null ? null : ListenConsole(consolePath);
            List<string> argv;
            string executable;
            if (native)
            {
                // berth-exec stays the process's parent and exits with its status, with or without a terminal.
                (int initPid, ulong initStart) = await InitIdentityAsync(options).ConfigureAwait(false);
                sealedHelper = SealedHelper();
                executable = sealedHelper is null ? NativeHelperPath : $"/proc/self/fd/{sealedHelper.DangerousGetHandle()}";
                argv =
                [
                    NativeHelperPath, "--spec", nativeSpec, "--pid", initPid.ToString(CultureInfo.InvariantCulture),
                    "--start", initStart.ToString(CultureInfo.InvariantCulture), "--pid-file", pidFile, "--log", log,
                ];
                if (consolePath is not null)
                {
                    argv.AddRange(["--console-socket", consolePath]);
                }
            }
            else
            {
                executable = options.Runtime;
                argv =
                [
                    .. options.RuntimeCommand(), "--log", log, "--log-format", "json",
                    "exec", "--process", process, "--pid-file", pidFile,
                ];
                if (consolePath is not null)
                {
                    // runc takes a console socket only when it detaches: the process is then re-parented to us (the
                    // subreaper) and reaped here, its pid read from the pid file.
                    argv.AddRange(["--tty", "--detach", "--console-socket", consolePath]);
                }

                argv.Add(options.Id);
            }

            Task<WaitStatus> exited;
            try
            {
                (_, exited) = reaper.Spawn(
                    executable,
                    argv,
                    [(stdin && !tty ? stdinRead : (int)devNull.DangerousGetHandle(), 0), (stdoutWrite, 1), (stderrWrite, 2)]);
            }
            finally
            {
                // posix_spawn returns once the child has exec'd: the running berth-exec holds its copy from here on.
                sealedHelper?.Dispose();
                ProcessControl.Close(stdin ? stdinRead : -1);
                ProcessControl.Close(stdoutWrite);
                ProcessControl.Close(stderrWrite);
            }

            Task terminalDrained = Task.CompletedTask;
            if (console is not null)
            {
                Task<int> received = ReceiveMasterAsync(console);
                bool haveTerminal;
                if (native)
                {
                    // berth-exec sends the master before it forks, so a process that already ended has left it queued
                    // on the socket; a berth-exec that failed before closes the socket without one (its log says why).
                    if (await Task.WhenAny(received, exited).ConfigureAwait(false) != received)
                    {
                        await Task.WhenAny(received, Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
                    }

                    haveTerminal = received.IsCompletedSuccessfully;
                    _ = received.Exception;
                }
                else
                {
                    haveTerminal = await Task.WhenAny(received, exited).ConfigureAwait(false) == received || (await exited.ConfigureAwait(false)).Raw == 0;
                }

                if (haveTerminal)
                {
                    int master = await received.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                    AddTerminal(name, master);
                    if (stdinWrite is not null)
                    {
                        // The terminal is the process's stdin: client bytes go to the master.
                        await stdinWrite.DisposeAsync().ConfigureAwait(false);
                        stdinWrite = DescriptorStream.Open(Terminal.Duplicate(master), FileAccess.Write);
                    }

                    terminalDrained = Pump(master, 1, client, sendLock);
                }
            }

            Task stdout = Pump(stdoutRead, 1, client, sendLock);
            Task stderr = Pump(stderrRead, 2, client, sendLock);
            _ = FeedStdinAsync(client, early, stdinWrite);
            WaitStatus status = await exited.ConfigureAwait(false);
            string? error = native ? NativeError(log) : OciRuntime.ErrorMessage(log);
            if (!native && tty && status.Raw == 0 && error is null)
            {
                status = await reaper.Watch(int.Parse(await File.ReadAllTextAsync(pidFile).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture)).ConfigureAwait(false);
            }

            await Task.WhenAny(Task.WhenAll(stdout, stderr, terminalDrained), Task.Delay(DrainTimeout)).ConfigureAwait(false);
            exitPayload = MonitorJson.ExecExit(status.ContainerExitCode, error);
        }
        catch (Exception e) when (e is NativeException or IOException or UnauthorizedAccessException or SocketException or TimeoutException or InvalidDataException or FormatException)
        {
            exitPayload = MonitorJson.ExecExit(-1, e.Message);
        }

        RemoveTerminal(name);

        // The exec's files go before the answer: once a client has its exit, nothing of the exec is left.
        foreach (string path in new[] { process, nativeSpec, log, pidFile, consolePath ?? "" })
        {
            try
            {
                if (path.Length > 0)
                {
                    File.Delete(path);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        byte[] frame = new byte[AttachServer.FrameHeaderLength + exitPayload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), (uint)exitPayload.Length);
        exitPayload.CopyTo(frame, AttachServer.FrameHeaderLength);
        lock (sendLock)
        {
            _ = TrySend(client, frame);
        }

        try
        {
            client.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }

        client.Dispose();
        if (stdinWrite is not null)
        {
            await stdinWrite.DisposeAsync().ConfigureAwait(false);
        }

    }

    /// <summary>
    /// berth-exec in a sealed memfd (CVE-2019-5736 class, see src/berth-exec/reexec.c): spawned from it, berth-exec finds
    /// itself sealed and saves the copy and second execve it would make itself (about 1 ms). Null when the copy cannot be
    /// made: berth-exec then tries on its own, and reports why it could not.
    /// </summary>
    private static SafeFileHandle? SealedHelper()
    {
        try
        {
            return SealedExecutable.Create(NativeHelperPath, "berth-exec");
        }
        catch (Exception e) when (e is NativeException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>berth-exec, shipped beside the monitor.</summary>
    internal static string NativeHelperPath => Path.Combine(AppContext.BaseDirectory, "berth-exec");

    private static (int Pid, ulong Start)? _initIdentity;

    /// <summary>
    /// The container init's pid and start time (runc's state.json records both at create): berth-exec checks the pid
    /// still names that process before joining it. They never change, so they are read once.
    /// </summary>
    private static async Task<(int Pid, ulong Start)> InitIdentityAsync(MonitorOptions options)
    {
        if (_initIdentity is { } known)
        {
            return known;
        }

        byte[] state = await File.ReadAllBytesAsync(Path.Combine(options.RuntimeRoot, options.Id, "state.json")).ConfigureAwait(false);
        try
        {
            using var document = JsonDocument.Parse(state);
            JsonElement root = document.RootElement;
            (int, ulong) identity = (root.GetProperty("init_process_pid").GetInt32(), root.GetProperty("init_process_start").GetUInt64());
            _initIdentity = identity;
            return identity;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or FormatException or InvalidOperationException)
        {
            throw new InvalidDataException($"reading the runtime's state of {options.Id}: {e.Message}", e);
        }
    }

    /// <summary>What berth-exec wrote to its log when it could not start the process (one line, runc's wording), or null.</summary>
    private static string? NativeError(string log)
    {
        try
        {
            string text = File.ReadAllText(log).Trim();
            return text.Length > 0 ? text : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static Socket ListenConsole(string path)
    {
        File.Delete(path);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(1);
            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    /// <summary>Takes the runtime's connection on a console socket and the PTY master it sends (SCM_RIGHTS).</summary>
    internal static async Task<int> ReceiveMasterAsync(Socket listener)
    {
        using Socket connection = await listener.AcceptAsync().ConfigureAwait(false);
        for (int attempt = 0; ; attempt++)
        {
            // A zero-byte receive completes when the message is there; the socket may be non-blocking.
            _ = await connection.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None).ConfigureAwait(false);
            try
            {
                return Terminal.ReceiveDescriptor((int)connection.Handle);
            }
            catch (NativeException e) when (e.Errno == 11 && attempt < 100)
            {
                await Task.Delay(5).ConfigureAwait(false); // EAGAIN
            }
        }
    }

    /// <summary>Copies one output pipe to the client as frames, on a thread of its own (pipes block); completes at EOF.</summary>
    private static Task Pump(int fd, int stream, Socket client, Lock sendLock)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pipe = DescriptorStream.Open(fd, FileAccess.Read);
        new Thread(() =>
        {
            byte[] frame = new byte[AttachServer.FrameHeaderLength + OutputPump.ChunkSize];
            frame[0] = (byte)stream;
            bool connected = true;
            try
            {
                int count;
                while ((count = pipe.Read(frame, AttachServer.FrameHeaderLength, OutputPump.ChunkSize)) > 0)
                {
                    if (!connected)
                    {
                        continue; // the client left: keep draining so the process is not blocked on a full pipe
                    }

                    BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), (uint)count);
                    lock (sendLock)
                    {
                        connected = TrySend(client, frame.AsSpan(0, AttachServer.FrameHeaderLength + count));
                    }
                }
            }
            catch (IOException)
            {
            }
            finally
            {
                pipe.Dispose();
                done.TrySetResult();
            }
        })
        { IsBackground = true, Name = "exec-" + stream }.Start();
        return done.Task;
    }

    /// <summary>The client's bytes after its command line go to the exec's stdin until it half-closes (dropped without stdin).</summary>
    private static async Task FeedStdinAsync(Socket client, ReadOnlyMemory<byte> early, FileStream? stdin)
    {
        try
        {
            if (stdin is not null && !early.IsEmpty)
            {
                await stdin.WriteAsync(early).ConfigureAwait(false);
            }

            byte[] buffer = new byte[4096];
            int count;
            while ((count = await client.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false)) > 0)
            {
                if (stdin is not null)
                {
                    await stdin.WriteAsync(buffer.AsMemory(0, count)).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // The process closed its stdin (EPIPE) or the client went away.
        }
        finally
        {
            if (stdin is not null)
            {
                await stdin.DisposeAsync().ConfigureAwait(false);
            }
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
}
