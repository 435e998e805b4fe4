using System.Globalization;
using Berth.Api.Types;
using Berth.Cli.Templates;

namespace Berth.Cli;

/// <summary>One row of <c>docker stats</c>: docker's statsContext, with its CPU and memory arithmetic.</summary>
internal sealed class StatsRow(string container, ContainerStatsResponse stats, bool truncate) : FieldRow
{
    public const string DefaultTable = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

    public static readonly HeaderRow Header = new(new Dictionary<string, string>
    {
        ["Container"] = "CONTAINER",
        ["ID"] = "CONTAINER ID",
        ["Name"] = "NAME",
        ["CPUPerc"] = "CPU %",
        ["MemUsage"] = "MEM USAGE / LIMIT",
        ["MemPerc"] = "MEM %",
        ["NetIO"] = "NET I/O",
        ["BlockIO"] = "BLOCK I/O",
        ["PIDs"] = "PIDS",
    });

    private static readonly string[] Fields = ["BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO", "PIDs"];

    public override string TypeName => "*formatter.statsContext";

    protected override IEnumerable<string> JsonFields => Fields;

    public override bool TryGetField(string name, IReadOnlyList<object?> args, out object? value)
    {
        value = name switch
        {
            "Container" => container,
            "ID" => truncate && stats.Id.Length > 12 ? stats.Id[..12] : stats.Id,
            "Name" => stats.Name.TrimStart('/') is { Length: > 0 } n ? n : "--",
            "CPUPerc" => Percent(CpuPercent(stats)),
            "MemUsage" => Units.BytesSize(MemoryUsed(stats.MemoryStats)) + " / " + Units.BytesSize(stats.MemoryStats.Limit),
            "MemPerc" => Percent(stats.MemoryStats.Limit > 0 ? MemoryUsed(stats.MemoryStats) / (double)stats.MemoryStats.Limit * 100 : 0),
            "NetIO" => Pair(stats.Networks?.Values.Sum(n => (double)n.RxBytes) ?? 0, stats.Networks?.Values.Sum(n => (double)n.TxBytes) ?? 0),
            "BlockIO" => Pair(BlockBytes(stats, "read"), BlockBytes(stats, "write")),
            "PIDs" => stats.PidsStats.Current.ToString(CultureInfo.InvariantCulture),
            _ => null,
        };

        return value is not null;
    }

    /// <summary>docker's calculateCPUPercentUnix: the container's share of the host's CPU time since the previous sample, times the CPUs.</summary>
    public static double CpuPercent(ContainerStatsResponse stats)
    {
        ArgumentNullException.ThrowIfNull(stats);
        double cpuDelta = (double)stats.CpuStats.CpuUsage.TotalUsage - stats.PrecpuStats.CpuUsage.TotalUsage;
        double systemDelta = (double)stats.CpuStats.SystemCpuUsage - stats.PrecpuStats.SystemCpuUsage;
        double cpus = stats.CpuStats.OnlineCpus > 0 ? stats.CpuStats.OnlineCpus : stats.CpuStats.CpuUsage.PercpuUsage?.Count ?? 0;
        return systemDelta > 0 && cpuDelta > 0 ? cpuDelta / systemDelta * cpus * 100 : 0;
    }

    /// <summary>docker's calculateMemUsageUnixNoCache: usage less the inactive page cache (v1: total_inactive_file, v2: inactive_file).</summary>
    public static double MemoryUsed(MemoryStats memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ulong inactive = memory.Stats is null ? 0
            : memory.Stats.TryGetValue("total_inactive_file", out ulong v1) ? v1
            : memory.Stats.GetValueOrDefault("inactive_file");
        return inactive < memory.Usage ? memory.Usage - inactive : memory.Usage;
    }

    private static double BlockBytes(ContainerStatsResponse stats, string op) =>
        stats.BlkioStats.IoServiceBytesRecursive?.Where(e => string.Equals(e.Op, op, StringComparison.OrdinalIgnoreCase)).Sum(e => (double)e.Value) ?? 0;

    // Go's %.2f rounds a tie to even.
    private static string Percent(double value) => Math.Round(value, 2, MidpointRounding.ToEven).ToString("0.00", CultureInfo.InvariantCulture) + "%";

    private static string Pair(double first, double second) => Units.HumanSize(first, 3) + " / " + Units.HumanSize(second, 3);
}
