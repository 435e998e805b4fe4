using System.IO.Compression;

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

    /// <summary>
    /// The kernel runs x32-ABI syscalls: false only when its build configuration says it was built without them.
    /// Read on first use (a container's seccomp profile), not at start: /proc/config.gz is a gzip to inflate.
    /// </summary>
    public bool X32Abi { get => x32Abi.Value; init => x32Abi = new(() => value); }

    private Lazy<bool> x32Abi = new(KernelBuiltWithX32Abi);

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

    /// <summary>
    /// CONFIG_X86_X32_ABI (CONFIG_X86_X32 before 5.18) from /proc/config.gz or /boot/config-RELEASE; true when neither
    /// is readable or neither says, so only a kernel known to lack the ABI loses it.
    /// </summary>
    internal static bool KernelBuiltWithX32Abi()
    {
        try
        {
            if (File.Exists("/proc/config.gz"))
            {
                using var config = new StreamReader(new GZipStream(File.OpenRead("/proc/config.gz"), CompressionMode.Decompress));
                return ConfigEnablesX32Abi(config) ?? true;
            }

            string boot = "/boot/config-" + ReadTrimmed("/proc/sys/kernel/osrelease");
            if (File.Exists(boot))
            {
                using var config = new StreamReader(boot);
                return ConfigEnablesX32Abi(config) ?? true;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            // Unreadable: keep the ABI, as when there is no configuration at all.
        }

        return true;
    }

    /// <summary>What a kernel build configuration says of the x32 ABI: enabled, not set, or nothing.</summary>
    public static bool? ConfigEnablesX32Abi(TextReader config)
    {
        ArgumentNullException.ThrowIfNull(config);
        while (config.ReadLine() is { } line)
        {
            if (line is "CONFIG_X86_X32_ABI=y" or "CONFIG_X86_X32=y")
            {
                return true;
            }

            if (line is "# CONFIG_X86_X32_ABI is not set" or "# CONFIG_X86_X32 is not set")
            {
                return false;
            }
        }

        return null;
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
