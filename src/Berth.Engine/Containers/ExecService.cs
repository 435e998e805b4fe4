using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text.Json;
using Berth.Api.Types;
using Berth.Primitives;
using Berth.Runtime;
using Microsoft.Extensions.Logging;

namespace Berth.Engine.Containers;

/// <summary>The exec use cases the API exposes: create, start (attached or detached), inspect.</summary>
public interface IExecBackend
{
    IdResponse Create(string container, ExecCreateRequest request);

    /// <summary>
    /// Starts the exec. Attached (<paramref name="openClient"/> not null): answers the client through it and relays the
    /// exec's streams until it ends, its exit recorded before the client's stream closes. Detached: returns once it runs.
    /// </summary>
    Task StartAsync(string execId, Func<Task<Stream>>? openClient, CancellationToken cancellationToken);

    ExecInspect Inspect(string execId);

    /// <summary>Whether the exec has a TTY (its stream is then raw, not multiplexed).</summary>
    bool IsTty(string execId);

    /// <summary>Sets the size of the exec's terminal (nothing without one).</summary>
    Task ResizeAsync(string execId, int height, int width, CancellationToken cancellationToken);
}

/// <summary>
/// Exec processes, run by the container's monitor (<c>exec</c> on monitor.sock, see docs/monitor-protocol.md) with
/// berth-exec (the native path: a spec written here, see <see cref="NativeExecSpec"/>) or <c>runc exec</c> (a
/// process.json). Records live in memory only: like Docker's, they do not survive a daemon restart.
/// </summary>
public sealed partial class ExecService(ContainerService containers, EngineOptions options, RuntimeOptions runtimeOptions, HostFacts host, ILogger<ExecService> logger) : IExecBackend
{
    private readonly ConcurrentDictionary<string, ExecEntry> _execs = new(StringComparer.Ordinal);

    public IdResponse Create(string container, ExecCreateRequest request)
    {
        ContainerEntry entry = containers.Lookup(container);
        ContainerRecord record = entry.Record;
        if (!record.IsRunning)
        {
            throw EngineException.Conflict($"container {record.Id} is not running");
        }

        if (record.State.Status == ContainerStatus.Paused)
        {
            throw EngineException.Conflict($"Container {record.Id} is paused, unpause the container before exec");
        }

        if (request.Cmd is not { Count: > 0 } || request.Cmd[0].Length == 0)
        {
            throw EngineException.Invalid("No exec command specified");
        }

        foreach (string variable in request.Env ?? [])
        {
            if (variable.Length == 0 || variable[0] == '=' || variable.Contains('\0', StringComparison.Ordinal))
            {
                throw EngineException.Invalid($"invalid environment variable: {variable}");
            }
        }

        string id = Ids.NewId();
        _execs[id] = new ExecEntry(id, record.Id, request);

        // An exec stays inspectable after it ends, until its container is removed (Docker's lifetime): then it goes
        // too, so a daemon serving execs for weeks does not keep every one it ever ran.
        _ = entry.Removed.Task.ContinueWith(_ => _execs.TryRemove(id, out ExecEntry? _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        containers.Emit(record, ContainerService.ExecAction("exec_create", request.Cmd), ("execID", id));
        return new IdResponse { Id = id };
    }

    public bool IsTty(string execId) => Lookup(execId).Request.Tty;

    public async Task StartAsync(string execId, Func<Task<Stream>>? openClient, CancellationToken cancellationToken)
    {
        ExecEntry exec = Lookup(execId);
        lock (exec)
        {
            if (exec.Started)
            {
                throw EngineException.Conflict($"Error: Exec command {exec.Id} is already running");
            }

            exec.Started = true;
        }

        ContainerEntry entry = containers.Lookup(exec.ContainerId);
        ContainerRecord record = entry.Record;
        if (!record.IsRunning)
        {
            throw EngineException.Conflict($"container {record.Id} is not running");
        }

        // Docker's moment for exec_start: the container was running, the process is yet to be launched. Said after
        // the launch, it could come after a kill that had already answered (a health probe begun just before it).
        containers.Emit(record, ContainerService.ExecAction("exec_start", exec.Request.Cmd!), ("execID", exec.Id));
        string state = options.ContainerStateDirectory(record.Id);
        string rootfs = Path.Combine(options.ContainersDirectory, record.Id, "bundle", "rootfs");
        ExecCreateRequest request = exec.Request;
        string user = string.IsNullOrEmpty(request.User) ? record.Config.User ?? "" : request.User;
        (uint uid, uint gid) = ContainerUser.Resolve(rootfs, user);
        var env = new List<string>(record.Config.Env ?? []);
        if (!env.Any(e => e.StartsWith("HOSTNAME=", StringComparison.Ordinal)))
        {
            // The container's processes have it (OciSpecBuilder), and Docker gives it to an exec's as well.
            env.Add("HOSTNAME=" + (string.IsNullOrEmpty(record.Config.Hostname) ? record.Id[..12] : record.Config.Hostname));
        }

        foreach (string variable in request.Env ?? [])
        {
            string key = variable.Split('=', 2)[0];
            env.RemoveAll(e => e.Split('=', 2)[0] == key);
            env.Add(variable);
        }

        if (request.Tty && !env.Any(e => e.StartsWith("TERM=", StringComparison.Ordinal)))
        {
            env.Add("TERM=xterm");
        }

        string cwd = !string.IsNullOrEmpty(request.WorkingDir) ? request.WorkingDir
            : !string.IsNullOrEmpty(record.Config.WorkingDir) ? record.Config.WorkingDir : "/";
        if (UsesNativeExec(record, state))
        {
            byte[]? spec = NativeSpec(record, rootfs, state, user, uid, gid, env, cwd, request);
            if (spec is not null)
            {
                await File.WriteAllBytesAsync(NativeExecSpec.PathFor(state, exec.Id), spec, cancellationToken).ConfigureAwait(false);
                await StartWithMonitorAsync(exec, record, state, openClient, cancellationToken).ConfigureAwait(false);
                return;
            }
        }

        var process = new OciProcess
        {
            Terminal = request.Tty,
            ConsoleSize = request.Tty && request.ConsoleSize is [uint rows, uint columns] && rows > 0 && columns > 0
                ? new OciBox { Height = rows, Width = columns }
                : null,
            User = new OciUser { Uid = uid, Gid = gid },
            Args = request.Cmd!,
            Env = env,
            Cwd = cwd,
            // Capabilities, rlimits and the rest are the container's: the runtime takes them when the process leaves them out.
        };
        await File.WriteAllBytesAsync(MonitorLauncher.ExecProcessPath(state, exec.Id), JsonSerializer.SerializeToUtf8Bytes(process, RuntimeJsonContext.Default.OciProcess), cancellationToken).ConfigureAwait(false);
        await StartWithMonitorAsync(exec, record, state, openClient, cancellationToken).ConfigureAwait(false);
    }

    private async Task StartWithMonitorAsync(ExecEntry exec, ContainerRecord record, string state, Func<Task<Stream>>? openClient, CancellationToken cancellationToken)
    {
        ExecCreateRequest request = exec.Request;
        bool stdin = request.AttachStdin && openClient is not null;
        Socket monitor;
        try
        {
            monitor = await MonitorLauncher.ExecAsync(state, exec.Id, stdin, request.Tty, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            throw EngineException.Conflict($"container {record.Id} is not running");
        }

        exec.Running = true;
        LogStarted(exec.Id, record.Id);
        if (request.Tty && request.ConsoleSize is [uint height, uint width] && height > 0 && width > 0)
        {
            // Docker's CLI (API 1.42+) gives the initial size with the create; the monitor keeps it until the terminal exists.
            _ = MonitorLauncher.ResizeAsync(state, (int)Math.Min(height, ushort.MaxValue), (int)Math.Min(width, ushort.MaxValue), CancellationToken.None, exec.Id)
                .ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
        if (openClient is null)
        {
            _ = FollowDetachedAsync(exec, monitor);
            return;
        }

        using (monitor)
        {
            Stream client = await openClient().ConfigureAwait(false);
            await using (client.ConfigureAwait(false))
            {
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                Task input = stdin ? AttachRelay.PumpStdinAsync(client, monitor, [], linked.Token) : Task.CompletedTask;
                try
                {
                    MonitorExecExit? exit = await RelayAsync(monitor, client, request.AttachStdout, request.AttachStderr, request.Tty, cancellationToken).ConfigureAwait(false);
                    Finish(exec, exit);
                    if (exit?.Error is { } error)
                    {
                        // Docker writes the runtime's failure into the stream (as stdout) and the CLI exits with ExitCode.
                        byte[] message = System.Text.Encoding.UTF8.GetBytes($"OCI runtime exec failed: {error}: unknown\r\n");
                        if (!request.Tty)
                        {
                            byte[] header = new byte[8];
                            header[0] = 1;
                            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), (uint)message.Length);
                            await client.WriteAsync(header, cancellationToken).ConfigureAwait(false);
                        }

                        await client.WriteAsync(message, cancellationToken).ConfigureAwait(false);
                    }
                }
                finally
                {
                    if (exec.Running)
                    {
                        // The client left before the end: the process goes on without it, and its exit code is unknown.
                        Finish(exec, null);
                    }

                    await linked.CancelAsync().ConfigureAwait(false);
                    try
                    {
                        await input.ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
                    {
                    }
                }
            }
        }
    }

    public async Task ResizeAsync(string execId, int height, int width, CancellationToken cancellationToken)
    {
        ExecEntry exec = Lookup(execId);
        if (height < 0 || width < 0 || height > ushort.MaxValue || width > ushort.MaxValue)
        {
            throw EngineException.Invalid("invalid terminal size");
        }

        if (!exec.Request.Tty || !exec.Running)
        {
            return;
        }

        try
        {
            await MonitorLauncher.ResizeAsync(options.ContainerStateDirectory(exec.ContainerId), height, width, cancellationToken, exec.Id).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            throw EngineException.Conflict($"container {exec.ContainerId} is not running");
        }
    }

    public ExecInspect Inspect(string execId)
    {
        ExecEntry exec = Lookup(execId);
        ExecCreateRequest request = exec.Request;
        int pid = 0;
        if (exec.Running)
        {
            try
            {
                string text = File.ReadAllText(MonitorLauncher.ExecPidPath(options.ContainerStateDirectory(exec.ContainerId), exec.Id));
                _ = int.TryParse(text.Trim(), out pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        return new ExecInspect
        {
            ID = exec.Id,
            ContainerID = exec.ContainerId,
            Running = exec.Running,
            ExitCode = exec.ExitCode,
            Pid = pid,
            OpenStdin = request.AttachStdin,
            OpenStdout = request.AttachStdout,
            OpenStderr = request.AttachStderr,
            DetachKeys = request.DetachKeys ?? "",
            ProcessConfig = new ExecProcessConfig
            {
                Privileged = request.Privileged,
                User = request.User ?? "",
                Tty = request.Tty,
                Entrypoint = request.Cmd![0],
                Arguments = [.. request.Cmd.Skip(1)],
            },
        };
    }

    /// <summary>
    /// The exec, while its container exists: the removal's signal drops it from the table on a pool thread, after
    /// the remove may have answered, so a lookup right after a remove checks the container itself.
    /// </summary>
    private ExecEntry Lookup(string execId)
    {
        if (_execs.TryGetValue(execId, out ExecEntry? exec))
        {
            if (containers.Find(exec.ContainerId) is not null)
            {
                return exec;
            }

            _execs.TryRemove(execId, out _);
        }

        throw EngineException.NotFound($"No such exec instance: {execId}");
    }

    /// <summary>Docker's exit codes for an exec the runtime could not start: 127 not found, 126 not executable.</summary>
    public static int ExitCodeOf(MonitorExecExit? exit)
    {
        if (exit is null)
        {
            return 126;
        }

        if (exit.Error is not { } error)
        {
            return exit.ExitCode;
        }

        return error.Contains("executable file not found", StringComparison.Ordinal) || error.Contains("no such file or directory", StringComparison.Ordinal)
            ? 127
            : 126;
    }

    private void Finish(ExecEntry exec, MonitorExecExit? exit)
    {
        exec.ExitCode = ExitCodeOf(exit);
        exec.Running = false;
        LogExited(exec.Id, exec.ExitCode.Value);
        containers.Emit(exec.ContainerId, "exec_die", ("execID", exec.Id), ("exitCode", exec.ExitCode.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    private async Task FollowDetachedAsync(ExecEntry exec, Socket monitor)
    {
        try
        {
            MonitorExecExit? exit = await RelayAsync(monitor, Stream.Null, false, false, false, CancellationToken.None).ConfigureAwait(false);
            Finish(exec, exit);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            Finish(exec, null);
        }
        finally
        {
            monitor.Dispose();
        }
    }

    /// <summary>Relays stdout/stderr frames to the client (those it asked for) until the monitor's exit frame; returns that exit.</summary>
    private static async Task<MonitorExecExit?> RelayAsync(Socket monitor, Stream client, bool stdout, bool stderr, bool tty, CancellationToken cancellationToken)
    {
        byte[] header = new byte[8];
        byte[] buffer = new byte[32 * 1024];
        while (true)
        {
            if (!await AttachRelay.ReadExactlyAsync(monitor, header, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
            if (header[0] == 0)
            {
                if (length == 0)
                {
                    continue;
                }

                byte[] payload = new byte[Math.Min(length, 64 * 1024)];
                if (!await AttachRelay.ReadExactlyAsync(monitor, payload, cancellationToken).ConfigureAwait(false))
                {
                    return null;
                }

                try
                {
                    return JsonSerializer.Deserialize(payload, RuntimeJsonContext.Default.MonitorExecExit);
                }
                catch (JsonException)
                {
                    return null;
                }
            }

            bool wanted = header[0] switch { 1 => stdout, 2 => stderr, _ => false };
            if (!await AttachRelay.ForwardFrameAsync(monitor, client, header, length, wanted, tty, buffer, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }
        }
    }

    [LoggerMessage(EventId = 120, Level = LogLevel.Information, Message = "exec {Id} started in container {ContainerId}")]
    private partial void LogStarted(string id, string containerId);

    [LoggerMessage(EventId = 121, Level = LogLevel.Information, Message = "exec {Id} exited with {ExitCode}")]
    private partial void LogExited(string id, int exitCode);

    private sealed class ExecEntry(string id, string containerId, ExecCreateRequest request)
    {
        public string Id { get; } = id;

        public string ContainerId { get; } = containerId;

        public ExecCreateRequest Request { get; } = request;

        private volatile bool _running;

        public bool Started { get; set; }

        public bool Running { get => _running; set => _running = value; }

        public int? ExitCode { get; set; }
    }
}
