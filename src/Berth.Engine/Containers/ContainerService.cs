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
    private readonly Networking.NetworkService _networks;
    private readonly EngineOptions _options;
    private readonly Volumes.VolumeService _volumes;
    private readonly ILogger<ContainerService> _logger;
    private readonly Events.EventLog _events;
    private readonly CancellationTokenSource _shutdown = new();
    private int _disposed;

    public ContainerService(MetadataStore metadata, ImageStore images, RuncDriver runtime, MonitorLauncher monitors, HostFacts host, EngineOptions options, Volumes.VolumeService volumes, ILogger<ContainerService> logger, Events.EventLog events, Networking.NetworkService networks)
    {
        _volumes = volumes;
        _events = events;
        _networks = networks;
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
            foreach (Volumes.ContainerMount mount in record.Mounts.Where(m => m.Name is not null))
            {
                volumes.Reference(mount.Name!, id);
            }
        }
    }

    /// <summary>Every container's current record.</summary>
    public IEnumerable<ContainerRecord> Records => _containers.Values.Select(e => e.Record);

    /// <summary>Ends every long wait, attach and follow (the daemon is stopping; containers keep running).</summary>
    public void BeginShutdown() => _shutdown.Cancel();

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

    public Task<ContainerCreateResponse> CreateAsync(string? name, ContainerCreateRequest request, CancellationToken cancellationToken)
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
        ValidateRestartPolicy(hostConfig);
        ContainerFields.Validate(config, hostConfig);
        hostConfig = hostConfig with { NetworkMode = NormalizeNetworkMode(hostConfig.NetworkMode) };
        (hostConfig, IReadOnlyList<string> settingWarnings) = RuntimeSettings.Validate(hostConfig, _host);
        hostConfig = hostConfig with { Runtime = _runtime.Options.ResolveName(hostConfig.Runtime) };
        hostConfig = LogSettings.Validate(_options.Defaults.Apply(hostConfig));
        var warnings = new List<string>(settingWarnings);
        Dictionary<string, EndpointSettings>? networks = ConfigureNetworks(hostConfig, request.NetworkingConfig);

        (IReadOnlyList<Volumes.ContainerMount> mounts, IReadOnlyList<string> mountWarnings) = PrepareMounts(id, config, hostConfig, image.Record.Config.Config);
        warnings.AddRange(mountWarnings);
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
            Mounts = mounts,
            Networks = networks,
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
                ReleaseMounts(id, mounts, removeAnonymous: true);
                string owner = _containers.Values.FirstOrDefault(e => e.Record.Name == candidate)?.Record.Id ?? "";
                throw EngineException.Conflict($"Conflict. The container name \"{candidate}\" is already in use by container \"{owner}\". You have to remove (or rename) that container to be able to reuse that name.");
            }
        }

        _containers[id] = new ContainerEntry(record);
        LogCreated(id, record.Name);
        Emit(record, "create");
        return Task.FromResult(new ContainerCreateResponse { Id = id, Warnings = warnings });
    }

    private static bool ValidName(string name) =>
        name.Length > 0 && char.IsAsciiLetterOrDigit(name.TrimStart('/')[0]) && name.TrimStart('/').All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');

    /// <summary>
    /// The image's defaults fill what the request leaves out, as Docker does: an empty cmd (absent or <c>[]</c>, as typed
    /// clients such as Docker.DotNet send it) takes the image's unless an entrypoint is given, and an absent entrypoint
    /// takes the image's (an explicit one drops the image's cmd).
    /// </summary>
    private static ContainerConfig MergeWithImage(ContainerConfig config, ImageRuntimeConfig image)
    {
        IReadOnlyList<string>? entrypoint = config.Entrypoint;
        IReadOnlyList<string>? cmd = config.Cmd;
        if (entrypoint is not { Count: > 0 })
        {
            cmd = cmd is { Count: > 0 } ? cmd : image.Cmd;
            entrypoint ??= image.Entrypoint;
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

    // ---------------------------------------------------------------- restore

    /// <summary>
    /// Reconciles records with reality after a (re)start: containers whose monitor still runs are followed again
    /// (live restore); the others get the exit their monitor recorded; stray mounts are undone.
    /// </summary>
    public async Task RestoreAsync(CancellationToken cancellationToken)
    {
        DeleteSetAside(); // first: the removals below set their own aside
        foreach (ContainerEntry entry in _containers.Values)
        {
            ContainerRecord record = entry.Record;
            if (record.State.Status == ContainerStatus.Restarting)
            {
                record = SettleInterruptedRestart(entry);
            }

            string state = _options.ContainerStateDirectory(record.Id);
            if (record.State.Status == ContainerStatus.Removing)
            {
                await RemoveAsync(record.Id, force: true, removeVolumes: true, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (record.IsRunning && File.Exists(MonitorLauncher.SocketPath(state)))
            {
                entry.RootfsMounted = true;
                _runtime.Restore(record.Id, record.HostConfig.Runtime);
                foreach (Volumes.ContainerMount mount in record.Mounts.Where(m => m.Name is not null))
                {
                    _volumes.Adopt(mount.Name!, record.Id);
                }

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

        _volumes.ReleaseStaleMounts();
        _images.Snapshots.RemoveIncompleteLayers();
        foreach (string key in _images.Snapshots.ActiveKeys().Where(k => !_containers.ContainsKey(k)).ToList())
        {
            _images.Snapshots.Remove(key); // a crash between snapshot and metadata
        }

        await StartByPolicyAtBootAsync(cancellationToken).ConfigureAwait(false);
    }

    // ---------------------------------------------------------------- read side

    public IReadOnlyList<ContainerSummary> List(bool all, int limit, IReadOnlyDictionary<string, IReadOnlyList<string>> filters) =>
        [.. ContainerViews.List(Records, _images, all, limit, filters).Select(s => _containers.TryGetValue(s.Id, out ContainerEntry? e) ? WithNetwork(s, e.Record) : s)];

    public ContainerInspect Inspect(string nameOrId)
    {
        ContainerRecord record = Lookup(nameOrId).Record;
        return ContainerViews.Inspect(record, _options, _images) with { NetworkSettings = NetworkSettingsFor(record) };
    }

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

    [LoggerMessage(EventId = 110, Level = LogLevel.Debug, Message = "container {Id} exit: {Phase} after {Milliseconds:F1} ms")]
    private partial void LogExitPhase(string id, string phase, double milliseconds);

    [LoggerMessage(EventId = 111, Level = LogLevel.Debug, Message = "container {Id} removal: {Phase} after {Milliseconds:F1} ms")]
    private partial void LogRemovalPhase(string id, string phase, double milliseconds);

    [LoggerMessage(EventId = 112, Level = LogLevel.Warning, Message = "deleting {Path} of a removed container failed; the next start deletes it")]
    private partial void LogSetAsideDeletionFailed(string path, Exception exception);

    [LoggerMessage(EventId = 108, Level = LogLevel.Warning, Message = "auto-removing container {Id} failed")]
    private partial void LogAutoRemoveFailed(string id, Exception exception);

    [LoggerMessage(EventId = 109, Level = LogLevel.Debug, Message = "removing state directory {Path}: {Reason}")]
    private partial void LogStateRemovalRetry(string path, string reason);

    [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "unmounting {Path} failed; detaching lazily")]
    private partial void LogUnmountFailed(string path, Exception exception);
}
