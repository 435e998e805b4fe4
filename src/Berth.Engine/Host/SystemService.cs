using System.Reflection;
using Berth.Api.Types;
using Berth.Engine.Containers;
using Berth.Images;
using Berth.Runtime;

namespace Berth.Engine.Host;

/// <summary>Version and host facts for <c>/version</c> and <c>/info</c>.</summary>
public interface ISystemBackend
{
    Task<SystemVersion> VersionAsync(CancellationToken cancellationToken);

    Task<SystemInfo> InfoAsync(CancellationToken cancellationToken);
}

public sealed class SystemService(ContainerService containers, ImageStore images, RuncDriver runtime, HostFacts host, EngineOptions options, DaemonLabels labels, Networking.Firewall firewall) : ISystemBackend
{
    /// <summary>The newest Engine API version served.</summary>
    public const string ApiVersion = "1.50";

    /// <summary>The oldest Engine API version served.</summary>
    public const string MinApiVersion = "1.24";

    public static string EngineVersion { get; } =
        typeof(SystemService).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.1.0";

    private (string Version, string Commit)? _runtimeVersion;

    public async Task<SystemVersion> VersionAsync(CancellationToken cancellationToken)
    {
        (string runcVersion, string runcCommit) = await RuntimeVersionAsync(cancellationToken).ConfigureAwait(false);
        return new SystemVersion
        {
            Platform = new VersionPlatform { Name = "Berth Engine" },
            Components =
            [
                new VersionComponent
                {
                    Name = "Engine", Version = EngineVersion,
                    Details = new Dictionary<string, string>
                    {
                        ["ApiVersion"] = ApiVersion, ["MinAPIVersion"] = MinApiVersion, ["Os"] = "linux", ["Arch"] = "amd64",
                        ["KernelVersion"] = host.KernelVersion, ["GoVersion"] = ".NET " + Environment.Version, ["GitCommit"] = "",
                        ["Experimental"] = "false", ["BuildTime"] = "",
                    },
                },
                new VersionComponent { Name = "runc", Version = runcVersion, Details = new Dictionary<string, string> { ["GitCommit"] = runcCommit } },
            ],
            Version = EngineVersion,
            ApiVersion = ApiVersion,
            MinAPIVersion = MinApiVersion,
            GoVersion = ".NET " + Environment.Version,
            KernelVersion = host.KernelVersion,
        };
    }

    public async Task<SystemInfo> InfoAsync(CancellationToken cancellationToken)
    {
        (_, string runcCommit) = await RuntimeVersionAsync(cancellationToken).ConfigureAwait(false);
        ContainerRecord[] all = [.. containers.Records];
        int running = all.Count(r => r.State.Status is ContainerStatus.Running or ContainerStatus.Restarting);
        int paused = all.Count(r => r.State.Status == ContainerStatus.Paused);
        var warnings = new List<string>();
        if (host.CgroupHybrid)
        {
            warnings.Add("WARNING: cgroups are in hybrid mode (v1 controllers beside a v2 hierarchy); Berth uses the v1 controllers");
        }

        if (!File.Exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes") && host.CgroupVersion == 1)
        {
            warnings.Add("WARNING: No swap limit support");
        }

        return new SystemInfo
        {
            ID = MachineId(),
            FirewallBackend = new FirewallInfo { Driver = Networking.Firewall.Backend, Info = [["IPv6", firewall.HasIp6tables ? "ip6tables" : "none"]] },
            Containers = all.Length,
            ContainersRunning = running,
            ContainersPaused = paused,
            ContainersStopped = all.Length - running - paused,
            Images = images.Snapshot.Count,
            Driver = "overlay2",
            DriverStatus = [["Backing Filesystem", BackingFilesystem()], ["Supports d_type", "true"], ["Using metacopy", "false"], ["Native Overlay Diff", "true"], ["userxattr", "false"]],
            DockerRootDir = options.DataRoot,
            Plugins = new PluginsInfo { Volume = ["local"], Network = ["bridge", "host", "null"], Log = ["json-file", "none"] },
            Labels = labels.Current,
            RegistryConfig = RegistryConfig(),
            MemoryLimit = true,
            SwapLimit = File.Exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes") || host.CgroupVersion == 2,
            CpuCfsPeriod = true,
            CpuCfsQuota = true,
            CPUShares = true,
            CPUSet = true,
            PidsLimit = true,
            OomKillDisable = host.CgroupVersion == 1,
            NFd = Directory.Exists("/proc/self/fd") ? Directory.GetFiles("/proc/self/fd").Length : 0,
            NGoroutines = ThreadPoolThreads(),
            SystemTime = DateTimeOffset.Now.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffffzzz", System.Globalization.CultureInfo.InvariantCulture),
            CgroupDriver = "cgroupfs",
            CgroupVersion = host.CgroupVersion.ToString(System.Globalization.CultureInfo.InvariantCulture),
            KernelVersion = host.KernelVersion,
            OperatingSystem = host.OperatingSystem,
            OSVersion = host.OsVersion,
            NCPU = host.Cpus,
            MemTotal = host.MemTotal,
            Name = Environment.MachineName,
            ServerVersion = EngineVersion,
            Runtimes = runtime.Options.AllRuntimes.ToDictionary(r => r.Key, r => new RuntimeInfo { Path = r.Value.Path, RuntimeArgs = r.Value.Args.Count > 0 ? r.Value.Args : null }, StringComparer.Ordinal),
            DefaultRuntime = runtime.Options.DefaultRuntime,
            LiveRestoreEnabled = true,
            RuncCommit = new CommitInfo { ID = runcCommit, Expected = runcCommit },
            SecurityOptions = ["name=seccomp,profile=builtin"],
            Warnings = warnings,
        };
    }

    /// <summary>What docker info shows under "Insecure Registries" and "Registry Mirrors".</summary>
    private RegistryServiceConfig RegistryConfig()
    {
        Distribution.DistributionOptions distribution = options.Distribution;
        string[] mirrors = [.. distribution.Mirrors.Select(m => m.GetLeftPart(UriPartial.Authority) + "/")];
        var indexes = new Dictionary<string, IndexInfo>(StringComparer.Ordinal)
        {
            ["docker.io"] = new IndexInfo { Name = "docker.io", Mirrors = mirrors, Secure = true, Official = true },
        };
        foreach (string name in distribution.InsecureRegistries.Where(r => !r.Contains('/', StringComparison.Ordinal)))
        {
            indexes[name] = new IndexInfo { Name = name, Secure = false };
        }

        return new RegistryServiceConfig
        {
            InsecureRegistryCIDRs = [.. distribution.InsecureRegistries.Where(r => r.Contains('/', StringComparison.Ordinal)), "127.0.0.0/8", "::1/128"],
            IndexConfigs = indexes,
            Mirrors = mirrors,
        };
    }

    private async Task<(string, string)> RuntimeVersionAsync(CancellationToken cancellationToken) =>
        _runtimeVersion ??= await runtime.VersionAsync(cancellationToken).ConfigureAwait(false);

    private static int ThreadPoolThreads() => ThreadPool.ThreadCount;

    private string BackingFilesystem()
    {
        // The mount whose mount point is the longest prefix of the data root.
        string best = "";
        string type = "unknown";
        foreach (string line in File.Exists("/proc/self/mounts") ? File.ReadLines("/proc/self/mounts") : [])
        {
            string[] parts = line.Split(' ');
            if (parts.Length > 2 && options.DataRoot.StartsWith(parts[1], StringComparison.Ordinal) && parts[1].Length >= best.Length)
            {
                best = parts[1];
                type = parts[2];
            }
        }

        return type;
    }

    private static string MachineId() =>
        File.Exists("/etc/machine-id") ? File.ReadAllText("/etc/machine-id").Trim() : Environment.MachineName;
}
