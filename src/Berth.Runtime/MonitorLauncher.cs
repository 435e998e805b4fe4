using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Berth.Interop;
using Berth.Primitives;
using Microsoft.Win32.SafeHandles;

namespace Berth.Runtime;

/// <summary>Starts a container's berth-monitor and talks to it over its socket (see docs/monitor-protocol.md).</summary>
public sealed class MonitorLauncher(RuntimeOptions options)
{
    /// <summary>The monitor's socket inside a container's state directory.</summary>
    public static string SocketPath(string stateDirectory) => Path.Combine(stateDirectory, "monitor.sock");

    public static string ExitFile(string stateDirectory) => Path.Combine(stateDirectory, "exit.json");

    /// <summary>
    /// Spawns the monitor (in its own session, so it outlives berthd), which creates the container; returns the
    /// container's pid and the monitor's, or throws with the runtime's error. The monitor is berthd's child:
    /// call <see cref="ReapAsync"/> once it has let go of the container.
    /// </summary>
    public async Task<(int ContainerPid, int MonitorPid)> LaunchAsync(string id, string bundle, string stateDirectory, string? logPath, bool openStdin, CancellationToken cancellationToken, bool tty = false, long logMaxSize = 0, int logMaxFiles = 1, OciRuntimeEntry? runtime = null)
    {
        runtime ??= new OciRuntimeEntry(options.RuntimePath, []);
        Directory.CreateDirectory(stateDirectory);
        File.Delete(ExitFile(stateDirectory));
        (int read, int write) = ProcessControl.CreatePipe();
        int pid;
        try
        {
            var argv = new List<string>();
            string path = options.MonitorPath;
            if (path.EndsWith(".dll", StringComparison.Ordinal))
            {
                argv.Add("dotnet");
                argv.Add(path);
                path = "/usr/bin/dotnet";
                if (!File.Exists(path))
                {
                    path = Path.Combine(Path.GetDirectoryName(Environment.ProcessPath) ?? "/usr/bin", "dotnet");
                }
            }
            else
            {
                argv.Add(path);
            }

            argv.AddRange(["--id", id, "--bundle", bundle, "--state", stateDirectory, "--runtime", runtime.Path,
                "--runtime-root", options.RuntimeRoot, "--foreground"]);
            foreach (string arg in runtime.Args)
            {
                argv.AddRange(["--runtime-arg", arg]);
            }

            if (logPath is not null)
            {
                argv.AddRange(["--log", logPath]);
            }

            if (logMaxSize > 0)
            {
                argv.AddRange(["--log-max-size", logMaxSize.ToString(System.Globalization.CultureInfo.InvariantCulture), "--log-max-file", logMaxFiles.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            }

            if (openStdin)
            {
                argv.Add("--stdin");
            }

            if (tty)
            {
                argv.Add("--tty");
            }

            // The monitor outlives berthd: it must not hold berthd's stdio. Its own complaints go to a file beside it.
            using SafeFileHandle devNull = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.ReadWrite);
            using SafeFileHandle monitorLog = File.OpenHandle(Path.Combine(stateDirectory, "monitor.log"), FileMode.Append, FileAccess.Write);
            int nullFd = (int)devNull.DangerousGetHandle();
            int logFd = (int)monitorLog.DangerousGetHandle();
            pid = Spawn.Start(path, argv, null, [(nullFd, 0), (logFd, 1), (logFd, 2), (write, 3)], newSession: true);
        }
        finally
        {
            ProcessControl.Close(write);
        }

        string line;
        await using (var sync = new FileStream(new SafeFileHandle(read, ownsHandle: true), FileAccess.Read, 1, isAsync: false))
        using (var reader = new StreamReader(sync, Encoding.UTF8))
        {
            line = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) ?? "";
        }

        MonitorSync? message = null;
        try
        {
            message = line.Length > 0 ? JsonSerializer.Deserialize(line, RuntimeJsonContext.Default.MonitorSync) : null;
        }
        catch (JsonException)
        {
        }

        if (message?.Pid is int containerPid)
        {
            return (containerPid, pid);
        }

        _ = ReapAsync(pid);
        string error = message?.Error ?? (line.Length > 0 ? line : "the container monitor exited without a word");
        throw new EngineException(ClassifyStartError(error), $"failed to create task for container: OCI runtime create failed: {error}: unknown");
    }

    /// <summary>Collects a monitor that has exited or is about to (berthd spawned it, so berthd must reap it).</summary>
    public static async Task ReapAsync(int monitorPid)
    {
        // Polling with back-off keeps no thread blocked in waitpid; a monitor exits right after it lets go.
        for (int delay = 5; delay < 5000; delay *= 2)
        {
            (int reaped, _) = ProcessControl.Wait(monitorPid, block: false);
            if (reaped != 0)
            {
                return; // reaped, or not our child (a monitor from before a daemon restart)
            }

            await Task.Delay(delay).ConfigureAwait(false);
        }
    }

    /// <summary>Docker answers 400 when the command cannot be run (so clients map it to 126/127), 500 otherwise.</summary>
    private static ErrorKind ClassifyStartError(string error) =>
        error.Contains("executable file not found", StringComparison.Ordinal) || error.Contains("no such file or directory", StringComparison.Ordinal)
        || error.Contains("permission denied", StringComparison.Ordinal) || error.Contains("exec format error", StringComparison.Ordinal)
        || error.Contains("is a directory", StringComparison.Ordinal) || error.Contains("not a directory", StringComparison.Ordinal)
            ? ErrorKind.InvalidArgument
            : ErrorKind.Internal;

    /// <summary>Connects to the monitor and sends one command line.</summary>
    public static async Task<Socket> ConnectAsync(string stateDirectory, string command, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath(stateDirectory)), cancellationToken).ConfigureAwait(false);
            await socket.SendAsync(Encoding.ASCII.GetBytes(command + "\n"), cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Opens an attach stream; returns once the monitor has acknowledged it, so no later output is missed.</summary>
    public static async Task<Socket> AttachAsync(string stateDirectory, CancellationToken cancellationToken)
    {
        Socket socket = await ConnectAsync(stateDirectory, "attach", cancellationToken).ConfigureAwait(false);
        try
        {
            byte[] ack = new byte[8];
            int got = 0;
            while (got < ack.Length)
            {
                int n = await socket.ReceiveAsync(ack.AsMemory(got), cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    break; // the container already ended: an empty stream
                }

                got += n;
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sets the size of a TTY container's terminal through its monitor (which closes the connection when done).</summary>
    /// <param name="exec">The exec whose terminal to resize, or null for the container's.</param>
    public static async Task ResizeAsync(string stateDirectory, int height, int width, CancellationToken cancellationToken, string? exec = null)
    {
        string command = exec is null ? $"resize {height} {width}" : $"resize {height} {width} {exec}";
        using Socket socket = await ConnectAsync(stateDirectory, command, cancellationToken).ConfigureAwait(false);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(TimeSpan.FromSeconds(5));
        _ = await socket.ReceiveAsync(new byte[1], limit.Token).ConfigureAwait(false);
    }

    /// <summary>The process file of exec <paramref name="name"/>, which berthd writes before <see cref="ExecAsync"/>.</summary>
    public static string ExecProcessPath(string stateDirectory, string name) => Path.Combine(stateDirectory, name + ".exec.json");

    /// <summary>The word a monitor writes to its <c>features</c> file when it runs berth-exec for an exec spec.</summary>
    public const string ExecSpecFeature = "exec-spec";

    /// <summary>
    /// Whether the container's monitor lists <paramref name="feature"/> in <c>STATE/features</c>. A monitor started by
    /// a Berth from before the file (a container that outlived an upgrade, live restore) has none: then false.
    /// </summary>
    public static bool MonitorSupports(string stateDirectory, string feature)
    {
        try
        {
            return File.ReadAllText(Path.Combine(stateDirectory, "features")).Split('\n').Contains(feature, StringComparer.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The runtime's pid file of a running exec (the monitor removes it when the exec ends).</summary>
    public static string ExecPidPath(string stateDirectory, string name) => Path.Combine(stateDirectory, name + ".exec.pid");

    /// <summary>
    /// Asks the monitor to run exec <paramref name="name"/>: the socket then carries its output as Docker frames, takes
    /// its stdin (with <paramref name="stdin"/>), and ends with a stream-0 frame holding a <see cref="MonitorExecExit"/>.
    /// </summary>
    public static Task<Socket> ExecAsync(string stateDirectory, string name, bool stdin, bool tty, CancellationToken cancellationToken) =>
        ConnectAsync(stateDirectory, $"exec {name}{(stdin ? " stdin" : "")}{(tty ? " tty" : "")}", cancellationToken);

    /// <summary>
    /// Waits for the container's exit through the monitor; falls back to exit.json when the monitor is gone.
    /// <c>Released</c> completes when the monitor has also deleted the runtime's state, after which the same
    /// id may be created again.
    /// </summary>
    public static async Task<(MonitorExit? Exit, Task Released)> WaitAsync(string stateDirectory, CancellationToken cancellationToken)
    {
        Socket? socket = null;
        try
        {
            socket = await ConnectAsync(stateDirectory, "wait", cancellationToken).ConfigureAwait(false);
            var stream = new NetworkStream(socket, ownsSocket: true);
            var reader = new StreamReader(stream, Encoding.UTF8);
            string? line = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            if (!string.IsNullOrEmpty(line))
            {
                MonitorExit? exit = JsonSerializer.Deserialize(line, RuntimeJsonContext.Default.MonitorExit);
                return (exit, DrainAsync(reader));
            }

            reader.Dispose();
        }
        catch (Exception e) when (e is SocketException or IOException or JsonException)
        {
            // No monitor: it finished before we asked (or before a daemon restart).
            socket?.Dispose();
        }

        return (ReadExitFile(stateDirectory), Task.CompletedTask);
    }

    private static async Task DrainAsync(StreamReader reader)
    {
        using (reader)
        {
            try
            {
                using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                while (await reader.ReadLineAsync(limit.Token).ConfigureAwait(false) is not null)
                {
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or SocketException)
            {
            }
        }
    }

    public static MonitorExit? ReadExitFile(string stateDirectory)
    {
        string path = ExitFile(stateDirectory);
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllText(path), RuntimeJsonContext.Default.MonitorExit) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
