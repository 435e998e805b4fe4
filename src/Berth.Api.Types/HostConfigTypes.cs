namespace Berth.Api.Types;

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
    public MountDriverConfig? DriverConfig { get; init; }
}

/// <summary>The volume driver and its options for a volume a mount creates (<c>volume-opt=</c>).</summary>
public sealed record MountDriverConfig
{
    public string? Name { get; init; }
    public Dictionary<string, string>? Options { get; init; }
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
