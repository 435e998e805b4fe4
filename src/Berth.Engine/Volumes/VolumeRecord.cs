using System.Text.Json.Serialization;

namespace Berth.Engine.Volumes;

/// <summary>A volume as the engine stores it (immutable; the local driver is the only driver).</summary>
public sealed record VolumeRecord
{
    public required string Name { get; init; }
    public string Driver { get; init; } = VolumeService.LocalDriver;
    public required DateTimeOffset CreatedAt { get; init; }
    public Dictionary<string, string> Labels { get; init; } = [];

    /// <summary>The local driver's options: <c>type</c>, <c>o</c>, <c>device</c>.</summary>
    public Dictionary<string, string> Options { get; init; } = [];

    [JsonIgnore]
    public bool IsAnonymous => Labels.ContainsKey(VolumeService.AnonymousLabel);

    /// <summary>Whether the volume is a mount of its own (tmpfs, a device, a bind) made while a container uses it.</summary>
    [JsonIgnore]
    public bool NeedsMount => Options.ContainsKey("type") || Options.ContainsKey("device") || Options.ContainsKey("o");
}

/// <summary>
/// One mount of a container, resolved at create and stored in its record: a volume (by name), a bind (host path)
/// or a tmpfs. Docker's <c>MountPoint</c> is its view.
/// </summary>
public sealed record ContainerMount
{
    /// <summary><c>volume</c>, <c>bind</c> or <c>tmpfs</c>.</summary>
    public required string Type { get; init; }

    /// <summary>The volume's name (volumes only).</summary>
    public string? Name { get; init; }

    /// <summary>The host path for binds; empty for volumes (their mountpoint comes from the store) and tmpfs.</summary>
    public string Source { get; init; } = "";
    public required string Destination { get; init; }

    /// <summary>The mode as the user wrote it (<c>ro</c>, <c>z</c>, <c>rw,nocopy</c>...), shown in inspect.</summary>
    public string Mode { get; init; } = "";
    public bool ReadWrite { get; init; } = true;
    public string Propagation { get; init; } = "";

    /// <summary>Volumes: skip filling a new, empty volume with the image's content at the destination.</summary>
    public bool NoCopy { get; init; }

    /// <summary>Volumes: mount this directory of the volume (<c>volume-subpath</c>) instead of its root; it must exist.</summary>
    public string? Subpath { get; init; }

    /// <summary>tmpfs: mount options (<c>size=64m,mode=1777</c>...).</summary>
    public string TmpfsOptions { get; init; } = "";

    /// <summary>Whether inspect lists the mount (Docker hides <c>--tmpfs</c> mounts there).</summary>
    public bool Listed { get; init; } = true;

    /// <summary>Volumes created by this mount: the local driver's options and labels (<c>volume-opt=</c>, <c>volume-label=</c>).</summary>
    public Dictionary<string, string>? VolumeOptions { get; init; }

    public Dictionary<string, string>? VolumeLabels { get; init; }

    /// <summary>Binds: not recursive (<c>bind-nonrecursive</c>).</summary>
    public bool NonRecursive { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(VolumeRecord))]
internal sealed partial class VolumeJsonContext : JsonSerializerContext;
