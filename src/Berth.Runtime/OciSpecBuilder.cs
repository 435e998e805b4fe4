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
    /// <summary>With <c>--init</c>: the init binary on the host, mounted at /sbin/docker-init and run as PID 1 before the command.</summary>
    public string? InitPath { get; init; }
    public ContainerLimits Limits { get; init; } = new();
    public ContainerSecurity Security { get; init; } = new();
    public long ShmSize { get; init; } = 64L * 1024 * 1024;

    /// <summary>The container's volumes, binds and tmpfs mounts, parents first; they replace a default mount at the same place.</summary>
    public IReadOnlyList<RunMount> Mounts { get; init; } = [];

    /// <summary>The network namespace to join (a pinned path); null for a fresh one with only loopback; <c>host</c> for the host's.</summary>
    public string? NetworkNamespacePath { get; init; }
}

/// <summary>cgroup limits and rlimits, already validated against the host (what it cannot honour is left out).</summary>
public sealed record ContainerLimits
{
    public long Memory { get; init; }

    /// <summary>Memory plus swap, as Docker's --memory-swap (-1: unlimited swap).</summary>
    public long MemorySwap { get; init; }
    public long MemoryReservation { get; init; }
    public long? MemorySwappiness { get; init; }
    public bool OomKillDisable { get; init; }
    public long NanoCpus { get; init; }
    public long CpuShares { get; init; }
    public long CpuPeriod { get; init; }
    public long CpuQuota { get; init; }
    public string? CpusetCpus { get; init; }
    public string? CpusetMems { get; init; }
    public long? PidsLimit { get; init; }
    public int BlkioWeight { get; init; }
    public int? OomScoreAdj { get; init; }

    /// <summary>--ulimit values by rlimit name ("nofile"), already capped at the host's hard limits.</summary>
    public IReadOnlyList<(string Name, ulong Soft, ulong Hard)> Ulimits { get; init; } = [];
}

/// <summary>What confines the process: capabilities, seccomp, masked paths, devices.</summary>
public sealed record ContainerSecurity
{
    /// <summary>All capabilities and devices, no seccomp, no masked or read-only paths, /sys writable.</summary>
    public bool Privileged { get; init; }
    public IReadOnlyList<string> Capabilities { get; init; } = OciSpecBuilder.DefaultCapabilities;
    public bool NoNewPrivileges { get; init; }

    /// <summary>null: Docker's default profile; "unconfined": none; anything else: a profile's JSON in Docker's format.</summary>
    public string? SeccompProfile { get; init; }

    /// <summary><c>--security-opt systempaths=unconfined</c>: no masked or read-only /proc paths.</summary>
    public bool UnmaskedPaths { get; init; }
    public IReadOnlyList<uint> AdditionalGids { get; init; } = [];

    /// <summary>Device nodes to create (--device, or every host device when privileged) and the cgroup rules that let them be used.</summary>
    public IReadOnlyList<OciDevice> Devices { get; init; } = [];
    public IReadOnlyList<OciDeviceRule> DeviceRules { get; init; } = [];
    public Dictionary<string, string>? Sysctls { get; init; }
}

/// <summary>A user mount: its destination is already resolved inside the rootfs.</summary>
public sealed record RunMount
{
    public required string Destination { get; init; }
    public required string Type { get; init; }
    public required string Source { get; init; }
    public IReadOnlyList<string> Options { get; init; } = [];
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

    public const string DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>Where Docker mounts its init, so tools that look for it find ours.</summary>
    public const string InitDestination = "/sbin/docker-init";

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
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(host);
        ContainerSecurity security = run.Security;
        ContainerLimits limits = run.Limits;
        bool confinedPaths = !security.Privileged && !security.UnmaskedPaths;
        var mounts = new List<OciMount>
        {
            new() { Destination = "/proc", Type = "proc", Source = "proc", Options = ["nosuid", "noexec", "nodev"] },
            new() { Destination = "/dev", Type = "tmpfs", Source = "tmpfs", Options = ["nosuid", "strictatime", "mode=755", "size=65536k"] },
            new() { Destination = "/dev/pts", Type = "devpts", Source = "devpts", Options = ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
            new() { Destination = "/sys", Type = "sysfs", Source = "sysfs", Options = ["nosuid", "noexec", "nodev", security.Privileged ? "rw" : "ro"] },
            new() { Destination = "/sys/fs/cgroup", Type = "cgroup", Source = "cgroup", Options = [security.Privileged ? "rw" : "ro", "nosuid", "noexec", "nodev"] },
            new() { Destination = "/dev/mqueue", Type = "mqueue", Source = "mqueue", Options = ["nosuid", "noexec", "nodev"] },
            new() { Destination = "/dev/shm", Type = "tmpfs", Source = "shm", Options = ["nosuid", "noexec", "nodev", "mode=1777", $"size={run.ShmSize}"] },
        };
        foreach ((string hostPath, string containerPath) in run.EtcFiles)
        {
            mounts.Add(new OciMount { Destination = containerPath, Type = "bind", Source = hostPath, Options = ["rbind", "rprivate"] });
        }

        mounts.RemoveAll(m => run.Mounts.Any(u => u.Destination == m.Destination));
        mounts.AddRange(run.Mounts.Select(u => new OciMount { Destination = u.Destination, Type = u.Type, Source = u.Source, Options = u.Options }));
        if (run.Mounts.Count > 0)
        {
            // Parents before children (a stable sort): a volume on /etc must not hide the /etc/hosts bind.
            mounts = [.. mounts.OrderBy(m => m.Destination.TrimEnd('/').Count(c => c == '/'))];
        }

        IReadOnlyList<string> args = run.Args;
        if (run.InitPath is not null)
        {
            mounts.Add(new OciMount { Destination = InitDestination, Type = "bind", Source = run.InitPath, Options = ["bind", "ro"] });
            args = [InitDestination, "--", .. run.Args];
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
        if (!env.Any(e => e.StartsWith("PATH=", StringComparison.Ordinal)))
        {
            env.Insert(0, DefaultPath); // as Docker does for images without one (import, scratch)
        }

        if (!env.Any(e => e.StartsWith("HOSTNAME=", StringComparison.Ordinal)))
        {
            env.Insert(env.FindIndex(e => e.StartsWith("PATH=", StringComparison.Ordinal)) + 1, "HOSTNAME=" + run.Hostname);
        }

        if (run.Tty && !env.Any(e => e.StartsWith("TERM=", StringComparison.Ordinal)))
        {
            env.Add("TERM=xterm");
        }

        ulong nofile = Math.Min(1048576UL, host.NoFileHardLimit);
        var rlimits = new List<OciRlimit>();
        foreach ((string name, ulong soft, ulong hard) in limits.Ulimits)
        {
            rlimits.Add(new OciRlimit { Type = "RLIMIT_" + name.ToUpperInvariant(), Soft = soft, Hard = hard });
        }

        if (!rlimits.Any(r => r.Type == "RLIMIT_NOFILE"))
        {
            rlimits.Insert(0, new OciRlimit { Type = "RLIMIT_NOFILE", Hard = nofile, Soft = nofile });
        }

        IReadOnlyList<string> capabilities = security.Capabilities;
        OciSeccomp? seccomp = security.Privileged || security.SeccompProfile == "unconfined" ? null
            : security.SeccompProfile is null ? SeccompProfile.ForDefault(capabilities, host)
            : SeccompProfile.FromJson(security.SeccompProfile, capabilities, host);
        return new OciSpec
        {
            Process = new OciProcess
            {
                Terminal = run.Tty,
                ConsoleSize = run.Tty && run.ConsoleSize is { Rows: > 0, Columns: > 0 } size ? new OciBox { Height = size.Rows, Width = size.Columns } : null,
                User = new OciUser { Uid = run.Uid, Gid = run.Gid, AdditionalGids = security.AdditionalGids.Count > 0 ? security.AdditionalGids : null },
                Args = args,
                Env = env,
                Cwd = string.IsNullOrEmpty(run.WorkingDir) ? "/" : run.WorkingDir,
                Capabilities = new OciCapabilities { Bounding = capabilities, Effective = capabilities, Permitted = capabilities },
                Rlimits = rlimits,
                NoNewPrivileges = security.NoNewPrivileges,
                OomScoreAdj = limits.OomScoreAdj ?? 0,
            },
            Root = new OciRoot { Path = "rootfs", Readonly = run.ReadonlyRootfs },
            Hostname = run.Hostname,
            Mounts = mounts,
            Linux = new OciLinux
            {
                Namespaces = namespaces,
                CgroupsPath = $"/berth/{run.Id}",
                MaskedPaths = confinedPaths ? MaskedPaths : null,
                ReadonlyPaths = confinedPaths ? ReadonlyPaths : null,
                Devices = security.Devices.Count > 0 ? security.Devices : null,
                Seccomp = seccomp,
                Sysctl = security.Sysctls,
                Resources = new OciResources
                {
                    Devices = security.Privileged ? [new OciDeviceRule { Allow = true, Access = "rwm" }] : [.. DefaultDeviceRules, .. security.DeviceRules],
                    Memory = MemoryFor(limits),
                    Cpu = CpuFor(limits),
                    Pids = limits.PidsLimit is > 0 ? new OciPids { Limit = limits.PidsLimit.Value } : null,
                    BlockIo = limits.BlkioWeight > 0 ? new OciBlockIo { Weight = (ushort)limits.BlkioWeight } : null,
                },
            },
        };
    }

    private static OciMemory? MemoryFor(ContainerLimits limits)
    {
        if (limits.Memory <= 0 && limits.MemoryReservation <= 0 && limits.MemorySwappiness is null && !limits.OomKillDisable)
        {
            return null;
        }

        return new OciMemory
        {
            Limit = limits.Memory > 0 ? limits.Memory : null,
            Swap = limits.MemorySwap != 0 ? limits.MemorySwap : null,
            Reservation = limits.MemoryReservation > 0 ? limits.MemoryReservation : null,
            Swappiness = limits.MemorySwappiness is >= 0 and <= 100 ? (ulong)limits.MemorySwappiness.Value : null,
            DisableOomKiller = limits.OomKillDisable ? true : null,
        };
    }

    private static OciCpu? CpuFor(ContainerLimits limits)
    {
        if (limits.NanoCpus <= 0 && limits.CpuShares <= 0 && limits.CpuPeriod <= 0 && limits.CpuQuota <= 0 && string.IsNullOrEmpty(limits.CpusetCpus) && string.IsNullOrEmpty(limits.CpusetMems))
        {
            return null;
        }

        // --cpus is a quota over Docker's default 100 ms period.
        const ulong period = 100_000;
        return new OciCpu
        {
            Shares = limits.CpuShares > 0 ? (ulong)limits.CpuShares : null,
            Period = limits.NanoCpus > 0 ? period : limits.CpuPeriod > 0 ? (ulong)limits.CpuPeriod : null,
            Quota = limits.NanoCpus > 0 ? limits.NanoCpus * (long)period / 1_000_000_000 : limits.CpuQuota > 0 ? limits.CpuQuota : null,
            Cpus = string.IsNullOrEmpty(limits.CpusetCpus) ? null : limits.CpusetCpus,
            Mems = string.IsNullOrEmpty(limits.CpusetMems) ? null : limits.CpusetMems,
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
