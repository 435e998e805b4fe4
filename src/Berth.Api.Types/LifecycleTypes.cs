using System.Text.Json.Serialization;

namespace Berth.Api.Types;

/// <summary>State.Health of a container inspect.</summary>
public sealed record ContainerHealth
{
    /// <summary>starting, healthy or unhealthy.</summary>
    public string Status { get; init; } = "starting";
    public int FailingStreak { get; init; }
    public IReadOnlyList<HealthcheckResult> Log { get; init; } = [];
}

/// <summary>One probe of a health check.</summary>
public sealed record HealthcheckResult
{
    public string Start { get; init; } = "";
    public string End { get; init; } = "";
    public int ExitCode { get; init; }
    public string Output { get; init; } = "";
}

/// <summary>POST /containers/{id}/update: the resources and restart policy that can change while a container lives.</summary>
public sealed record ContainerUpdateRequest
{
    public RestartPolicy? RestartPolicy { get; init; }
    public long? Memory { get; init; }
    public long? MemorySwap { get; init; }
    public long? MemoryReservation { get; init; }
    public long? CpuShares { get; init; }
    public long? NanoCpus { get; init; }
    public long? CpuPeriod { get; init; }
    public long? CpuQuota { get; init; }
    public string? CpusetCpus { get; init; }
    public string? CpusetMems { get; init; }
    public long? PidsLimit { get; init; }
    public int? BlkioWeight { get; init; }
}

public sealed record ContainerUpdateResponse
{
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>POST /containers/prune.</summary>
public sealed record ContainerPruneResponse
{
    public IReadOnlyList<string>? ContainersDeleted { get; init; }
    public long SpaceReclaimed { get; init; }
}

/// <summary>GET /system/df.</summary>
public sealed record SystemDataUsage
{
    public long LayersSize { get; init; }
    public IReadOnlyList<ImageSummary> Images { get; init; } = [];
    public IReadOnlyList<DiskUsageContainer> Containers { get; init; } = [];
    public IReadOnlyList<Volume> Volumes { get; init; } = [];
    public IReadOnlyList<DiskUsageBuildCache> BuildCache { get; init; } = [];
}

/// <summary>A container of GET /system/df: the summary's fields with its sizes.</summary>
public sealed record DiskUsageContainer
{
    public string Id { get; init; } = "";
    public IReadOnlyList<string> Names { get; init; } = [];
    public string Image { get; init; } = "";
    public string ImageID { get; init; } = "";
    public string Command { get; init; } = "";
    public long Created { get; init; }
    public Dictionary<string, string> Labels { get; init; } = [];
    public string State { get; init; } = "";
    public string Status { get; init; } = "";
    public long SizeRw { get; init; }
    public long SizeRootFs { get; init; }
    public IReadOnlyList<MountPoint> Mounts { get; init; } = [];
}

/// <summary>A build cache record of GET /system/df (Berth has no builder: always empty).</summary>
public sealed record DiskUsageBuildCache
{
    public string ID { get; init; } = "";
    public string Type { get; init; } = "";
    public long Size { get; init; }
    public bool InUse { get; init; }
    public bool Shared { get; init; }

    [JsonPropertyName("Description")]
    public string Description { get; init; } = "";
}
