using System.Globalization;
using Berth.Api.Types;
using Berth.Runtime;

namespace Berth.Engine.Containers;

/// <summary>
/// Reads one stats sample of a running container from its cgroup files (runc puts it at <c>/berth/ID</c> under each
/// v1 controller's mount, or under the unified mount on v2) and its network counters from /proc/PID/net/dev, which
/// shows the network namespace of the container's init. Missing files read as zero: a container can exit mid-sample.
/// </summary>
internal static class CgroupStatsReader
{
    private const string CgroupRoot = "/sys/fs/cgroup";
    private const ulong NanosecondsPerTick = 10_000_000; // USER_HZ is 100 on Linux

    public static ContainerStatsResponse Sample(string id, string name, int pid, HostFacts host)
    {
        string relative = "berth/" + id;
        bool unified = host.CgroupVersion == 2;
        CpuStats cpu = unified ? CpuV2(Path.Join(CgroupRoot, relative)) : CpuV1(Path.Join(CgroupRoot, "cpuacct", relative), Path.Join(CgroupRoot, "cpu", relative));
        cpu = cpu with { SystemCpuUsage = SystemCpuUsage(), OnlineCpus = (uint)Math.Max(1, host.Cpus) };
        return new ContainerStatsResponse
        {
            Name = name,
            Id = id,
            Read = DateTime.UtcNow,
            CpuStats = cpu,
            MemoryStats = unified ? MemoryV2(Path.Join(CgroupRoot, relative), host) : MemoryV1(Path.Join(CgroupRoot, "memory", relative), host),
            PidsStats = Pids(unified ? Path.Join(CgroupRoot, relative) : Path.Join(CgroupRoot, "pids", relative)),
            BlkioStats = unified ? BlkioV2(Path.Join(CgroupRoot, relative)) : BlkioV1(Path.Join(CgroupRoot, "blkio", relative)),
            Networks = pid > 0 ? Networks(pid) : null,
        };
    }

    private static CpuStats CpuV1(string cpuacct, string cpu)
    {
        Dictionary<string, ulong> stat = KeyValues(Path.Join(cpuacct, "cpuacct.stat"));
        Dictionary<string, ulong> throttling = KeyValues(Path.Join(cpu, "cpu.stat"));
        IReadOnlyList<ulong> perCpu = [.. (Read(Path.Join(cpuacct, "cpuacct.usage_percpu")) ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(ParseUlong)];
        return new CpuStats
        {
            CpuUsage = new CpuUsage
            {
                TotalUsage = ParseUlong(Read(Path.Join(cpuacct, "cpuacct.usage"))),
                PercpuUsage = perCpu.Count > 0 ? perCpu : null,
                UsageInKernelmode = stat.GetValueOrDefault("system") * NanosecondsPerTick,
                UsageInUsermode = stat.GetValueOrDefault("user") * NanosecondsPerTick,
            },
            ThrottlingData = new ThrottlingData
            {
                Periods = throttling.GetValueOrDefault("nr_periods"),
                ThrottledPeriods = throttling.GetValueOrDefault("nr_throttled"),
                ThrottledTime = throttling.GetValueOrDefault("throttled_time"),
            },
        };
    }

    private static CpuStats CpuV2(string directory)
    {
        Dictionary<string, ulong> stat = KeyValues(Path.Join(directory, "cpu.stat"));
        return new CpuStats
        {
            CpuUsage = new CpuUsage
            {
                TotalUsage = stat.GetValueOrDefault("usage_usec") * 1000,
                UsageInKernelmode = stat.GetValueOrDefault("system_usec") * 1000,
                UsageInUsermode = stat.GetValueOrDefault("user_usec") * 1000,
            },
            ThrottlingData = new ThrottlingData
            {
                Periods = stat.GetValueOrDefault("nr_periods"),
                ThrottledPeriods = stat.GetValueOrDefault("nr_throttled"),
                ThrottledTime = stat.GetValueOrDefault("throttled_usec") * 1000,
            },
        };
    }

    /// <summary>The host's CPU time in nanoseconds: the sum of the first line of /proc/stat (as dockerd computes it).</summary>
    private static ulong SystemCpuUsage()
    {
        string? first = Read("/proc/stat")?.Split('\n', 2)[0];
        if (first is null || !first.StartsWith("cpu ", StringComparison.Ordinal))
        {
            return 0;
        }

        ulong ticks = 0;
        foreach (string field in first.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(7))
        {
            ticks += ParseUlong(field);
        }

        return ticks * NanosecondsPerTick;
    }

    /// <summary>A limit above the host's memory (no limit set) reads as the host's memory, as dockerd reports it.</summary>
    private static ulong CapLimit(ulong limit, HostFacts host) =>
        host.MemTotal > 0 && (limit == 0 || limit > (ulong)host.MemTotal) ? (ulong)host.MemTotal : limit;

    private static MemoryStats MemoryV1(string directory, HostFacts host) => new()
    {
        Usage = ParseUlong(Read(Path.Join(directory, "memory.usage_in_bytes"))),
        MaxUsage = ParseUlong(Read(Path.Join(directory, "memory.max_usage_in_bytes"))),
        Failcnt = ParseUlong(Read(Path.Join(directory, "memory.failcnt"))),
        Limit = CapLimit(ParseUlong(Read(Path.Join(directory, "memory.limit_in_bytes"))), host),
        Stats = KeyValues(Path.Join(directory, "memory.stat")),
    };

    private static MemoryStats MemoryV2(string directory, HostFacts host) => new()
    {
        Usage = ParseUlong(Read(Path.Join(directory, "memory.current"))),
        Limit = CapLimit(ParseUlong(Read(Path.Join(directory, "memory.max"))), host),
        Stats = KeyValues(Path.Join(directory, "memory.stat")),
    };

    private static PidsStats Pids(string directory) => new()
    {
        Current = ParseUlong(Read(Path.Join(directory, "pids.current"))),
        Limit = ParseUlong(Read(Path.Join(directory, "pids.max"))),
    };

    private static BlkioStats BlkioV1(string directory)
    {
        // With the multi-queue schedulers the CFQ files are empty; the throttle files always count.
        List<BlkioStatEntry> bytes = BlkioEntries(Path.Join(directory, "blkio.io_service_bytes_recursive"));
        if (bytes.Count == 0)
        {
            bytes = BlkioEntries(Path.Join(directory, "blkio.throttle.io_service_bytes_recursive"));
        }

        List<BlkioStatEntry> serviced = BlkioEntries(Path.Join(directory, "blkio.io_serviced_recursive"));
        if (serviced.Count == 0)
        {
            serviced = BlkioEntries(Path.Join(directory, "blkio.throttle.io_serviced_recursive"));
        }

        return new BlkioStats { IoServiceBytesRecursive = bytes, IoServicedRecursive = serviced };
    }

    /// <summary>Lines "MAJ:MIN Op VALUE" (the "Total" line left out, as dockerd does).</summary>
    private static List<BlkioStatEntry> BlkioEntries(string file)
    {
        var entries = new List<BlkioStatEntry>();
        foreach (string line in (Read(file) ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 3 && TryDevice(parts[0], out ulong major, out ulong minor))
            {
                entries.Add(new BlkioStatEntry { Major = major, Minor = minor, Op = parts[1], Value = ParseUlong(parts[2]) });
            }
        }

        return entries;
    }

    /// <summary>io.stat lines "MAJ:MIN rbytes=N wbytes=N rios=N wios=N ..." as dockerd maps them (lower-case ops).</summary>
    private static BlkioStats BlkioV2(string directory)
    {
        var bytes = new List<BlkioStatEntry>();
        var serviced = new List<BlkioStatEntry>();
        foreach (string line in (Read(Path.Join(directory, "io.stat")) ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0 || !TryDevice(parts[0], out ulong major, out ulong minor))
            {
                continue;
            }

            foreach (string pair in parts.Skip(1))
            {
                int eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    continue;
                }

                ulong value = ParseUlong(pair[(eq + 1)..]);
                (List<BlkioStatEntry>? list, string? op) = pair[..eq] switch
                {
                    "rbytes" => (bytes, "read"),
                    "wbytes" => (bytes, "write"),
                    "rios" => (serviced, "read"),
                    "wios" => (serviced, "write"),
                    _ => (null, null),
                };
                list?.Add(new BlkioStatEntry { Major = major, Minor = minor, Op = op!, Value = value });
            }
        }

        return new BlkioStats { IoServiceBytesRecursive = bytes, IoServicedRecursive = serviced };
    }

    /// <summary>/proc/PID/net/dev: two header lines, then "IFACE: rx bytes packets errs drop fifo frame compressed multicast tx bytes packets errs drop ...".</summary>
    private static Dictionary<string, NetworkStats>? Networks(int pid)
    {
        string? text = Read($"/proc/{pid}/net/dev");
        if (text is null)
        {
            return null;
        }

        var networks = new Dictionary<string, NetworkStats>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n').Skip(2))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            string name = line[..colon].Trim();
            ulong[] f = [.. line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(ParseUlong)];
            if (name == "lo" || f.Length < 16)
            {
                continue;
            }

            networks[name] = new NetworkStats
            {
                RxBytes = f[0], RxPackets = f[1], RxErrors = f[2], RxDropped = f[3],
                TxBytes = f[8], TxPackets = f[9], TxErrors = f[10], TxDropped = f[11],
            };
        }

        return networks;
    }

    private static bool TryDevice(string text, out ulong major, out ulong minor)
    {
        minor = 0;
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        return ulong.TryParse(text.AsSpan(0, Math.Max(colon, 0)), NumberStyles.None, CultureInfo.InvariantCulture, out major)
            & ulong.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out minor) && colon > 0;
    }

    private static Dictionary<string, ulong> KeyValues(string file)
    {
        var values = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (string line in (Read(file) ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0)
            {
                values[line[..space]] = ParseUlong(line[(space + 1)..]);
            }
        }

        return values;
    }

    /// <summary>A counter; "max" or garbage reads as 0.</summary>
    private static ulong ParseUlong(string? text) =>
        ulong.TryParse(text?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong value) ? value : 0;

    private static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
