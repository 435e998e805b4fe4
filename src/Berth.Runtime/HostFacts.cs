namespace Berth.Runtime;

/// <summary>Facts about the host read once at start: cgroup layout, limits, kernel.</summary>
public sealed record HostFacts
{
    /// <summary>1 for v1 or hybrid (v1 controllers mounted), 2 for a unified-only host.</summary>
    public int CgroupVersion { get; init; }

    /// <summary>True when v1 controllers sit beside a v2 hierarchy.</summary>
    public bool CgroupHybrid { get; init; }

    public ulong NoFileHardLimit { get; init; }

    public string KernelVersion { get; init; } = "";

    public string OperatingSystem { get; init; } = "";

    public string OsVersion { get; init; } = "";

    public long MemTotal { get; init; }

    public int Cpus { get; init; }

    /// <summary>The highest capability number the kernel knows (/proc/sys/kernel/cap_last_cap), when readable.</summary>
    public int? LastCapability { get; init; }

    /// <summary>The daemon's capability bounding set (CapBnd of /proc/self/status): no container can have more.</summary>
    public ulong? BoundingCapabilities { get; init; }

    /// <summary>Swap accounting is on (memory.memsw.* exists): --memory-swap can be honoured.</summary>
    public bool SwapLimit { get; init; }

    /// <summary>The blkio controller takes a weight (CFQ's blkio.weight or BFQ's blkio.bfq.weight).</summary>
    public bool BlkioWeight { get; init; }

    /// <summary>The CPUs the daemon may use, as a cpuset list ("0-1").</summary>
    public string CpusetCpus { get; init; } = "";

    /// <summary>The host's hard resource limits by rlimit name ("nofile", "nproc", ...), from /proc/self/limits.</summary>
    public IReadOnlyDictionary<string, ulong> HardLimits { get; init; } = new Dictionary<string, ulong>();

    public static HostFacts Read()
    {
        bool unifiedOnly = File.Exists("/sys/fs/cgroup/cgroup.controllers");
        bool hybrid = !unifiedOnly && Directory.Exists("/sys/fs/cgroup/unified");
        return new HostFacts
        {
            CgroupVersion = unifiedOnly ? 2 : 1,
            CgroupHybrid = hybrid,
            NoFileHardLimit = ReadNoFileHardLimit(),
            KernelVersion = ReadTrimmed("/proc/sys/kernel/osrelease"),
            OperatingSystem = OsRelease("PRETTY_NAME"),
            OsVersion = OsRelease("VERSION_ID"),
            MemTotal = MemTotalBytes(),
            Cpus = Environment.ProcessorCount,
            LastCapability = int.TryParse(ReadTrimmed("/proc/sys/kernel/cap_last_cap"), out int last) ? last : null,
            SwapLimit = unifiedOnly ? File.Exists("/sys/fs/cgroup/init.scope/memory.swap.max") : File.Exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"),
            BlkioWeight = unifiedOnly || File.Exists("/sys/fs/cgroup/blkio/blkio.weight") || File.Exists("/sys/fs/cgroup/blkio/blkio.bfq.weight"),
            CpusetCpus = ReadTrimmed(unifiedOnly ? "/sys/fs/cgroup/cpuset.cpus.effective" : "/sys/fs/cgroup/cpuset/cpuset.effective_cpus"),
            HardLimits = ReadHardLimits(),
            BoundingCapabilities = ReadBoundingCapabilities(),
        };
    }

    private static ulong? ReadBoundingCapabilities()
    {
        foreach (string line in ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("CapBnd:", StringComparison.Ordinal)
                && ulong.TryParse(line.AsSpan(7).Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture, out ulong mask))
            {
                return mask;
            }
        }

        return null;
    }

    /// <summary>/proc/self/limits' hard column by Docker's ulimit names ("unlimited" is ulong.MaxValue).</summary>
    private static Dictionary<string, ulong> ReadHardLimits()
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Max cpu time"] = "cpu", ["Max file size"] = "fsize", ["Max data size"] = "data", ["Max stack size"] = "stack",
            ["Max core file size"] = "core", ["Max resident set"] = "rss", ["Max processes"] = "nproc", ["Max open files"] = "nofile",
            ["Max locked memory"] = "memlock", ["Max address space"] = "as", ["Max file locks"] = "locks",
            ["Max pending signals"] = "sigpending", ["Max msgqueue size"] = "msgqueue", ["Max nice priority"] = "nice",
            ["Max realtime priority"] = "rtprio", ["Max realtime timeout"] = "rttime",
        };
        var limits = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (string line in ReadLines("/proc/self/limits"))
        {
            foreach ((string label, string name) in names)
            {
                if (line.StartsWith(label, StringComparison.Ordinal))
                {
                    // "Max open files            1024                 20000                files"
                    string[] columns = line[label.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (columns.Length >= 2)
                    {
                        limits[name] = columns[1] == "unlimited" ? ulong.MaxValue : ulong.TryParse(columns[1], out ulong hard) ? hard : ulong.MaxValue;
                    }
                }
            }
        }

        return limits;
    }

    private static ulong ReadNoFileHardLimit()
    {
        foreach (string line in ReadLines("/proc/self/limits"))
        {
            if (line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                // "Max open files  SOFT  HARD  files"
                if (parts.Length >= 5 && ulong.TryParse(parts[4], out ulong hard))
                {
                    return hard;
                }
            }
        }

        return 1024;
    }

    private static long MemTotalBytes()
    {
        foreach (string line in ReadLines("/proc/meminfo"))
        {
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
            {
                string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.TryParse(parts[1], out long kb) ? kb * 1024 : 0;
            }
        }

        return 0;
    }

    private static string OsRelease(string key)
    {
        foreach (string line in ReadLines("/etc/os-release"))
        {
            if (line.StartsWith(key + "=", StringComparison.Ordinal))
            {
                return line[(key.Length + 1)..].Trim('"');
            }
        }

        return "";
    }

    private static string ReadTrimmed(string path) => File.Exists(path) ? File.ReadAllText(path).Trim() : "";

    private static IEnumerable<string> ReadLines(string path) => File.Exists(path) ? File.ReadLines(path) : [];
}
