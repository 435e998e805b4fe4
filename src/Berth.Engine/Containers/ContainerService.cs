using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text.Json;
using Berth.Api.Types;
using Berth.Images;
using Berth.Interop;
using Berth.Primitives;
using Berth.Runtime;
using Berth.Storage.Metadata;
using Microsoft.Extensions.Logging;

namespace Berth.Engine.Containers;

/// <summary>
/// Containers and their state machine: created → running → exited (→ removed). Every transition holds the
/// container's own lock and publishes a new immutable record; readers (ps, inspect) never wait.
/// </summary>
public sealed partial class ContainerService : IContainerBackend, IDisposable
{
    private readonly ConcurrentDictionary<string, ContainerEntry> _containers = new(StringComparer.Ordinal);
    private readonly MetadataStore _metadata;
    private readonly ImageStore _images;
    private readonly RuncDriver _runtime;
    private readonly MonitorLauncher _monitors;
    private readonly HostFacts _host;
    private readonly EngineOptions _options;
    private readonly ILogger<ContainerService> _logger;
    private readonly CancellationTokenSource _shutdown = new();
    private int _disposed;

    public ContainerService(MetadataStore metadata, ImageStore images, RuncDriver runtime, MonitorLauncher monitors, HostFacts host, EngineOptions options, ILogger<ContainerService> logger)
    {
        _metadata = metadata;
        _images = images;
        _runtime = runtime;
        _monitors = monitors;
        _host = host;
        _options = options;
        _logger = logger;
        Directory.CreateDirectory(options.ContainersDirectory);
        foreach ((string id, _, string doc) in metadata.ListContainers())
        {
            ContainerRecord record = JsonSerializer.Deserialize(doc, EngineJsonContext.Default.ContainerRecord)!;
            _containers[id] = new ContainerEntry(record);
        }
    }

    /// <summary>Every container's current record.</summary>
    public IEnumerable<ContainerRecord> Records => _containers.Values.Select(e => e.Record);

    public void Dispose()
    {
        // Called twice at shutdown: DI disposes this singleton and the IContainerBackend registration that forwards to it.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _shutdown.Cancel();
        _shutdown.Dispose();
        foreach (ContainerEntry entry in _containers.Values)
        {
            entry.Dispose();
        }
    }

    // ---------------------------------------------------------------- create

    public async Task<ContainerCreateResponse> CreateAsync(string? name, ContainerCreateRequest request, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(request.Image))
        {
            throw EngineException.Invalid("No image was specified");
        }

        if (name is not null && !ValidName(name))
        {
            throw EngineException.Invalid($"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
        }

        ImageView image = _images.Get(request.Image);
        ContainerConfig config = MergeWithImage(request.ToConfig(), image.Record.Config.Config);
        IReadOnlyList<string> command = [.. config.Entrypoint ?? [], .. config.Cmd ?? []];
        if (command.Count == 0)
        {
            throw EngineException.Invalid("no command specified");
        }

        string id = Ids.NewId();
        HostConfig hostConfig = request.HostConfig ?? new HostConfig();
        if (string.IsNullOrEmpty(hostConfig.NetworkMode))
        {
            hostConfig = hostConfig with { NetworkMode = "none" };
        }

        var warnings = new List<string>();
        if (hostConfig.NetworkMode is not ("none" or "default" or "bridge"))
        {
            warnings.Add($"network mode {hostConfig.NetworkMode} is not supported yet; the container gets its own network namespace with loopback only");
        }

        config = config with { Hostname = string.IsNullOrEmpty(config.Hostname) ? id[..12] : config.Hostname, Image = request.Image };
        string directory = Path.Combine(_options.ContainersDirectory, id);
        Directory.CreateDirectory(directory);
        var record = new ContainerRecord
        {
            Id = id,
            Name = "/",
            Created = DateTimeOffset.UtcNow,
            Path = command[0],
            Args = [.. command.Skip(1)],
            Config = config,
            HostConfig = hostConfig,
            ImageId = image.Record.Id,
            LogPath = Path.Combine(directory, id + "-json.log"),
        };

        _images.Snapshots.Prepare(id, _images.LowerChain(image.Record));
        for (int attempt = 0; ; attempt++)
        {
            string candidate = "/" + (name ?? NameGenerator.Next(attempt));
            record = record with { Name = candidate };
            if (_metadata.TryInsertContainer(id, candidate, Serialize(record)))
            {
                break;
            }

            if (name is not null || attempt > 10)
            {
                _images.Snapshots.Remove(id);
                Directory.Delete(directory, recursive: true);
                string owner = _containers.Values.FirstOrDefault(e => e.Record.Name == candidate)?.Record.Id ?? "";
                throw EngineException.Conflict($"Conflict. The container name \"{candidate}\" is already in use by container \"{owner}\". You have to remove (or rename) that container to be able to reuse that name.");
            }
        }

        _containers[id] = new ContainerEntry(record);
        LogCreated(id, record.Name);
        await Task.CompletedTask.ConfigureAwait(false);
        return new ContainerCreateResponse { Id = id, Warnings = warnings };
    }

    private static bool ValidName(string name) =>
        name.Length > 0 && char.IsAsciiLetterOrDigit(name.TrimStart('/')[0]) && name.TrimStart('/').All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');

    /// <summary>The image's defaults fill what the request leaves out, as Docker does (an explicit entrypoint drops the image's cmd).</summary>
    private static ContainerConfig MergeWithImage(ContainerConfig config, ImageRuntimeConfig image)
    {
        IReadOnlyList<string>? entrypoint = config.Entrypoint;
        IReadOnlyList<string>? cmd = config.Cmd;
        if (entrypoint is null)
        {
            entrypoint = image.Entrypoint;
            cmd ??= image.Cmd;
        }
        else if (entrypoint.Count == 1 && entrypoint[0].Length == 0)
        {
            entrypoint = null; // --entrypoint "" resets it
        }

        var env = new List<string>(image.Env ?? []);
        foreach (string variable in config.Env ?? [])
        {
            string key = variable.Split('=', 2)[0];
            env.RemoveAll(e => e.Split('=', 2)[0] == key);
            env.Add(variable);
        }

        var labels = new Dictionary<string, string>(image.Labels ?? new Dictionary<string, string>());
        foreach ((string key, string value) in config.Labels ?? [])
        {
            labels[key] = value;
        }

        return config with
        {
            Entrypoint = entrypoint,
            Cmd = cmd,
            Env = env,
            Labels = labels,
            WorkingDir = string.IsNullOrEmpty(config.WorkingDir) ? image.WorkingDir : config.WorkingDir,
            User = string.IsNullOrEmpty(config.User) ? image.User : config.User,
            StopSignal = config.StopSignal ?? image.StopSignal,
        };
    }

    // ---------------------------------------------------------------- start

    public async Task<bool> StartAsync(string nameOrId, CancellationToken cancellationToken)
    {
        ContainerEntry entry = Lookup(nameOrId);
        await entry.Transition.WaitAsync(cancellationToken).ConfigureAwait(false);
        bool held = true;
        try
        {
            ContainerRecord record = entry.Record;
            if (record.IsRunning)
            {
                return false;
            }

            if (record.State.Status is ContainerStatus.Removing or ContainerStatus.Dead)
            {
                throw EngineException.Conflict($"cannot start container {record.Id}: container is marked for removal");
            }

            await StartLockedAsync(entry, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (EngineException) when (entry.Record.HostConfig.AutoRemove && !entry.Record.IsRunning)
        {
            // Docker removes an auto-remove container whose start failed; `docker run --rm` waits for that.
            entry.Transition.Release();
            held = false;
            await RemoveAsync(entry.Record.Id, force: true, removeVolumes: true, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        finally
        {
            if (held)
            {
                entry.Transition.Release();
            }
        }
    }

    private async Task StartLockedAsync(ContainerEntry entry, CancellationToken cancellationToken)
    {
        ContainerRecord record = entry.Record;
        long phase = System.Diagnostics.Stopwatch.GetTimestamp();
        ImageView image = _images.Snapshot.TryGetValue(record.ImageId, out ImageView? view)
            ? view
            : throw EngineException.NotFound($"No such image: {record.ImageId}");
        string directory = Path.Combine(_options.ContainersDirectory, record.Id);
        string bundle = Path.Combine(directory, "bundle");
        string rootfs = Path.Combine(bundle, "rootfs");
        string state = _options.ContainerStateDirectory(record.Id);
        // The previous run's monitor deletes the runtime's state just after it reports the exit; a new create of
        // the same id must come after that.
        await entry.RuntimeReleased.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        Directory.CreateDirectory(rootfs);
        var mount = _images.Snapshots.Mounts(record.Id, _images.LowerChain(image.Record));
        if (!entry.RootfsMounted)
        {
            Mount.Attach(mount.Source, rootfs, mount.Type == "bind" ? null : mount.Type, mount.Type == "bind" ? Mount.MS_BIND : 0, mount.Type == "bind" ? null : mount.Data);
            entry.RootfsMounted = true;
        }

        try
        {
            IReadOnlyList<(string, string)> etc = WriteEtcFiles(directory, record);
            (uint uid, uint gid) = ResolveUser(rootfs, record.Config.User);
            var spec = OciSpecBuilder.Build(new ContainerRunSpec
            {
                Id = record.Id,
                Args = [record.Path, .. record.Args],
                Env = record.Config.Env ?? [],
                WorkingDir = record.Config.WorkingDir ?? "/",
                Uid = uid,
                Gid = gid,
                Hostname = record.Config.Hostname ?? record.Id[..12],
                Tty = record.Config.Tty,
                ConsoleSize = record.HostConfig.ConsoleSize is [uint rows, uint columns] ? (rows, columns) : null,
                ReadonlyRootfs = record.HostConfig.ReadonlyRootfs,
                EtcFiles = etc,
                MemoryLimit = record.HostConfig.Memory,
                NanoCpus = record.HostConfig.NanoCpus,
                CpuShares = record.HostConfig.CpuShares,
                PidsLimit = record.HostConfig.PidsLimit,
                ShmSize = record.HostConfig.ShmSize is > 0 ? record.HostConfig.ShmSize.Value : 64L * 1024 * 1024,
            }, _host);
            if (!string.IsNullOrEmpty(spec.Process.Cwd) && spec.Process.Cwd != "/")
            {
                Directory.CreateDirectory(Storage.Filesystem.ScopedPath.Resolve(rootfs, spec.Process.Cwd));
            }

            await File.WriteAllBytesAsync(Path.Combine(bundle, "config.json"), JsonSerializer.SerializeToUtf8Bytes(spec, RuntimeJsonContext.Default.OciSpec), cancellationToken).ConfigureAwait(false);

            int pid;
            int monitorPid;
            try
            {
                double prepared = System.Diagnostics.Stopwatch.GetElapsedTime(phase).TotalMilliseconds;
                (pid, monitorPid) = await _monitors.LaunchAsync(record.Id, bundle, state, record.LogPath, record.Config.OpenStdin, cancellationToken, record.Config.Tty).ConfigureAwait(false);
                LogPhase(record.Id, "prepared", prepared);
                LogPhase(record.Id, "created", System.Diagnostics.Stopwatch.GetElapsedTime(phase).TotalMilliseconds);
            }
            catch (EngineException e)
            {
                int code = e.Message.Contains("executable file not found", StringComparison.Ordinal) || e.Message.Contains("no such file or directory", StringComparison.Ordinal) ? 127
                    : e.Kind == ErrorKind.InvalidArgument ? 126 : 128;
                entry.Publish(record with { State = record.State with { Error = e.Message, ExitCode = code } });
                Persist(entry.Record);
                throw;
            }

            // Attach clients that came first are connected before the process may run, so they see all output.
            foreach (TaskCompletionSource<Socket?> pending in TakePendingAttaches(entry))
            {
                try
                {
                    pending.TrySetResult(await MonitorLauncher.AttachAsync(state, cancellationToken).ConfigureAwait(false));
                }
                catch (Exception e) when (e is SocketException or IOException)
                {
                    pending.TrySetException(e);
                }
            }

            LogPhase(record.Id, "attached", System.Diagnostics.Stopwatch.GetElapsedTime(phase).TotalMilliseconds);
            await _runtime.StartAsync(record.Id, cancellationToken).ConfigureAwait(false);
            LogPhase(record.Id, "started", System.Diagnostics.Stopwatch.GetElapsedTime(phase).TotalMilliseconds);
            record = record with
            {
                State = new ContainerStateRecord { Status = ContainerStatus.Running, Pid = pid, StartedAt = DateTimeOffset.UtcNow },
            };
            entry.Publish(record);
            Persist(record);
            LogStarted(record.Id, pid);
            _ = WatchAsync(entry, state, monitorPid);
        }
        catch
        {
            if (!entry.Record.IsRunning)
            {
                UnmountRootfs(entry);
            }

            throw;
        }
    }

    private List<TaskCompletionSource<Socket?>> TakePendingAttaches(ContainerEntry entry)
    {
        lock (entry.PendingAttaches)
        {
            var taken = new List<TaskCompletionSource<Socket?>>(entry.PendingAttaches);
            entry.PendingAttaches.Clear();
            return taken;
        }
    }

    private static IReadOnlyList<(string, string)> WriteEtcFiles(string directory, ContainerRecord record)
    {
        string hostname = record.Config.Hostname ?? record.Id[..12];
        string hostnamePath = Path.Combine(directory, "hostname");
        string hostsPath = Path.Combine(directory, "hosts");
        string resolvPath = Path.Combine(directory, "resolv.conf");
        File.WriteAllText(hostnamePath, hostname + "\n");
        var hosts = new System.Text.StringBuilder();
        hosts.Append("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
        hosts.Append("127.0.1.1\t").Append(hostname).Append('\n');
        foreach (string extra in record.HostConfig.ExtraHosts ?? [])
        {
            string[] parts = extra.Split(':', 2);
            if (parts.Length == 2)
            {
                hosts.Append(parts[1]).Append('\t').Append(parts[0]).Append('\n');
            }
        }

        File.WriteAllText(hostsPath, hosts.ToString());
        File.WriteAllText(resolvPath, ResolvConf(record.HostConfig.Dns));
        return [(hostsPath, "/etc/hosts"), (hostnamePath, "/etc/hostname"), (resolvPath, "/etc/resolv.conf")];
    }

    /// <summary>The host's resolv.conf without loopback resolvers (unreachable from a container), as Docker does.</summary>
    private static string ResolvConf(IReadOnlyList<string>? dns)
    {
        var lines = new List<string>();
        if (dns is { Count: > 0 })
        {
            lines.AddRange(dns.Select(d => "nameserver " + d));
        }
        else if (File.Exists("/etc/resolv.conf"))
        {
            foreach (string line in File.ReadLines("/etc/resolv.conf"))
            {
                string trimmed = line.Trim();
                if (trimmed.StartsWith("nameserver", StringComparison.Ordinal) && (trimmed.Contains(" 127.", StringComparison.Ordinal) || trimmed.EndsWith(" ::1", StringComparison.Ordinal)))
                {
                    continue;
                }

                lines.Add(trimmed);
            }
        }

        if (!lines.Any(l => l.StartsWith("nameserver", StringComparison.Ordinal)))
        {
            lines.Add("nameserver 8.8.8.8");
            lines.Add("nameserver 8.8.4.4");
        }

        return string.Join('\n', lines) + "\n";
    }

    /// <summary>Resolves <c>user[:group]</c> (names or numbers) against the container's /etc/passwd and /etc/group.</summary>
    internal static (uint Uid, uint Gid) ResolveUser(string rootfs, string? user)
    {
        if (string.IsNullOrEmpty(user))
        {
            return (0, 0);
        }

        string[] parts = user.Split(':', 2);
        uint? gid = null;
        uint uid;
        if (uint.TryParse(parts[0], out uint numeric))
        {
            uid = numeric;
            gid = LookupDatabase(rootfs, "etc/passwd", e => e[2] == parts[0], 3);
        }
        else
        {
            uid = LookupDatabase(rootfs, "etc/passwd", e => e[0] == parts[0], 2)
                ?? throw EngineException.Invalid($"unable to find user {parts[0]}: no matching entries in passwd file");
            gid = LookupDatabase(rootfs, "etc/passwd", e => e[0] == parts[0], 3);
        }

        if (parts.Length == 2)
        {
            gid = uint.TryParse(parts[1], out uint g) ? g
                : LookupDatabase(rootfs, "etc/group", e => e[0] == parts[1], 2) ?? throw EngineException.Invalid($"unable to find group {parts[1]}: no matching entries in group file");
        }

        return (uid, gid ?? 0);
    }

    private static uint? LookupDatabase(string rootfs, string file, Func<string[], bool> match, int field)
    {
        string path = Storage.Filesystem.ScopedPath.Resolve(rootfs, file);
        if (!File.Exists(path))
        {
            return null;
        }

        foreach (string line in File.ReadLines(path))
        {
            string[] entry = line.Split(':');
            if (entry.Length > field && match(entry) && uint.TryParse(entry[field], out uint value))
            {
                return value;
            }
        }

        return null;
    }

    /// <summary>Follows a running container until it exits, then records the exit.</summary>
    private async Task WatchAsync(ContainerEntry entry, string state, int? monitorPid)
    {
        MonitorExit? exit = null;
        try
        {
            (exit, Task released) = await MonitorLauncher.WaitAsync(state, _shutdown.Token).ConfigureAwait(false);
            entry.RuntimeReleased = released;
            if (monitorPid is int pid)
            {
                _ = released.ContinueWith(_ => MonitorLauncher.ReapAsync(pid), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
            }
        }
        catch (OperationCanceledException)
        {
            return; // the daemon is stopping; the monitor keeps the container and we restore it next start
        }
        catch (Exception e)
        {
            LogWatchFailed(entry.Record.Id, e);
        }

        await OnExitedAsync(entry, exit ?? new MonitorExit { ExitCode = 255, FinishedAt = DateTimeOffset.UtcNow }).ConfigureAwait(false);
    }

    private async Task OnExitedAsync(ContainerEntry entry, MonitorExit exit)
    {
        await entry.Transition.WaitAsync().ConfigureAwait(false);
        bool autoRemove;
        try
        {
            ContainerRecord record = entry.Record with
            {
                State = entry.Record.State with
                {
                    Status = ContainerStatus.Exited,
                    Pid = 0,
                    ExitCode = exit.ExitCode,
                    OomKilled = exit.OomKilled,
                    FinishedAt = exit.FinishedAt,
                },
            };
            UnmountRootfs(entry);
            entry.Publish(record);
            Persist(record);
            LogExited(record.Id, exit.ExitCode);
            autoRemove = record.HostConfig.AutoRemove;
        }
        finally
        {
            entry.Transition.Release();
        }

        entry.SignalExit(exit.ExitCode);
        if (autoRemove)
        {
            try
            {
                await RemoveAsync(entry.Record.Id, force: true, removeVolumes: true, CancellationToken.None).ConfigureAwait(false);
            }
            catch (EngineException e) when (e.Kind == ErrorKind.NotFound)
            {
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NativeException or EngineException)
            {
                // Nobody awaits this removal: say why the container stayed.
                LogAutoRemoveFailed(entry.Record.Id, e);
            }
        }
    }

    private void UnmountRootfs(ContainerEntry entry)
    {
        string rootfs = Path.Combine(_options.ContainersDirectory, entry.Record.Id, "bundle", "rootfs");
        try
        {
            Mount.Detach(rootfs);
        }
        catch (NativeException e)
        {
            LogUnmountFailed(rootfs, e);
            Mount.Detach(rootfs, lazy: true);
        }

        entry.RootfsMounted = false;
    }

    // ---------------------------------------------------------------- wait, attach, logs

    /// <summary>Ends every long wait, attach and follow (the daemon is stopping; containers keep running).</summary>
    public void BeginShutdown() => _shutdown.Cancel();

    public async Task<ContainerWaitResponse> WaitAsync(string nameOrId, string condition, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _shutdown.Token);
        cancellationToken = linked.Token;
        ContainerEntry entry = Lookup(nameOrId);
        switch (condition)
        {
            case "" or "not-running":
                if (!entry.Record.IsRunning)
                {
                    return new ContainerWaitResponse { StatusCode = entry.Record.State.ExitCode };
                }

                return new ContainerWaitResponse { StatusCode = await entry.NextExit.Task.WaitAsync(cancellationToken).ConfigureAwait(false) };
            case "next-exit":
                return new ContainerWaitResponse { StatusCode = await entry.NextExit.Task.WaitAsync(cancellationToken).ConfigureAwait(false) };
            case "removed":
                await entry.Removed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                return new ContainerWaitResponse { StatusCode = entry.Record.State.ExitCode };
            default:
                throw EngineException.Invalid($"invalid condition: \"{condition}\"");
        }
    }

    public async Task AttachAsync(string nameOrId, AttachOptions options, Func<Task<Stream>> openClient, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _shutdown.Token);
        cancellationToken = linked.Token;
        ContainerEntry entry = Lookup(nameOrId);

        // Register before the client hears back: `docker run` starts the container as soon as its attach is
        // answered, and the attach must already be in place then or early output is lost.
        Socket? monitor = null;
        TaskCompletionSource<Socket?>? pending = null;
        if (options.Stream)
        {
            await entry.Transition.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (entry.Record.IsRunning)
                {
                    monitor = await MonitorLauncher.AttachAsync(_options.ContainerStateDirectory(entry.Record.Id), cancellationToken).ConfigureAwait(false);
                }
                else if (entry.Record.State.Status is ContainerStatus.Created or ContainerStatus.Exited)
                {
                    // Docker lets a client attach to a stopped container and waits for its next start.
                    pending = new TaskCompletionSource<Socket?>(TaskCreationOptions.RunContinuationsAsynchronously);
                    lock (entry.PendingAttaches)
                    {
                        entry.PendingAttaches.Add(pending);
                    }
                }
            }
            finally
            {
                entry.Transition.Release();
            }
        }

        try
        {
            Stream client = await openClient().ConfigureAwait(false);
            await using (client.ConfigureAwait(false))
            {
                if (options.Logs)
                {
                    await LogsAsync(entry.Record.Id, new LogsOptions(options.Stdout, options.Stderr, false, false, null, 0, 0), client, cancellationToken).ConfigureAwait(false);
                }

                if (pending is not null)
                {
                    monitor = await pending.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                }

                if (monitor is not null)
                {
                    await AttachRelay.RunAsync(monitor, client, options, entry.Record.Config.Tty, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            monitor?.Dispose();
            if (pending is not null)
            {
                lock (entry.PendingAttaches)
                {
                    entry.PendingAttaches.Remove(pending);
                }

                // Started meanwhile, after we gave up: close the connection the start made for us.
                if (pending.Task.IsCompletedSuccessfully && await pending.Task.ConfigureAwait(false) is { } orphan && orphan != monitor)
                {
                    orphan.Dispose();
                }
            }
        }
    }

    public async Task ResizeAsync(string nameOrId, int height, int width, CancellationToken cancellationToken)
    {
        ContainerEntry entry = Lookup(nameOrId);
        if (!entry.Record.IsRunning)
        {
            throw EngineException.Conflict($"Container {entry.Record.Id} is not running");
        }

        if (height < 0 || width < 0 || height > ushort.MaxValue || width > ushort.MaxValue)
        {
            throw EngineException.Invalid("invalid terminal size");
        }

        if (!entry.Record.Config.Tty)
        {
            return; // Docker ignores a resize of a container without a TTY
        }

        try
        {
            await MonitorLauncher.ResizeAsync(_options.ContainerStateDirectory(entry.Record.Id), height, width, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            throw EngineException.Conflict($"Container {entry.Record.Id} is not running");
        }
    }

    public async Task LogsAsync(string nameOrId, LogsOptions options, Stream output, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _shutdown.Token);
        ContainerEntry entry = Lookup(nameOrId);
        await JsonFileLogReader.CopyAsync(entry.Record.LogPath, options with { Raw = entry.Record.Config.Tty }, output, () => entry.Record.IsRunning, linked.Token).ConfigureAwait(false);
    }

    // ---------------------------------------------------------------- stop, kill, remove

    public async Task<bool> StopAsync(string nameOrId, int? timeoutSeconds, string? signal, CancellationToken cancellationToken)
    {
        ContainerEntry entry = Lookup(nameOrId);
        if (!entry.Record.IsRunning)
        {
            return false;
        }

        Task<int> exited = entry.NextExit.Task;
        int stopSignal = Signals.Parse(signal ?? entry.Record.Config.StopSignal, Signals.SIGTERM);
        int timeout = timeoutSeconds ?? entry.Record.Config.StopTimeout ?? 10;
        await _runtime.KillAsync(entry.Record.Id, stopSignal, all: false, cancellationToken).ConfigureAwait(false);
        if (timeout >= 0 && await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(timeout), cancellationToken)).ConfigureAwait(false) == exited)
        {
            return true;
        }

        await _runtime.KillAsync(entry.Record.Id, Signals.SIGKILL, all: true, cancellationToken).ConfigureAwait(false);
        await exited.WaitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task KillAsync(string nameOrId, string? signal, CancellationToken cancellationToken)
    {
        ContainerEntry entry = Lookup(nameOrId);
        if (!entry.Record.IsRunning)
        {
            throw EngineException.Conflict($"cannot kill container: {nameOrId}: container {entry.Record.Id} is not running");
        }

        await _runtime.KillAsync(entry.Record.Id, Signals.Parse(signal, Signals.SIGKILL), all: false, cancellationToken).ConfigureAwait(false);
    }

    public async Task RemoveAsync(string nameOrId, bool force, bool removeVolumes, CancellationToken cancellationToken)
    {
        ContainerEntry entry = Lookup(nameOrId);
        if (entry.Record.IsRunning)
        {
            if (!force)
            {
                throw EngineException.Conflict($"cannot remove container \"{entry.Record.Name}\": container is running: stop the container before removing or force remove");
            }

            Task<int> exited = entry.NextExit.Task;
            await _runtime.KillAsync(entry.Record.Id, Signals.SIGKILL, all: true, cancellationToken).ConfigureAwait(false);
            await exited.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        }

        await entry.Transition.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_containers.ContainsKey(entry.Record.Id))
            {
                return; // removed meanwhile (auto-remove)
            }

            ContainerRecord record = entry.Record;
            entry.Publish(record with { State = record.State with { Status = ContainerStatus.Removing } });
            UnmountRootfs(entry);
            _metadata.DeleteContainer(record.Id);
            _containers.TryRemove(record.Id, out _);
            _images.Snapshots.Remove(record.Id);
            DeleteDirectory(Path.Combine(_options.ContainersDirectory, record.Id));
            _ = RemoveStateDirectoryAsync(entry.RuntimeReleased, _options.ContainerStateDirectory(record.Id));
            foreach (TaskCompletionSource<Socket?> pending in TakePendingAttaches(entry))
            {
                pending.TrySetResult(null);
            }

            LogRemoved(record.Id);
        }
        finally
        {
            entry.Transition.Release();
        }

        entry.Removed.TrySetResult(0);
        entry.SignalExit(entry.Record.State.ExitCode);
    }

    private static void DeleteDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }

    /// <summary>
    /// The monitor's state directory goes once the monitor has let go of it (exit.json, the runtime's delete, its
    /// socket), off the path of the removal the client waits for.
    /// </summary>
    private async Task RemoveStateDirectoryAsync(Task released, string path)
    {
        try
        {
            await released.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        for (int attempt = 0; ; attempt++)
        {
            try
            {
                DeleteDirectory(path);
                return;
            }
            catch (IOException e) when (attempt < 10)
            {
                LogStateRemovalRetry(path, e.Message);
                await Task.Delay(50).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                LogStateRemovalRetry(path, e.Message);
                return; // a stray directory under the exec root: harmless, and gone at the next boot (tmpfs)
            }
        }
    }

    // ---------------------------------------------------------------- restore

    /// <summary>
    /// Reconciles records with reality after a (re)start: containers whose monitor still runs are followed again
    /// (live restore); the others get the exit their monitor recorded; stray mounts are undone.
    /// </summary>
    public async Task RestoreAsync(CancellationToken cancellationToken)
    {
        foreach (ContainerEntry entry in _containers.Values)
        {
            ContainerRecord record = entry.Record;
            string state = _options.ContainerStateDirectory(record.Id);
            if (record.State.Status == ContainerStatus.Removing)
            {
                await RemoveAsync(record.Id, force: true, removeVolumes: true, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (record.IsRunning && File.Exists(MonitorLauncher.SocketPath(state)))
            {
                entry.RootfsMounted = true;
                LogRestored(record.Id);
                _ = WatchAsync(entry, state, monitorPid: null);
                continue;
            }

            UnmountRootfs(entry);
            if (record.IsRunning)
            {
                MonitorExit exit = MonitorLauncher.ReadExitFile(state) ?? new MonitorExit { ExitCode = 255, FinishedAt = DateTimeOffset.UtcNow };
                await OnExitedAsync(entry, exit).ConfigureAwait(false);
            }
        }

        _images.Snapshots.RemoveIncompleteLayers();
        foreach (string key in _images.Snapshots.ActiveKeys().Where(k => !_containers.ContainsKey(k)).ToList())
        {
            _images.Snapshots.Remove(key); // a crash between snapshot and metadata
        }
    }

    // ---------------------------------------------------------------- read side

    public IReadOnlyList<ContainerSummary> List(bool all, int limit, IReadOnlyDictionary<string, IReadOnlyList<string>> filters) =>
        ContainerViews.List(Records, _images, all, limit, filters);

    public ContainerInspect Inspect(string nameOrId) =>
        ContainerViews.Inspect(Lookup(nameOrId).Record, _options, _images);

    /// <summary>Whether an image is used by any container (image removal asks).</summary>
    public IEnumerable<ContainerRecord> UsingImage(string imageId) => Records.Where(r => r.ImageId == imageId);

    /// <summary>Finds by full id, name (with or without slash), or unique id prefix; Docker's 404 otherwise.</summary>
    internal ContainerEntry Lookup(string nameOrId)
    {
        if (_containers.TryGetValue(nameOrId, out ContainerEntry? byId))
        {
            return byId;
        }

        string name = nameOrId.StartsWith('/') ? nameOrId : "/" + nameOrId;
        ContainerEntry? byName = _containers.Values.FirstOrDefault(e => e.Record.Name == name);
        if (byName is not null)
        {
            return byName;
        }

        if (Ids.IsHexPrefix(nameOrId))
        {
            ContainerEntry[] matches = [.. _containers.Values.Where(e => e.Record.Id.StartsWith(nameOrId, StringComparison.Ordinal))];
            if (matches.Length == 1)
            {
                return matches[0];
            }

            if (matches.Length > 1)
            {
                throw EngineException.Invalid($"multiple IDs found with provided prefix: {nameOrId}");
            }
        }

        throw EngineException.NotFound($"No such container: {nameOrId}");
    }

    private void Persist(ContainerRecord record) => _metadata.UpdateContainer(record.Id, Serialize(record));

    private static string Serialize(ContainerRecord record) => JsonSerializer.Serialize(record, EngineJsonContext.Default.ContainerRecord);

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "container {Id} created as {Name}")]
    private partial void LogCreated(string id, string name);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "container {Id} started, pid {Pid}")]
    private partial void LogStarted(string id, int pid);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "container {Id} exited with {ExitCode}")]
    private partial void LogExited(string id, int exitCode);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "container {Id} removed")]
    private partial void LogRemoved(string id);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "container {Id} restored: its monitor is still running")]
    private partial void LogRestored(string id);

    [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "following container {Id} failed")]
    private partial void LogWatchFailed(string id, Exception exception);

    [LoggerMessage(EventId = 107, Level = LogLevel.Debug, Message = "container {Id} start: {Phase} after {Milliseconds:F1} ms")]
    private partial void LogPhase(string id, string phase, double milliseconds);

    [LoggerMessage(EventId = 108, Level = LogLevel.Warning, Message = "auto-removing container {Id} failed")]
    private partial void LogAutoRemoveFailed(string id, Exception exception);

    [LoggerMessage(EventId = 109, Level = LogLevel.Debug, Message = "removing state directory {Path}: {Reason}")]
    private partial void LogStateRemovalRetry(string path, string reason);

    [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "unmounting {Path} failed; detaching lazily")]
    private partial void LogUnmountFailed(string path, Exception exception);
}
