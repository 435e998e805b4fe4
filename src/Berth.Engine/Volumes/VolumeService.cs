using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Berth.Api.Types;
using Berth.Engine.Events;
using Berth.Interop;
using Berth.Primitives;
using Berth.Storage.Metadata;
using Microsoft.Extensions.Logging;

namespace Berth.Engine.Volumes;

/// <summary>
/// The local volume driver and its store: each volume is <c>DATA_ROOT/volumes/NAME/_data</c>, its record a row in
/// the metadata store. Containers that reference a volume (from create to removal) keep it from being removed;
/// a volume with driver options (<c>type</c>/<c>o</c>/<c>device</c>) is mounted while at least one container runs
/// with it.
/// </summary>
public sealed partial class VolumeService : IVolumeBackend
{
    public const string LocalDriver = "local";

    /// <summary>The label Docker puts on anonymous volumes; prune removes only these by default.</summary>
    public const string AnonymousLabel = "com.docker.volume.anonymous";

    private static readonly string[] ValidOptionKeys = ["type", "o", "device"];

    private readonly MetadataStore _metadata;
    private readonly EventLog _events;
    private readonly ILogger<VolumeService> _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, VolumeRecord> _volumes = new(StringComparer.Ordinal);

    /// <summary>Volume name → ids of the containers whose record references it.</summary>
    private readonly Dictionary<string, HashSet<string>> _users = new(StringComparer.Ordinal);

    /// <summary>Volume name → ids of the running containers that mounted it.</summary>
    private readonly Dictionary<string, HashSet<string>> _active = new(StringComparer.Ordinal);

    public VolumeService(MetadataStore metadata, EngineOptions options, EventLog events, ILogger<VolumeService> logger)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(options);
        _metadata = metadata;
        _events = events;
        _logger = logger;
        VolumesDirectory = Path.Combine(options.DataRoot, "volumes");
        Directory.CreateDirectory(VolumesDirectory);
        foreach ((string name, string doc) in metadata.ListVolumes())
        {
            _volumes[name] = JsonSerializer.Deserialize(doc, VolumeJsonContext.Default.VolumeRecord)!;
        }
    }

    public string VolumesDirectory { get; }

    /// <summary>Where a volume's data lives on the host.</summary>
    public string Mountpoint(string name) => Path.Combine(VolumesDirectory, name, "_data");

    // ---------------------------------------------------------------- API

    public VolumeListResponse List(IReadOnlyDictionary<string, IReadOnlyList<string>> filters)
    {
        ArgumentNullException.ThrowIfNull(filters);
        foreach (string key in filters.Keys)
        {
            if (key is not ("dangling" or "name" or "label" or "driver"))
            {
                throw EngineException.Invalid($"invalid filter '{key}'");
            }
        }

        lock (_gate)
        {
            return new VolumeListResponse
            {
                Volumes = [.. _volumes.Values.Where(v => Matches(v, filters)).OrderBy(v => v.Name, StringComparer.Ordinal).Select(View)],
            };
        }
    }

    public Volume Inspect(string name)
    {
        lock (_gate)
        {
            return View(Get(name));
        }
    }

    public Volume Create(VolumeCreateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        string driver = string.IsNullOrEmpty(options.Driver) ? LocalDriver : options.Driver;
        if (driver != LocalDriver)
        {
            throw EngineException.NotFound($"error looking up volume plugin {driver}: plugin \"{driver}\" not found");
        }

        string name = string.IsNullOrEmpty(options.Name) ? Ids.NewId() : options.Name;
        var labels = new Dictionary<string, string>(options.Labels ?? [], StringComparer.Ordinal);
        if (string.IsNullOrEmpty(options.Name))
        {
            labels[AnonymousLabel] = "";
        }

        return View(GetOrCreate(name, labels, options.DriverOpts ?? []));
    }

    public void Remove(string name, bool force)
    {
        lock (_gate)
        {
            if (!_volumes.TryGetValue(name, out VolumeRecord? volume))
            {
                if (force)
                {
                    return;
                }

                throw EngineException.NotFound($"get {name}: no such volume");
            }

            if (_users.TryGetValue(name, out HashSet<string>? users) && users.Count > 0)
            {
                throw EngineException.Conflict($"remove {name}: volume is in use - [{string.Join(", ", users.Order(StringComparer.Ordinal))}]");
            }

            DeleteLocked(volume);
        }
    }

    public VolumePruneResponse Prune(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, bool anonymousOnly)
    {
        ArgumentNullException.ThrowIfNull(filters);
        bool all = !anonymousOnly;
        foreach ((string key, IReadOnlyList<string> values) in filters)
        {
            switch (key)
            {
                case "label" or "label!":
                    break;
                case "all":
                    all = values.Any(v => v is "1" or "true" or "True")
                        || (values.All(v => v is "0" or "false" or "False") ? false : throw EngineException.Invalid($"invalid filter 'all={string.Join(",", values)}'"));
                    break;
                default:
                    throw EngineException.Invalid($"invalid filter '{key}'");
            }
        }

        var deleted = new List<string>();
        long reclaimed = 0;
        lock (_gate)
        {
            foreach (VolumeRecord volume in _volumes.Values.OrderBy(v => v.Name, StringComparer.Ordinal).ToList())
            {
                if (InUseLocked(volume.Name) || (!all && !volume.IsAnonymous) || !LabelsMatch(volume, filters))
                {
                    continue;
                }

                long size = volume.NeedsMount ? 0 : DirectorySize(Mountpoint(volume.Name));
                DeleteLocked(volume);
                deleted.Add(volume.Name);
                reclaimed += size;
            }
        }

        return new VolumePruneResponse { VolumesDeleted = deleted, SpaceReclaimed = reclaimed };
    }

    /// <summary>Every volume with its size in bytes and the number of containers referencing it (for <c>system df</c>).</summary>
    public IReadOnlyList<Volume> Usage()
    {
        List<(VolumeRecord Volume, int RefCount)> snapshot;
        lock (_gate)
        {
            snapshot = [.. _volumes.Values.Select(v => (v, _users.TryGetValue(v.Name, out HashSet<string>? u) ? u.Count : 0))];
        }

        return [.. snapshot.Select(s => View(s.Volume) with
        {
            UsageData = new VolumeUsageData { Size = DirectorySize(Mountpoint(s.Volume.Name)), RefCount = s.RefCount },
        })];
    }

    // ---------------------------------------------------------------- containers

    /// <summary>
    /// The named volume, created if missing (<c>-v name:/path</c> as Docker does); an anonymous volume when
    /// <paramref name="name"/> is null. Returns the volume's name and whether it was created now.
    /// </summary>
    public (string Name, bool Created) Ensure(string? name, IReadOnlyDictionary<string, string>? driverOptions = null, IReadOnlyDictionary<string, string>? extraLabels = null)
    {
        bool anonymous = name is null;
        name ??= Ids.NewId();
        lock (_gate)
        {
            if (_volumes.ContainsKey(name))
            {
                return (name, false);
            }
        }

        var labels = new Dictionary<string, string>(extraLabels ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        if (anonymous)
        {
            labels[AnonymousLabel] = "";
        }

        GetOrCreate(name, labels, driverOptions ?? new Dictionary<string, string>());
        return (name, true);
    }

    public bool Exists(string name)
    {
        lock (_gate)
        {
            return _volumes.ContainsKey(name);
        }
    }

    /// <summary>Records that a container references the volume (from its create until its removal).</summary>
    public void Reference(string name, string containerId)
    {
        lock (_gate)
        {
            if (!_users.TryGetValue(name, out HashSet<string>? users))
            {
                users = new HashSet<string>(StringComparer.Ordinal);
                _users[name] = users;
            }

            users.Add(containerId);
        }
    }

    /// <summary>Drops a container's reference; with <paramref name="removeAnonymous"/> an anonymous volume nobody else uses goes too.</summary>
    public void Release(string name, string containerId, bool removeAnonymous)
    {
        lock (_gate)
        {
            if (_users.TryGetValue(name, out HashSet<string>? users))
            {
                users.Remove(containerId);
                if (users.Count == 0)
                {
                    _users.Remove(name);
                }
            }

            if (removeAnonymous && _volumes.TryGetValue(name, out VolumeRecord? volume) && volume.IsAnonymous && !InUseLocked(name))
            {
                DeleteLocked(volume);
            }
        }
    }

    /// <summary>
    /// Makes the volume ready for a starting container: mounts a volume with driver options if no other running
    /// container has; returns its host path.
    /// </summary>
    public string Mount(string name, string containerId, string destination, bool readWrite, string propagation)
    {
        lock (_gate)
        {
            VolumeRecord volume = Get(name);
            string path = Mountpoint(name);
            Directory.CreateDirectory(path);
            if (!_active.TryGetValue(name, out HashSet<string>? active))
            {
                active = new HashSet<string>(StringComparer.Ordinal);
                _active[name] = active;
            }

            if (active.Count == 0 && volume.NeedsMount)
            {
                MountWithOptions(volume, path);
            }

            active.Add(containerId);
            _events.Publish("volume", "mount", name, new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["container"] = containerId,
                ["destination"] = destination,
                ["driver"] = volume.Driver,
                ["propagation"] = propagation,
                ["read/write"] = readWrite ? "true" : "false",
            });
            return path;
        }
    }

    /// <summary>A container that mounted the volume stopped: the last one out unmounts a volume with driver options.</summary>
    public void Unmount(string name, string containerId)
    {
        lock (_gate)
        {
            if (!_active.TryGetValue(name, out HashSet<string>? active) || !active.Remove(containerId))
            {
                return;
            }

            _volumes.TryGetValue(name, out VolumeRecord? volume);
            if (active.Count == 0)
            {
                _active.Remove(name);
                if (volume is { NeedsMount: true })
                {
                    DetachLocked(name);
                }
            }

            _events.Publish("volume", "unmount", name, new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["container"] = containerId,
                ["driver"] = volume?.Driver ?? LocalDriver,
            });
        }
    }

    /// <summary>A container found still running after a daemon restart keeps the volume mounted.</summary>
    public void Adopt(string name, string containerId)
    {
        lock (_gate)
        {
            if (!_active.TryGetValue(name, out HashSet<string>? active))
            {
                active = new HashSet<string>(StringComparer.Ordinal);
                _active[name] = active;
            }

            active.Add(containerId);
        }
    }

    /// <summary>After restore: volumes with driver options that no running container uses are unmounted (a crash left them).</summary>
    public void ReleaseStaleMounts()
    {
        lock (_gate)
        {
            foreach (VolumeRecord volume in _volumes.Values.Where(v => v.NeedsMount && !_active.ContainsKey(v.Name)))
            {
                DetachLocked(volume.Name);
            }
        }
    }

    // ---------------------------------------------------------------- internals

    private VolumeRecord GetOrCreate(string name, Dictionary<string, string> labels, IReadOnlyDictionary<string, string> driverOptions)
    {
        ValidateName(name);
        var options = new Dictionary<string, string>(driverOptions, StringComparer.Ordinal);
        ValidateOptions(options);
        lock (_gate)
        {
            if (_volumes.TryGetValue(name, out VolumeRecord? existing))
            {
                return existing;
            }

            var volume = new VolumeRecord { Name = name, CreatedAt = DateTimeOffset.UtcNow, Labels = labels, Options = options };
            string data = Mountpoint(name);
            Directory.CreateDirectory(data);
            if (!_metadata.TryInsertVolume(name, JsonSerializer.Serialize(volume, VolumeJsonContext.Default.VolumeRecord)))
            {
                throw EngineException.Conflict($"volume {name} already exists");
            }

            _volumes[name] = volume;
            LogCreated(name);
            _events.Publish("volume", "create", name, new Dictionary<string, string>(StringComparer.Ordinal) { ["driver"] = volume.Driver });
            return volume;
        }
    }

    private VolumeRecord Get(string name) =>
        _volumes.TryGetValue(name, out VolumeRecord? volume) ? volume : throw EngineException.NotFound($"get {name}: no such volume");

    private bool InUseLocked(string name) => _users.TryGetValue(name, out HashSet<string>? users) && users.Count > 0;

    private void DeleteLocked(VolumeRecord volume)
    {
        DetachLocked(volume.Name);
        _metadata.DeleteVolume(volume.Name);
        _volumes.Remove(volume.Name);
        string directory = Path.Combine(VolumesDirectory, volume.Name);
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        LogRemoved(volume.Name);
        _events.Publish("volume", "destroy", volume.Name, new Dictionary<string, string>(StringComparer.Ordinal) { ["driver"] = volume.Driver });
    }

    private void DetachLocked(string name)
    {
        string path = Mountpoint(name);
        try
        {
            Interop.Mount.Detach(path);
        }
        catch (NativeException e)
        {
            LogUnmountFailed(path, e);
            Interop.Mount.Detach(path, lazy: true);
        }
    }

    /// <summary>The local driver's mount: <c>mount -t TYPE -o O DEVICE _data</c>, or a bind when <c>o</c> says <c>bind</c>.</summary>
    private static void MountWithOptions(VolumeRecord volume, string path)
    {
        string device = volume.Options["device"];
        string type = volume.Options["type"];
        (ulong flags, string data) = ParseMountOptions(volume.Options.GetValueOrDefault("o", ""));
        try
        {
            if ((flags & Interop.Mount.MS_BIND) != 0)
            {
                if (!Directory.Exists(device) && !File.Exists(device))
                {
                    throw EngineException.Invalid($"error while mounting volume '{path}': failed to mount local volume: mount {device}:{path}, flags: 0x{flags:x}: no such file or directory");
                }

                Interop.Mount.Attach(device, path, null, flags & (Interop.Mount.MS_BIND | Interop.Mount.MS_REC), null);
                if ((flags & Interop.Mount.MS_RDONLY) != 0)
                {
                    Interop.Mount.Attach("", path, null, Interop.Mount.MS_REMOUNT | Interop.Mount.MS_BIND | Interop.Mount.MS_RDONLY, null);
                }
            }
            else
            {
                Interop.Mount.Attach(device, path, type, flags, data.Length == 0 ? null : data);
            }
        }
        catch (NativeException e)
        {
            throw EngineException.Invalid($"error while mounting volume '{path}': failed to mount local volume: {e.Message}");
        }
    }

    /// <summary>Splits mount(8)-style options into mount(2) flags and the file system's data string.</summary>
    public static (ulong Flags, string Data) ParseMountOptions(string options)
    {
        ulong flags = 0;
        var data = new List<string>();
        foreach (string option in options.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            switch (option)
            {
                case "ro": flags |= Interop.Mount.MS_RDONLY; break;
                case "rw": break;
                case "nosuid": flags |= Interop.Mount.MS_NOSUID; break;
                case "nodev": flags |= Interop.Mount.MS_NODEV; break;
                case "noexec": flags |= Interop.Mount.MS_NOEXEC; break;
                case "bind": flags |= Interop.Mount.MS_BIND; break;
                case "rbind": flags |= Interop.Mount.MS_BIND | Interop.Mount.MS_REC; break;
                default: data.Add(option); break;
            }
        }

        return (flags, string.Join(',', data));
    }

    [GeneratedRegex("^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")]
    private static partial Regex ValidNamePattern();

    public static void ValidateName(string name)
    {
        if (name.Length < 2)
        {
            throw EngineException.Invalid("volume name is too short, names should be at least two alphanumeric characters");
        }

        if (!ValidNamePattern().IsMatch(name))
        {
            throw EngineException.Invalid($"\"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path");
        }
    }

    public static void ValidateOptions(IReadOnlyDictionary<string, string> options)
    {
        foreach (string key in options.Keys)
        {
            if (!ValidOptionKeys.Contains(key))
            {
                throw EngineException.Invalid($"invalid option key: \"{key}\"");
            }
        }

        if (options.Count > 0)
        {
            foreach (string required in new[] { "type", "device" })
            {
                if (!options.ContainsKey(required))
                {
                    throw EngineException.Invalid($"missing required option: \"{required}\"");
                }
            }
        }
    }

    private bool Matches(VolumeRecord volume, IReadOnlyDictionary<string, IReadOnlyList<string>> filters)
    {
        foreach ((string key, IReadOnlyList<string> values) in filters)
        {
            bool ok = key switch
            {
                "dangling" => values.All(v => ParseBool(v, "dangling") == !InUseLocked(volume.Name)),
                "name" => values.Any(v => volume.Name.Contains(v, StringComparison.Ordinal)),
                "driver" => values.Any(v => volume.Driver == v),
                "label" => LabelsMatch(volume, filters),
                _ => true,
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool ParseBool(string value, string key) => value switch
    {
        "1" or "true" or "True" => true,
        "0" or "false" or "False" => false,
        _ => throw EngineException.Invalid($"invalid filter '{key}={value}'"),
    };

    /// <summary><c>label=k</c>, <c>label=k=v</c> (<c>k:v</c> too) must all match; <c>label!=...</c> must all not.</summary>
    private static bool LabelsMatch(VolumeRecord volume, IReadOnlyDictionary<string, IReadOnlyList<string>> filters)
    {
        bool Has(string filter)
        {
            int separator = filter.IndexOfAny(['=', ':']);
            string key = separator < 0 ? filter : filter[..separator];
            return volume.Labels.TryGetValue(key, out string? value) && (separator < 0 || value == filter[(separator + 1)..]);
        }

        return (!filters.TryGetValue("label", out IReadOnlyList<string>? with) || with.All(Has))
            && (!filters.TryGetValue("label!", out IReadOnlyList<string>? without) || !without.Any(Has));
    }

    private Volume View(VolumeRecord volume) => new()
    {
        Name = volume.Name,
        Driver = volume.Driver,
        Mountpoint = Mountpoint(volume.Name),
        CreatedAt = volume.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        Labels = new Dictionary<string, string>(volume.Labels, StringComparer.Ordinal),
        Scope = "local",
        Options = new Dictionary<string, string>(volume.Options, StringComparer.Ordinal),
    };

    /// <summary>Bytes in the files under <paramref name="path"/> (symlinks not followed); 0 when it is gone.</summary>
    internal static long DirectorySize(string path)
    {
        if (!Directory.Exists(path))
        {
            return 0;
        }

        long total = 0;
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = true };
        foreach (FileInfo file in new DirectoryInfo(path).EnumerateFiles("*", options))
        {
            total += file.Length;
        }

        return total;
    }

    [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "volume {Name} created")]
    private partial void LogCreated(string name);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "volume {Name} removed")]
    private partial void LogRemoved(string name);

    [LoggerMessage(EventId = 402, Level = LogLevel.Warning, Message = "unmounting volume {Path} failed; detaching lazily")]
    private partial void LogUnmountFailed(string path, Exception exception);
}
