using System.Text.Json.Serialization;

namespace Berth.Api.Types;

/// <summary>
/// The <c>HostConfig</c> fields of POST /containers/create that the shared <see cref="HostConfig"/> record
/// does not carry (yet). The client merges the non-null ones into the <c>HostConfig</c> object of the
/// body it sends, so the CLI can pass every flag the swagger knows while the daemon grows into them;
/// a field the daemon later adds to <see cref="HostConfig"/> simply stops needing this record.
/// </summary>
public sealed record HostConfigExtension
{
    public Dictionary<string, IReadOnlyList<PortBinding>?>? PortBindings { get; init; }
    public bool? PublishAllPorts { get; init; }
    public IReadOnlyList<MountSpec>? Mounts { get; init; }
    public IReadOnlyList<string>? VolumesFrom { get; init; }
    public IReadOnlyList<string>? Links { get; init; }
    public IReadOnlyList<DeviceMapping>? Devices { get; init; }
    public IReadOnlyList<Ulimit>? Ulimits { get; init; }
    public Dictionary<string, string>? Sysctls { get; init; }
    public IReadOnlyList<string>? GroupAdd { get; init; }
    public IReadOnlyList<string>? DnsOptions { get; init; }
    public IReadOnlyList<string>? DnsSearch { get; init; }
    public string? IpcMode { get; init; }
    public string? PidMode { get; init; }
    public string? UTSMode { get; init; }
    public string? UsernsMode { get; init; }
    public string? CgroupnsMode { get; init; }
    public string? CgroupParent { get; init; }
    public string? ContainerIDFile { get; init; }
    public string? Isolation { get; init; }
    public bool? OomKillDisable { get; init; }
    public int? OomScoreAdj { get; init; }
    public long? MemoryReservation { get; init; }
    public long? MemorySwappiness { get; init; }
    public long? CpuPeriod { get; init; }
    public long? CpuQuota { get; init; }
    public string? CpusetCpus { get; init; }
    public string? CpusetMems { get; init; }
    public int? BlkioWeight { get; init; }
    public Dictionary<string, string>? StorageOpt { get; init; }
    public Dictionary<string, string>? Annotations { get; init; }
    public IReadOnlyList<int>? ConsoleSize { get; init; }
}

/// <summary>A <c>HostConfig.Mounts</c> entry (the swagger's <c>Mount</c>).</summary>
public sealed record MountSpec
{
    public string? Target { get; init; }
    public string? Source { get; init; }
    public string? Type { get; init; }
    public bool? ReadOnly { get; init; }
    public string? Consistency { get; init; }
    public MountBindOptions? BindOptions { get; init; }
    public MountVolumeOptions? VolumeOptions { get; init; }
    public MountTmpfsOptions? TmpfsOptions { get; init; }
}

public sealed record MountBindOptions
{
    public string? Propagation { get; init; }
    public bool? NonRecursive { get; init; }
    public bool? CreateMountpoint { get; init; }
}

public sealed record MountVolumeOptions
{
    public bool? NoCopy { get; init; }
    public Dictionary<string, string>? Labels { get; init; }
    public string? Subpath { get; init; }
}

public sealed record MountTmpfsOptions
{
    public long? SizeBytes { get; init; }
    public int? Mode { get; init; }
}

/// <summary>A <c>HostConfig.Devices</c> entry.</summary>
public sealed record DeviceMapping
{
    public string PathOnHost { get; init; } = "";
    public string PathInContainer { get; init; } = "";
    public string CgroupPermissions { get; init; } = "rwm";
}

/// <summary>A <c>HostConfig.Ulimits</c> entry.</summary>
public sealed record Ulimit
{
    public string Name { get; init; } = "";
    public long Soft { get; init; }
    public long Hard { get; init; }
}

/// <summary>
/// Source-generated JSON for the client-side records above. Nulls are left out so that merging a
/// <see cref="HostConfigExtension"/> into a create body only adds what the user asked for.
/// </summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(HostConfigExtension))]
public sealed partial class ClientJsonContext : JsonSerializerContext;
