using System.Globalization;
using Berth.Api.Types;
using Berth.Images;
using Berth.Primitives;

namespace Berth.Engine.Containers;

/// <summary>Shapes container records into the API's summary and inspect views.</summary>
internal static class ContainerViews
{
    private const string ZeroTime = "0001-01-01T00:00:00Z";

    public static IReadOnlyList<ContainerSummary> List(IEnumerable<ContainerRecord> records, ImageStore images, bool all, int limit, IReadOnlyDictionary<string, IReadOnlyList<string>> filters)
    {
        IEnumerable<ContainerRecord> selected = records.OrderByDescending(r => r.Created);
        if (!all && limit <= 0 && !filters.ContainsKey("status") && !filters.ContainsKey("exited"))
        {
            selected = selected.Where(r => r.IsRunning);
        }

        selected = selected.Where(r => Matches(r, filters));
        if (limit > 0)
        {
            selected = selected.Take(limit);
        }

        return [.. selected.Select(r => Summary(r, images))];
    }

    private static bool Matches(ContainerRecord record, IReadOnlyDictionary<string, IReadOnlyList<string>> filters)
    {
        foreach ((string key, IReadOnlyList<string> values) in filters)
        {
            bool ok = key switch
            {
                "id" => values.Any(v => record.Id.StartsWith(v, StringComparison.Ordinal)),
                "name" => values.Any(v => record.Name.TrimStart('/').Contains(v.TrimStart('/'), StringComparison.Ordinal)),
                "status" => values.Contains(record.State.Status),
                "exited" => record.State.Status == ContainerStatus.Exited && values.Contains(record.State.ExitCode.ToString(CultureInfo.InvariantCulture)),
                "label" => values.All(v => LabelMatches(record.Config.Labels, v)),
                "ancestor" => values.Any(v => v == record.Config.Image || record.ImageId.Contains(v, StringComparison.Ordinal)),
                "health" => values.Contains(HealthFilterValue(record)),
                _ => throw EngineException.Invalid($"invalid filter '{key}'"),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool LabelMatches(Dictionary<string, string>? labels, string filter)
    {
        string[] parts = filter.Split('=', 2);
        return labels is not null && labels.TryGetValue(parts[0], out string? value) && (parts.Length == 1 || value == parts[1]);
    }

    public static ContainerSummary Summary(ContainerRecord record, ImageStore images) => new()
    {
        Id = record.Id,
        Names = [record.Name],
        Image = record.Config.Image ?? record.ImageId,
        ImageID = record.ImageId,
        Command = string.Join(' ', new[] { record.Path }.Concat(record.Args).Select(Quote)),
        Created = record.Created.ToUnixTimeSeconds(),
        Labels = record.Config.Labels ?? [],
        State = record.State.Status,
        Status = StatusText(record),
        HostConfig = new SummaryHostConfig { NetworkMode = record.HostConfig.NetworkMode ?? "none" },
        Mounts = ContainerService.MountPoints(record),
    };

    private static string Quote(string arg) => arg.Contains(' ', StringComparison.Ordinal) ? $"'{arg}'" : arg;

    /// <summary>Docker's status column: <c>Up 3 seconds</c>, <c>Exited (0) 2 minutes ago</c>, <c>Created</c>.</summary>
    public static string StatusText(ContainerRecord record)
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        return record.State.Status switch
        {
            ContainerStatus.Running => "Up " + HumanTime.Duration(now - (record.State.StartedAt ?? now)) + HealthSuffix(record.State.Health),
            ContainerStatus.Paused => "Up " + HumanTime.Duration(now - (record.State.StartedAt ?? now)) + " (Paused)",
            ContainerStatus.Restarting => $"Restarting ({record.State.ExitCode}) " + HumanTime.Duration(now - (record.State.FinishedAt ?? now)) + " ago",
            ContainerStatus.Exited when record.State.FinishedAt is { } finished => $"Exited ({record.State.ExitCode}) " + HumanTime.Duration(now - finished) + " ago",
            ContainerStatus.Removing => "Removal In Progress",
            ContainerStatus.Dead => "Dead",
            _ => "Created",
        };
    }

    /// <summary>Docker's ps: <c>(healthy)</c>, <c>(unhealthy)</c>, <c>(health: starting)</c>.</summary>
    private static string HealthSuffix(ContainerHealth? health) => health?.Status switch
    {
        null => "",
        "starting" => " (health: starting)",
        string status => $" ({status})",
    };

    /// <summary>The value the <c>health</c> filter of ps compares: starting, healthy, unhealthy, or none without a check.</summary>
    private static string HealthFilterValue(ContainerRecord record) =>
        record.State.Status == ContainerStatus.Running && record.State.Health is { } health ? health.Status : "none";

    public static ContainerInspect Inspect(ContainerRecord record, EngineOptions options, ImageStore images)
    {
        string directory = Path.Combine(options.ContainersDirectory, record.Id);
        string upper = images.Snapshots.UpperDirectory(record.Id);
        ContainerStateRecord state = record.State;
        return new ContainerInspect
        {
            Id = record.Id,
            Created = Time(record.Created),
            Path = record.Path,
            Args = record.Args,
            State = new ContainerState
            {
                Status = state.Status,
                Running = state.Status is ContainerStatus.Running or ContainerStatus.Paused,
                Paused = state.Status == ContainerStatus.Paused,
                Restarting = state.Status == ContainerStatus.Restarting,
                OOMKilled = state.OomKilled,
                Dead = state.Status == ContainerStatus.Dead,
                Pid = state.Pid,
                ExitCode = state.ExitCode,
                Error = state.Error,
                StartedAt = state.StartedAt is { } s ? Time(s) : ZeroTime,
                FinishedAt = state.FinishedAt is { } f ? Time(f) : ZeroTime,
                Health = state.Health,
            },
            Image = record.ImageId,
            ResolvConfPath = Path.Combine(directory, "resolv.conf"),
            HostnamePath = Path.Combine(directory, "hostname"),
            HostsPath = Path.Combine(directory, "hosts"),
            LogPath = record.LogPath,
            Name = record.Name,
            RestartCount = record.RestartCount,
            HostConfig = Reported(record.HostConfig),
            GraphDriver = new GraphDriverData
            {
                Name = "overlay2",
                Data = new Dictionary<string, string>
                {
                    ["MergedDir"] = Path.Combine(directory, "bundle", "rootfs"),
                    ["UpperDir"] = upper,
                    ["WorkDir"] = Path.Combine(Path.GetDirectoryName(upper)!, "work"),
                },
            },
            Mounts = ContainerService.MountPoints(record),
            Config = record.Config,
            NetworkSettings = new InspectNetworkSettings { SandboxKey = state.Pid > 0 ? $"/proc/{state.Pid}/ns/net" : "" },
        };
    }

    /// <summary>The size of /dev/shm when the container asks for none (Docker's default, and what inspect then reports).</summary>
    public const long DefaultShmSize = 64L * 1024 * 1024;

    /// <summary>
    /// HostConfig as Docker's inspect writes it: the sizes, limits and flags it always prints as numbers (typed clients
    /// such as Docker.DotNet read them as non-nullable and fail on null) are 0 or false when unset, and ShmSize is the
    /// size the container's /dev/shm actually got.
    /// </summary>
    private static HostConfig Reported(HostConfig host) => host with
    {
        ShmSize = host.ShmSize is > 0 ? host.ShmSize : DefaultShmSize,
        PublishAllPorts = host.PublishAllPorts ?? false,
        OomScoreAdj = host.OomScoreAdj ?? 0,
        MemoryReservation = host.MemoryReservation ?? 0,
        CpuPeriod = host.CpuPeriod ?? 0,
        CpuQuota = host.CpuQuota ?? 0,
        BlkioWeight = host.BlkioWeight ?? 0,
    };

    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
}
