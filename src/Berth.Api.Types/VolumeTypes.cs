using System.Text.Json.Serialization;

namespace Berth.Api.Types;

/// <summary>The swagger's <c>Volume</c>: GET /volumes/{name}, an item of GET /volumes, the answer of POST /volumes/create.</summary>
public sealed record Volume
{
    public string Name { get; init; } = "";
    public string Driver { get; init; } = "local";
    public string Mountpoint { get; init; } = "";
    public string? CreatedAt { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, string>? Status { get; init; }
    public Dictionary<string, string> Labels { get; init; } = [];
    public string Scope { get; init; } = "local";
    public Dictionary<string, string> Options { get; init; } = [];

    /// <summary>Only <c>system df</c> fills this; other endpoints omit it.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public VolumeUsageData? UsageData { get; init; }
}

public sealed record VolumeUsageData
{
    public long Size { get; init; } = -1;
    public long RefCount { get; init; } = -1;
}

/// <summary>POST /volumes/create body (the swagger's <c>VolumeCreateOptions</c>).</summary>
public sealed record VolumeCreateOptions
{
    public string? Name { get; init; }
    public string? Driver { get; init; }
    public Dictionary<string, string>? DriverOpts { get; init; }
    public Dictionary<string, string>? Labels { get; init; }
}

/// <summary>GET /volumes answer.</summary>
public sealed record VolumeListResponse
{
    public IReadOnlyList<Volume> Volumes { get; init; } = [];
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>POST /volumes/prune answer.</summary>
public sealed record VolumePruneResponse
{
    public IReadOnlyList<string> VolumesDeleted { get; init; } = [];
    public long SpaceReclaimed { get; init; }
}
