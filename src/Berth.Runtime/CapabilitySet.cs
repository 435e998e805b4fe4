namespace Berth.Runtime;

/// <summary>Linux capabilities by name, and Docker's rules for <c>--cap-add</c>, <c>--cap-drop</c> and <c>--privileged</c>.</summary>
public static class CapabilitySet
{
    /// <summary>Every capability up to CAP_CHECKPOINT_RESTORE (40), in kernel order.</summary>
    public static readonly IReadOnlyList<string> Known =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
        "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
        "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ];

    /// <summary>
    /// The capabilities this host's kernel knows (/proc/sys/kernel/cap_last_cap) that are in the daemon's own bounding
    /// set, as Docker computes "all": --privileged and --cap-add ALL get these (asking for more fails in the runtime).
    /// </summary>
    public static IReadOnlyList<string> All(HostFacts host)
    {
        ArgumentNullException.ThrowIfNull(host);
        int count = host.LastCapability is int last ? Math.Min(last + 1, Known.Count) : Known.Count;
        return Known.Take(count).Where((_, bit) => host.BoundingCapabilities is not ulong mask || (mask & (1UL << bit)) != 0).ToList();
    }

    /// <summary>"net_admin", "NET_ADMIN" and "CAP_NET_ADMIN" are one capability; "ALL" stays "ALL".</summary>
    public static string Normalize(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string upper = name.Trim().ToUpperInvariant();
        if (upper == "ALL")
        {
            return upper;
        }

        string full = upper.StartsWith("CAP_", StringComparison.Ordinal) ? upper : "CAP_" + upper;
        return Known.Contains(full) ? full : throw new ArgumentException($"unknown capability: \"{full}\"");
    }

    /// <summary>
    /// Docker's TweakCapabilities: privileged gets everything; "ALL" in adds gets everything but the drops; "ALL"
    /// in drops keeps only the adds; otherwise the defaults, minus the drops, plus the adds (an add beats a drop).
    /// Throws <see cref="ArgumentException"/> for an unknown name.
    /// </summary>
    public static IReadOnlyList<string> Compute(IReadOnlyList<string>? add, IReadOnlyList<string>? drop, bool privileged, HostFacts host)
    {
        if (privileged)
        {
            return All(host);
        }

        if (add is not { Count: > 0 } && drop is not { Count: > 0 })
        {
            return OciSpecBuilder.DefaultCapabilities;
        }

        List<string> adds = NormalizeAll(add, "CapAdd");
        List<string> drops = NormalizeAll(drop, "CapDrop");
        IEnumerable<string> result;
        if (adds.Contains("ALL"))
        {
            result = All(host).Where(c => !drops.Contains(c));
        }
        else if (drops.Contains("ALL"))
        {
            result = adds;
        }
        else
        {
            result = OciSpecBuilder.DefaultCapabilities.Where(c => !drops.Contains(c)).Concat(adds);
        }

        return result.Distinct(StringComparer.Ordinal).ToList();
    }

    private static List<string> NormalizeAll(IReadOnlyList<string>? names, string field)
    {
        try
        {
            return (names ?? []).Select(Normalize).ToList();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"invalid {field}: {e.Message}", e);
        }
    }
}
