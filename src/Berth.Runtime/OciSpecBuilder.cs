namespace Berth.Runtime;

/// <summary>What a container needs from the runtime, independent of how the engine stores it.</summary>
public sealed record ContainerRunSpec
{
    public required string Id { get; init; }
    public required IReadOnlyList<string> Args { get; init; }
    public IReadOnlyList<string> Env { get; init; } = [];
    public string WorkingDir { get; init; } = "/";
    public uint Uid { get; init; }
    public uint Gid { get; init; }
    public string Hostname { get; init; } = "";
    public bool Tty { get; init; }

    /// <summary>The terminal's initial size (rows, columns) with <see cref="Tty"/>; the runtime sets it before the process starts.</summary>
    public (uint Rows, uint Columns)? ConsoleSize { get; init; }
    public bool ReadonlyRootfs { get; init; }

    /// <summary>Files berthd prepares and binds in: /etc/hosts, /etc/hostname, /etc/resolv.conf.</summary>
    public IReadOnlyList<(string HostPath, string ContainerPath)> EtcFiles { get; init; } = [];
    public long MemoryLimit { get; init; }
    public long NanoCpus { get; init; }
    public long CpuShares { get; init; }
    public long? PidsLimit { get; init; }
    public long ShmSize { get; init; } = 64L * 1024 * 1024;

    /// <summary>The network namespace to join (a pinned path); null for a fresh one with only loopback; <c>host</c> for the host's.</summary>
    public string? NetworkNamespacePath { get; init; }
}

/// <summary>
/// Writes config.json with Docker's secure defaults: its default capability set, masked and read-only /proc
/// paths, the default device allow-list, private namespaces, and rlimits capped at the host's hard limits.
/// </summary>
public static class OciSpecBuilder
{
    /// <summary>Docker's default capabilities (moby oci/caps/defaults.go).</summary>
    public static readonly IReadOnlyList<string> DefaultCapabilities =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ];

    private static readonly string[] MaskedPaths =
    [
        "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    ];

    private static readonly string[] ReadonlyPaths =
    [
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
    ];

    public static OciSpec Build(ContainerRunSpec run, HostFacts host)
    {
        var mounts = new List<OciMount>
        {
            new() { Destination = "/proc", Type = "proc", Source = "proc", Options = ["nosuid", "noexec", "nodev"] },
            new() { Destination = "/dev", Type = "tmpfs", Source = "tmpfs", Options = ["nosuid", "strictatime", "mode=755", "size=65536k"] },
            new() { Destination = "/dev/pts", Type = "devpts", Source = "devpts", Options = ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
            new() { Destination = "/sys", Type = "sysfs", Source = "sysfs", Options = ["nosuid", "noexec", "nodev", "ro"] },
            new() { Destination = "/sys/fs/cgroup", Type = "cgroup", Source = "cgroup", Options = ["ro", "nosuid", "noexec", "nodev"] },
            new() { Destination = "/dev/mqueue", Type = "mqueue", Source = "mqueue", Options = ["nosuid", "noexec", "nodev"] },
            new() { Destination = "/dev/shm", Type = "tmpfs", Source = "shm", Options = ["nosuid", "noexec", "nodev", "mode=1777", $"size={run.ShmSize}"] },
        };
        foreach ((string hostPath, string containerPath) in run.EtcFiles)
        {
            mounts.Add(new OciMount { Destination = containerPath, Type = "bind", Source = hostPath, Options = ["rbind", "rprivate"] });
        }

        var namespaces = new List<OciNamespace>
        {
            new() { Type = "pid" }, new() { Type = "ipc" }, new() { Type = "uts" }, new() { Type = "mount" },
        };
        if (run.NetworkNamespacePath != "host")
        {
            namespaces.Add(new OciNamespace { Type = "network", Path = run.NetworkNamespacePath });
        }

        if (host.CgroupVersion == 2)
        {
            namespaces.Add(new OciNamespace { Type = "cgroup" });
        }

        var env = new List<string>(run.Env);
        if (!env.Any(e => e.StartsWith("HOSTNAME=", StringComparison.Ordinal)))
        {
            env.Insert(env.FindIndex(e => e.StartsWith("PATH=", StringComparison.Ordinal)) + 1, "HOSTNAME=" + run.Hostname);
        }

        if (run.Tty && !env.Any(e => e.StartsWith("TERM=", StringComparison.Ordinal)))
        {
            env.Add("TERM=xterm");
        }

        ulong nofile = Math.Min(1048576UL, host.NoFileHardLimit);
        return new OciSpec
        {
            Process = new OciProcess
            {
                Terminal = run.Tty,
                ConsoleSize = run.Tty && run.ConsoleSize is { Rows: > 0, Columns: > 0 } size ? new OciBox { Height = size.Rows, Width = size.Columns } : null,
                User = new OciUser { Uid = run.Uid, Gid = run.Gid },
                Args = run.Args,
                Env = env,
                Cwd = string.IsNullOrEmpty(run.WorkingDir) ? "/" : run.WorkingDir,
                Capabilities = new OciCapabilities { Bounding = DefaultCapabilities, Effective = DefaultCapabilities, Permitted = DefaultCapabilities },
                Rlimits = [new OciRlimit { Type = "RLIMIT_NOFILE", Hard = nofile, Soft = nofile }],
                OomScoreAdj = 0,
            },
            Root = new OciRoot { Path = "rootfs", Readonly = run.ReadonlyRootfs },
            Hostname = run.Hostname,
            Mounts = mounts,
            Linux = new OciLinux
            {
                Namespaces = namespaces,
                CgroupsPath = $"/berth/{run.Id}",
                MaskedPaths = MaskedPaths,
                ReadonlyPaths = ReadonlyPaths,
                Resources = new OciResources
                {
                    Devices = DefaultDeviceRules,
                    Memory = run.MemoryLimit > 0 ? new OciMemory { Limit = run.MemoryLimit } : null,
                    Cpu = CpuFor(run),
                    Pids = run.PidsLimit is > 0 ? new OciPids { Limit = run.PidsLimit.Value } : null,
                },
            },
        };
    }

    private static OciCpu? CpuFor(ContainerRunSpec run)
    {
        if (run.NanoCpus <= 0 && run.CpuShares <= 0)
        {
            return null;
        }

        const ulong period = 100_000;
        return new OciCpu
        {
            Shares = run.CpuShares > 0 ? (ulong)run.CpuShares : null,
            Period = run.NanoCpus > 0 ? period : null,
            Quota = run.NanoCpus > 0 ? run.NanoCpus * (long)period / 1_000_000_000 : null,
        };
    }

    /// <summary>Deny all devices, then allow Docker's defaults (null, zero, full, random, urandom, tty, ptmx, pts, rtc...).</summary>
    private static readonly IReadOnlyList<OciDeviceRule> DefaultDeviceRules =
    [
        new() { Allow = false, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 1, Minor = 5, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 1, Minor = 3, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 1, Minor = 9, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 1, Minor = 8, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 5, Minor = 0, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 5, Minor = 1, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 1, Minor = 7, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 5, Minor = 2, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 136, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 10, Minor = 200, Access = "rwm" },
        new() { Allow = false, Type = "c", Major = 10, Minor = 229, Access = "rwm" },
    ];
}
