using System.Net.Sockets;
using Berth.Interop;

namespace Berth.Monitor;

/// <summary>One container's life, as docs/monitor-protocol.md tells it: create, serve, reap, record, clean up.</summary>
internal sealed class ContainerMonitor(MonitorOptions options, SyncPipe sync)
{
    // After init is reaped, the pipes hold at most what was written before it died, which drains at
    // once. Only a process outside the container's pid namespace that inherited the pipes can keep
    // them open; the monitor will not wait on it forever.
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);

    private readonly ChildReaper _reaper = new();
    private readonly Lock _outputGate = new();

    /// <summary>Runs the monitor; returns its exit code.</summary>
    public async Task<int> RunAsync()
    {
        var runtime = new OciRuntime(options, _reaper);
        Created? created = await CreateAsync(runtime).ConfigureAwait(false);
        if (created is not { } container)
        {
            return 1;
        }

        WaitStatus status = await container.InitExited.ConfigureAwait(false);
        DateTime finishedAt = DateTime.UtcNow;
        // The cgroup lives until the runtime's delete below; any OOM kill in it is why the container died.
        bool oomKilled = container.Oom.Read() > 0;
        await Task.WhenAny(container.OutputEnded, Task.Delay(DrainTimeout)).ConfigureAwait(false);
        byte[] exitLine = MonitorJson.ExitLine(status.ContainerExitCode, finishedAt, oomKilled);
        // A connected berthd hears first (it records the exit itself); exit.json, fsynced, is for a berthd that
        // is not there now, and comes right after, before the monitor lets go of anything.
        container.Attach.Exited(exitLine);
        container.Attach.EndOutput();
        await WriteExitFileAsync(exitLine).ConfigureAwait(false);
        // The runtime's delete comes after the answer, off the critical path of `run --rm`; wait clients learn
        // that the runtime has let go of the id (so it may be created again) when their connection closes.
        await runtime.DeleteAsync().ConfigureAwait(false);
        await container.Attach.DisposeAsync().ConfigureAwait(false);
        return 0;
    }

    /// <summary>
    /// Start-up steps 1 to 4: on success the pid line is sent and the container waits for berthd's
    /// <c>start</c>; on failure the error line is sent, everything is cleaned up, and the result is null.
    /// </summary>
    private async Task<Created?> CreateAsync(OciRuntime runtime)
    {
        AttachServer? attach = null;
        try
        {
            ProcessControl.BecomeSubreaper();
            _reaper.Start();
            // With a PTY the container's stdio is the terminal: listen for its master before the runtime needs us.
            using Socket? console = options.Tty ? ListenConsole() : null;
            (int stdinRead, FileStream? stdinWrite) = options.Tty ? (DevNull(), null) : OpenStdin();
            (int stdoutRead, int stdoutWrite) = ProcessControl.CreatePipe();
            (int stderrRead, int stderrWrite) = ProcessControl.CreatePipe();
            Task<WaitStatus> runtimeExited;
            try
            {
                // The runtime goes first: `create` is the slow step of a start, and the socket and the log can be
                // made while it runs (the container cannot write before berthd's `start`).
                (_, runtimeExited) = runtime.Create(stdinRead, stdoutWrite, stderrWrite);
            }
            finally
            {
                // Only the container may hold its ends, or the output pipes never reach EOF.
                ProcessControl.Close(stdinRead);
                ProcessControl.Close(stdoutWrite);
                ProcessControl.Close(stderrWrite);
            }

            // Before berthd can ask for an exec (it may only once the pid line is sent): what this monitor can run.
            WriteFeatures();
            int master = -1;
            Action<ushort, ushort>? resize = null;
            if (console is not null)
            {
                Task<int> received = ExecSession.ReceiveMasterAsync(console);
                if (await Task.WhenAny(received, runtimeExited).ConfigureAwait(false) == received || (await runtimeExited.ConfigureAwait(false)).Raw == 0)
                {
                    master = await received.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                    int terminal = master;
                    resize = (rows, columns) => Terminal.Resize(terminal, rows, columns);
                    stdinWrite = options.Stdin ? DescriptorStream.Open(Terminal.Duplicate(master), FileAccess.Write) : null;
                }

                File.Delete(options.ConsoleSocketPath);
            }

            attach = AttachServer.Listen(options.SocketPath, stdinWrite, (client, name, stdin, tty, early) => ExecSession.RunAsync(client, name, stdin, tty, early, options, _reaper), resize);
            var log = JsonFileLogWriter.Open(options.Log, options.LogMaxSize, options.LogMaxFiles);
            var stdout = new OutputPump(stdoutRead, 1, log, attach, _outputGate);
            var stderr = new OutputPump(stderrRead, 2, log, attach, _outputGate);
            stdout.Start();
            stderr.Start();
            Task terminalDrained = Task.CompletedTask;
            if (master >= 0)
            {
                // The terminal's output is the container's stdout (Docker's raw stream for TTY containers).
                var pty = new OutputPump(master, 1, log, attach, _outputGate);
                pty.Start();
                terminalDrained = pty.Drained;
            }

            Task outputEnded = EndOutputAsync(attach, Task.WhenAll(stdout.Drained, terminalDrained), stderr.Drained);

            WaitStatus runtimeStatus = await runtimeExited.ConfigureAwait(false);
            if (runtimeStatus.Raw != 0)
            {
                await FailAsync(runtime.DescribeFailure(runtimeStatus), runtime, attach).ConfigureAwait(false);
                return null;
            }

            int initPid = await runtime.ReadInitPidAsync().ConfigureAwait(false);
            Task<WaitStatus> initExited = _reaper.Adopt(initPid);
            OomCounter oom = OomCounter.ForProcess(initPid);
            await sync.SendAsync(MonitorJson.PidLine(initPid)).ConfigureAwait(false);
            return new Created(attach, initExited, outputEnded, oom);
        }
        catch (Exception e)
        {
            // Whatever broke, berthd must read why rather than a bare EOF.
            await FailAsync(e.Message, runtime, attach).ConfigureAwait(false);
            return null;
        }
    }

    /// <summary>
    /// STATE/features: berthd sends an exec spec (berth-exec) only to a monitor that lists <c>exec-spec</c>, which needs
    /// berth-exec beside it; a monitor from an older Berth writes no such file and gets process.json (runc exec).
    /// </summary>
    private void WriteFeatures() =>
        File.WriteAllText(options.FeaturesPath, File.Exists(ExecSession.NativeHelperPath) ? "exec-spec\n" : "");

    private Socket ListenConsole()
    {
        File.Delete(options.ConsoleSocketPath);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(options.ConsoleSocketPath));
            listener.Listen(1);
            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    private static int DevNull()
    {
        // The raw descriptor is closed after the spawn like a pipe end; the handle must not close it again when
        // it is finalized (by then the number may be another descriptor's, such as the PTY master).
        var devNull = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Read);
        int fd = (int)devNull.DangerousGetHandle();
        devNull.SetHandleAsInvalid();
        return fd;
    }

    private (int Read, FileStream? Write) OpenStdin()
    {
        if (options.Stdin)
        {
            (int read, int write) = ProcessControl.CreatePipe();
            return (read, DescriptorStream.Open(write, FileAccess.Write));
        }

        // Without --stdin the container reads /dev/null (close-on-exec like our pipes; dup2'ed at spawn, then closed).
        return (DevNull(), null);
    }

    private static async Task EndOutputAsync(AttachServer attach, Task stdout, Task stderr)
    {
        await Task.WhenAll(stdout, stderr).ConfigureAwait(false);
        attach.EndOutput();
    }

    /// <summary>Start-up failed: tell berthd why and remove what the runtime created.</summary>
    private async Task FailAsync(string message, OciRuntime runtime, AttachServer? attach)
    {
        await sync.SendAsync(MonitorJson.ErrorLine(message)).ConfigureAwait(false);
        await runtime.DeleteAsync().ConfigureAwait(false);
        if (attach is not null)
        {
            await attach.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>exit.json, atomically: berthd reads it when it finds no monitor, perhaps after a crash of the host.</summary>
    private async Task WriteExitFileAsync(byte[] exitLine)
    {
        try
        {
            await WriteAtomicallyAsync(options.ExitPath, exitLine).ConfigureAwait(false);
            FileSync.Directory(options.State);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NativeException)
        {
            // Wait clients still get the answer; only a berthd restarted later loses it.
            await Console.Error.WriteLineAsync($"berth-monitor: writing {options.ExitPath}: {e.Message}").ConfigureAwait(false);
        }
    }

    private static async Task WriteAtomicallyAsync(string path, byte[] content)
    {
        string temp = path + ".tmp";
        var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        await using (file.ConfigureAwait(false))
        {
            await file.WriteAsync(content).ConfigureAwait(false);
            file.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    /// <summary>A created container: its attach server, its init's exit, and the end of its output.</summary>
    private readonly record struct Created(AttachServer Attach, Task<WaitStatus> InitExited, Task OutputEnded, OomCounter Oom);
}
