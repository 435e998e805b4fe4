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

    /// <summary>Spawns the monitor, which creates the container; returns the container's pid or throws with the runtime's error.</summary>
    public async Task<int> LaunchAsync(string id, string bundle, string stateDirectory, string logPath, bool openStdin, CancellationToken cancellationToken)
    {
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

            argv.AddRange(["--id", id, "--bundle", bundle, "--state", stateDirectory, "--runtime", options.RuntimePath,
                "--runtime-root", options.RuntimeRoot, "--log", logPath]);
            if (openStdin)
            {
                argv.Add("--stdin");
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

        // The first monitor process re-spawns itself detached and exits at once: reap it.
        await Task.Run(() => ProcessControl.Wait(pid, block: true), cancellationToken).ConfigureAwait(false);
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
            return containerPid;
        }

        string error = message?.Error ?? (line.Length > 0 ? line : "the container monitor exited without a word");
        throw new EngineException(ClassifyStartError(error), $"failed to create task for container: OCI runtime create failed: {error}: unknown");
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

    /// <summary>Waits for the container's exit through the monitor; falls back to exit.json when the monitor is gone.</summary>
    public static async Task<MonitorExit?> WaitAsync(string stateDirectory, CancellationToken cancellationToken)
    {
        try
        {
            using Socket socket = await ConnectAsync(stateDirectory, "wait", cancellationToken).ConfigureAwait(false);
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            string? line = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            if (!string.IsNullOrEmpty(line))
            {
                return JsonSerializer.Deserialize(line, RuntimeJsonContext.Default.MonitorExit);
            }
        }
        catch (SocketException)
        {
            // No monitor: it finished before we asked (or before a daemon restart).
        }
        catch (IOException)
        {
        }

        return ReadExitFile(stateDirectory);
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
