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
        };
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
