using System.Globalization;
using Berth.Api.Types;
using Berth.Interop;
using Berth.Primitives;
using Berth.Runtime;

namespace Berth.Engine.Containers;

/// <summary>
/// HostConfig's resource and security settings, checked the way Docker's daemon checks them (same limits, same
/// messages) and turned into what the runtime needs. What this host cannot honour is dropped with Docker's warning.
/// </summary>
public static class RuntimeSettings
{
    private const long MinimumMemory = 6 * 1024 * 1024;

    private static readonly HashSet<string> UlimitNames = new(StringComparer.Ordinal)
    {
        "as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack",
    };

    /// <summary>Checks <paramref name="hostConfig"/> at create; returns it with what the host cannot do removed, and the warnings for that.</summary>
    public static (HostConfig HostConfig, IReadOnlyList<string> Warnings) Validate(HostConfig hostConfig, HostFacts host)
    {
        ArgumentNullException.ThrowIfNull(hostConfig);
        ArgumentNullException.ThrowIfNull(host);
        var warnings = new List<string>();
        HostConfig result = hostConfig;

        if (hostConfig.Memory > 0 && hostConfig.Memory < MinimumMemory)
        {
            throw EngineException.Invalid("Minimum memory limit allowed is 6MB");
        }

        if (hostConfig.MemorySwap > 0 && hostConfig.Memory == 0)
        {
            throw EngineException.Invalid("You should always set the Memory limit when using Memoryswap limit, see usage");
        }

        if (hostConfig.Memory > 0 && hostConfig.MemorySwap > 0 && hostConfig.MemorySwap < hostConfig.Memory)
        {
            throw EngineException.Invalid("Minimum memoryswap limit should be larger than memory limit, see usage");
        }

        if (hostConfig.Memory > 0 && hostConfig.MemorySwap != 0 && !host.SwapLimit)
        {
            warnings.Add("Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.");
            result = result with { MemorySwap = -1 };
        }

        if (hostConfig.MemoryReservation is > 0 and < MinimumMemory)
        {
            throw EngineException.Invalid("Minimum memory reservation allowed is 6MB");
        }

        if (hostConfig.Memory > 0 && hostConfig.MemoryReservation > hostConfig.Memory)
        {
            throw EngineException.Invalid("Minimum memory limit can not be less than memory reservation limit, see usage");
        }

        if (hostConfig.MemorySwappiness is long swappiness && swappiness != -1 && swappiness is < 0 or > 100)
        {
            throw EngineException.Invalid($"Invalid value: {swappiness}, valid memory swappiness range is 0-100");
        }

        if (hostConfig.OomKillDisable == true && hostConfig.Memory == 0)
        {
            warnings.Add("OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.");
        }

        if (hostConfig.OomScoreAdj is int adj && adj is < -1000 or > 1000)
        {
            throw EngineException.Invalid($"Invalid value {adj}, range for oom score adj is [-1000, 1000]");
        }

        ValidateCpu(hostConfig, host);

        if (hostConfig.BlkioWeight is int weight and not 0)
        {
            if (weight is < 10 or > 1000)
            {
                throw EngineException.Invalid("Range of blkio weight is from 10 to 1000");
            }

            if (!host.BlkioWeight)
            {
                warnings.Add("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.");
                result = result with { BlkioWeight = null };
            }
        }

        if (hostConfig.PidsLimit is <= 0)
        {
            result = result with { PidsLimit = null }; // 0 and -1 both mean unlimited
        }

        try
        {
            _ = CapabilitySet.Compute(hostConfig.CapAdd, hostConfig.CapDrop, hostConfig.Privileged, host);
        }
        catch (ArgumentException e)
        {
            throw EngineException.Invalid(e.Message);
        }

        if (ParseSecurityOptions(hostConfig.SecurityOpt).Seccomp is { } profile and not "unconfined")
        {
            try
            {
                _ = SeccompProfile.FromJson(profile, OciSpecBuilder.DefaultCapabilities, host);
            }
            catch (FormatException e)
            {
                throw EngineException.Invalid(e.Message);
            }
        }

        foreach (Ulimit ulimit in hostConfig.Ulimits ?? [])
        {
            if (!UlimitNames.Contains(ulimit.Name))
            {
                throw EngineException.Invalid($"invalid ulimit type: {ulimit.Name}");
            }

            if (ulimit.Soft > ulimit.Hard)
            {
                throw EngineException.Invalid($"ulimit soft limit must be less than or equal to hard limit: {ulimit.Soft} > {ulimit.Hard}");
            }

            if (host.HardLimits.TryGetValue(ulimit.Name, out ulong hard) && (ulong)ulimit.Hard > hard)
            {
                warnings.Add($"ulimit {ulimit.Name}={ulimit.Soft}:{ulimit.Hard} is above the host's hard limit {hard}; it is lowered to {hard}");
            }
        }

        foreach (string key in hostConfig.Sysctls?.Keys ?? Enumerable.Empty<string>())
        {
            if (!NamespacedSysctl(key))
            {
                throw EngineException.Invalid($"sysctl '{key}' is not whitelisted");
            }

            if (key.StartsWith("net.", StringComparison.Ordinal) && hostConfig.NetworkMode == "host")
            {
                throw EngineException.Invalid($"sysctl '{key}' not allowed in host network namespace");
            }
        }

        return (result, warnings);
    }

    private static void ValidateCpu(HostConfig hostConfig, HostFacts host)
    {
        if (hostConfig.NanoCpus > 0 && hostConfig.CpuPeriod > 0)
        {
            throw EngineException.Invalid("Conflicting options: Nano CPUs and CPU Period cannot both be set");
        }

        if (hostConfig.NanoCpus > 0 && hostConfig.CpuQuota > 0)
        {
            throw EngineException.Invalid("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
        }

        if (hostConfig.NanoCpus < 0 || hostConfig.NanoCpus > host.Cpus * 1_000_000_000L || hostConfig.NanoCpus is > 0 and < 10_000_000)
        {
            throw EngineException.Invalid(string.Create(CultureInfo.InvariantCulture, $"Range of CPUs is from 0.01 to {host.Cpus:F2}, as there are only {host.Cpus} CPUs available"));
        }

        if (hostConfig.CpuPeriod is long period and not 0 && period is < 1000 or > 1_000_000)
        {
            throw EngineException.Invalid("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
        }

        if (hostConfig.CpuQuota is > 0 and < 1000)
        {
            throw EngineException.Invalid("CPU cfs quota can not be less than 1ms (i.e. 1000)");
        }

        if (!string.IsNullOrEmpty(hostConfig.CpusetCpus))
        {
            IReadOnlySet<int> requested = ParseCpuList(hostConfig.CpusetCpus) ?? throw EngineException.Invalid($"Invalid value {hostConfig.CpusetCpus} for cpuset cpus");
            IReadOnlySet<int>? available = ParseCpuList(host.CpusetCpus);
            if (available is not null && !requested.IsSubsetOf(available))
            {
                throw EngineException.Invalid($"Requested CPUs are not available - requested {hostConfig.CpusetCpus}, available: {host.CpusetCpus}");
            }
        }

        if (!string.IsNullOrEmpty(hostConfig.CpusetMems) && ParseCpuList(hostConfig.CpusetMems) is null)
        {
            throw EngineException.Invalid($"Invalid value {hostConfig.CpusetMems} for cpuset mems");
        }
    }

    /// <summary>A cpuset list ("0-2,4"), or null when it is not one.</summary>
    public static IReadOnlySet<int>? ParseCpuList(string list)
    {
        ArgumentNullException.ThrowIfNull(list);
        var set = new HashSet<int>();
        foreach (string part in list.Split(','))
        {
            string[] range = part.Trim().Split('-');
            if (range.Length is < 1 or > 2 || !int.TryParse(range[0], NumberStyles.None, CultureInfo.InvariantCulture, out int first))
            {
                return null;
            }

            int last = first;
            if (range.Length == 2 && (!int.TryParse(range[1], NumberStyles.None, CultureInfo.InvariantCulture, out last) || last < first))
            {
                return null;
            }

            for (int cpu = first; cpu <= last; cpu++)
            {
                set.Add(cpu);
            }
        }

        return set;
    }

    /// <summary>Sysctls that belong to the container's own namespaces, the ones Docker lets a container set.</summary>
    private static bool NamespacedSysctl(string key) =>
        key is "kernel.msgmax" or "kernel.msgmnb" or "kernel.msgmni" or "kernel.sem" or "kernel.shmall" or "kernel.shmmax" or "kernel.shmmni" or "kernel.shm_rmid_forced"
        || key.StartsWith("fs.mqueue.", StringComparison.Ordinal)
        || key.StartsWith("net.", StringComparison.Ordinal);

    /// <summary>The parsed <c>--security-opt</c> values; throws Docker's errors for malformed or unknown ones.</summary>
    public static SecurityOptions ParseSecurityOptions(IReadOnlyList<string>? options)
    {
        var parsed = new SecurityOptions();
        foreach (string option in options ?? [])
        {
            if (option == "no-new-privileges")
            {
                parsed = parsed with { NoNewPrivileges = true };
                continue;
            }

            int separator = option.IndexOfAny(['=', ':']);
            if (separator < 0)
            {
                throw EngineException.Invalid($"invalid --security-opt 1: \"{option}\"");
            }

            string key = option[..separator];
            string value = option[(separator + 1)..];
            parsed = key switch
            {
                "no-new-privileges" => bool.TryParse(value, out bool on) ? parsed with { NoNewPrivileges = on } : throw EngineException.Invalid($"invalid --security-opt 2: \"{option}\""),
                "seccomp" => parsed with { Seccomp = value },
                "systempaths" => value == "unconfined" ? parsed with { UnmaskedPaths = true } : throw EngineException.Invalid($"invalid --security-opt 2: \"{option}\""),
                // No AppArmor or SELinux on this kind of host: Docker accepts the options and applies nothing.
                "apparmor" or "label" => parsed,
                _ => throw EngineException.Invalid($"invalid --security-opt 2: \"{option}\""),
            };
        }

        return parsed;
    }

    /// <summary>The limits a start hands the runtime.</summary>
    public static ContainerLimits LimitsFor(HostConfig hostConfig, HostFacts host)
    {
        ArgumentNullException.ThrowIfNull(hostConfig);
        ArgumentNullException.ThrowIfNull(host);
        long swap = hostConfig.MemorySwap;
        if (!host.SwapLimit || hostConfig.Memory <= 0)
        {
            swap = 0; // nothing to say to the kernel: no swap accounting, or no memory limit to add swap to
        }
        else if (swap == 0)
        {
            swap = hostConfig.Memory * 2; // Docker: swap as large as the memory limit
        }

        return new ContainerLimits
        {
            Memory = hostConfig.Memory,
            MemorySwap = swap,
            MemoryReservation = hostConfig.MemoryReservation ?? 0,
            MemorySwappiness = hostConfig.MemorySwappiness is >= 0 ? hostConfig.MemorySwappiness : null,
            OomKillDisable = hostConfig.OomKillDisable == true,
            NanoCpus = hostConfig.NanoCpus,
            CpuShares = hostConfig.CpuShares,
            CpuPeriod = hostConfig.CpuPeriod ?? 0,
            CpuQuota = hostConfig.CpuQuota ?? 0,
            CpusetCpus = hostConfig.CpusetCpus,
            CpusetMems = hostConfig.CpusetMems,
            PidsLimit = hostConfig.PidsLimit is > 0 ? hostConfig.PidsLimit : null,
            BlkioWeight = host.BlkioWeight ? hostConfig.BlkioWeight ?? 0 : 0,
            OomScoreAdj = hostConfig.OomScoreAdj,
            Ulimits = (hostConfig.Ulimits ?? []).Select(u => Capped(u, host)).ToList(),
        };
    }

    private static (string Name, ulong Soft, ulong Hard) Capped(Ulimit ulimit, HostFacts host)
    {
        ulong soft = ulimit.Soft < 0 ? ulong.MaxValue : (ulong)ulimit.Soft;
        ulong hard = ulimit.Hard < 0 ? ulong.MaxValue : (ulong)ulimit.Hard;
        if (host.HardLimits.TryGetValue(ulimit.Name, out ulong hostHard))
        {
            hard = Math.Min(hard, hostHard);
            soft = Math.Min(soft, hard);
        }

        return (ulimit.Name, soft, hard);
    }

    /// <summary>Capabilities, seccomp, devices and groups for a start.</summary>
    public static ContainerSecurity SecurityFor(HostConfig hostConfig, HostFacts host, IReadOnlyList<uint> supplementaryGroups)
    {
        ArgumentNullException.ThrowIfNull(hostConfig);
        SecurityOptions options = ParseSecurityOptions(hostConfig.SecurityOpt);
        IReadOnlyList<string> capabilities;
        try
        {
            capabilities = CapabilitySet.Compute(hostConfig.CapAdd, hostConfig.CapDrop, hostConfig.Privileged, host);
        }
        catch (ArgumentException e)
        {
            throw EngineException.Invalid(e.Message);
        }

        var devices = new List<OciDevice>();
        var rules = new List<OciDeviceRule>();
        if (hostConfig.Privileged)
        {
            devices.AddRange(HostDevices.List());
        }

        foreach (DeviceMapping mapping in hostConfig.Devices ?? [])
        {
            DeviceNode node = DeviceNode.TryRead(mapping.PathOnHost)
                ?? throw EngineException.Invalid($"error gathering device information while adding custom device \"{mapping.PathOnHost}\": no such file or directory");
            string path = string.IsNullOrEmpty(mapping.PathInContainer) ? mapping.PathOnHost : mapping.PathInContainer;
            devices.RemoveAll(d => d.Path == path);
            devices.Add(new OciDevice { Path = path, Type = node.Type.ToString(), Major = node.Major, Minor = node.Minor, FileMode = node.Mode, Uid = node.Uid, Gid = node.Gid });
            rules.Add(new OciDeviceRule { Allow = true, Type = node.Type.ToString(), Major = node.Major, Minor = node.Minor, Access = string.IsNullOrEmpty(mapping.CgroupPermissions) ? "rwm" : mapping.CgroupPermissions });
        }

        return new ContainerSecurity
        {
            Privileged = hostConfig.Privileged,
            Capabilities = capabilities,
            NoNewPrivileges = options.NoNewPrivileges,
            SeccompProfile = options.Seccomp,
            UnmaskedPaths = options.UnmaskedPaths,
            AdditionalGids = supplementaryGroups,
            Devices = devices,
            DeviceRules = rules,
            Sysctls = hostConfig.Sysctls is { Count: > 0 } sysctls ? new Dictionary<string, string>(sysctls, StringComparer.Ordinal) : null,
        };
    }
}

/// <summary>The <c>--security-opt</c> settings Berth honours.</summary>
public sealed record SecurityOptions
{
    public bool NoNewPrivileges { get; init; }

    /// <summary>null: the default profile; "unconfined"; or a profile's JSON (the docker CLI sends the file's content).</summary>
    public string? Seccomp { get; init; }
    public bool UnmaskedPaths { get; init; }
}
