using System.Text.Json.Serialization;

namespace Berth.Api.Types;

/// <summary>GET /containers/{id}/stats: one sample, in Docker's snake_case shape (cgroup figures, not computed percentages).</summary>
public sealed record ContainerStatsResponse
{
    [JsonPropertyName("name")] public string Name { get; init; } = "";
    [JsonPropertyName("id")] public string Id { get; init; } = "";
    [JsonPropertyName("read")] public DateTime Read { get; init; } = DateTime.SpecifyKind(DateTime.MinValue, DateTimeKind.Utc);
    [JsonPropertyName("preread")] public DateTime Preread { get; init; } = DateTime.SpecifyKind(DateTime.MinValue, DateTimeKind.Utc);
    [JsonPropertyName("pids_stats")] public PidsStats PidsStats { get; init; } = new();
    [JsonPropertyName("blkio_stats")] public BlkioStats BlkioStats { get; init; } = new();
    [JsonPropertyName("num_procs")] public uint NumProcs { get; init; }
    [JsonPropertyName("cpu_stats")] public CpuStats CpuStats { get; init; } = new();
    [JsonPropertyName("precpu_stats")] public CpuStats PrecpuStats { get; init; } = new();
    [JsonPropertyName("memory_stats")] public MemoryStats MemoryStats { get; init; } = new();

    /// <summary>Interface name → counters, from /proc/PID/net/dev inside the container's network namespace; absent when stopped.</summary>
    [JsonPropertyName("networks")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, NetworkStats>? Networks { get; init; }
}

public sealed record PidsStats
{
    [JsonPropertyName("current")] public ulong Current { get; init; }
    [JsonPropertyName("limit")] public ulong Limit { get; init; }
}

public sealed record BlkioStats
{
    [JsonPropertyName("io_service_bytes_recursive")] public IReadOnlyList<BlkioStatEntry>? IoServiceBytesRecursive { get; init; }
    [JsonPropertyName("io_serviced_recursive")] public IReadOnlyList<BlkioStatEntry>? IoServicedRecursive { get; init; }
    [JsonPropertyName("io_queue_recursive")] public IReadOnlyList<BlkioStatEntry>? IoQueueRecursive { get; init; }
    [JsonPropertyName("io_service_time_recursive")] public IReadOnlyList<BlkioStatEntry>? IoServiceTimeRecursive { get; init; }
    [JsonPropertyName("io_wait_time_recursive")] public IReadOnlyList<BlkioStatEntry>? IoWaitTimeRecursive { get; init; }
    [JsonPropertyName("io_merged_recursive")] public IReadOnlyList<BlkioStatEntry>? IoMergedRecursive { get; init; }
    [JsonPropertyName("io_time_recursive")] public IReadOnlyList<BlkioStatEntry>? IoTimeRecursive { get; init; }
    [JsonPropertyName("sectors_recursive")] public IReadOnlyList<BlkioStatEntry>? SectorsRecursive { get; init; }
}

public sealed record BlkioStatEntry
{
    [JsonPropertyName("major")] public ulong Major { get; init; }
    [JsonPropertyName("minor")] public ulong Minor { get; init; }
    [JsonPropertyName("op")] public string Op { get; init; } = "";
    [JsonPropertyName("value")] public ulong Value { get; init; }
}

public sealed record CpuStats
{
    [JsonPropertyName("cpu_usage")] public CpuUsage CpuUsage { get; init; } = new();
    [JsonPropertyName("system_cpu_usage")] public ulong SystemCpuUsage { get; init; }
    [JsonPropertyName("online_cpus")] public uint OnlineCpus { get; init; }
    [JsonPropertyName("throttling_data")] public ThrottlingData ThrottlingData { get; init; } = new();
}

public sealed record CpuUsage
{
    [JsonPropertyName("total_usage")] public ulong TotalUsage { get; init; }

    [JsonPropertyName("percpu_usage")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ulong>? PercpuUsage { get; init; }
    [JsonPropertyName("usage_in_kernelmode")] public ulong UsageInKernelmode { get; init; }
    [JsonPropertyName("usage_in_usermode")] public ulong UsageInUsermode { get; init; }
}

public sealed record ThrottlingData
{
    [JsonPropertyName("periods")] public ulong Periods { get; init; }
    [JsonPropertyName("throttled_periods")] public ulong ThrottledPeriods { get; init; }
    [JsonPropertyName("throttled_time")] public ulong ThrottledTime { get; init; }
}

public sealed record MemoryStats
{
    [JsonPropertyName("usage")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong Usage { get; init; }
    [JsonPropertyName("max_usage")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong MaxUsage { get; init; }
    [JsonPropertyName("stats")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public Dictionary<string, ulong>? Stats { get; init; }
    [JsonPropertyName("failcnt")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong Failcnt { get; init; }
    [JsonPropertyName("limit")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong Limit { get; init; }
}

public sealed record NetworkStats
{
    [JsonPropertyName("rx_bytes")] public ulong RxBytes { get; init; }
    [JsonPropertyName("rx_packets")] public ulong RxPackets { get; init; }
    [JsonPropertyName("rx_errors")] public ulong RxErrors { get; init; }
    [JsonPropertyName("rx_dropped")] public ulong RxDropped { get; init; }
    [JsonPropertyName("tx_bytes")] public ulong TxBytes { get; init; }
    [JsonPropertyName("tx_packets")] public ulong TxPackets { get; init; }
    [JsonPropertyName("tx_errors")] public ulong TxErrors { get; init; }
    [JsonPropertyName("tx_dropped")] public ulong TxDropped { get; init; }
}
