using System.Text.Json.Serialization;

namespace Berth.Api.Types;

/// <summary>The container configuration that does not depend on the host (Docker's <c>ContainerConfig</c>).</summary>
public record ContainerConfig
{
    public string? Hostname { get; init; }
    public string? Domainname { get; init; }
    public string? User { get; init; }
    public bool AttachStdin { get; init; }
    public bool AttachStdout { get; init; }
    public bool AttachStderr { get; init; }
    public Dictionary<string, EmptyObject>? ExposedPorts { get; init; }
    public bool Tty { get; init; }
    public bool OpenStdin { get; init; }
    public bool StdinOnce { get; init; }
    public IReadOnlyList<string>? Env { get; init; }
    public IReadOnlyList<string>? Cmd { get; init; }
    public HealthConfig? Healthcheck { get; init; }
    public bool? ArgsEscaped { get; init; }
    public string? Image { get; init; }
    public Dictionary<string, EmptyObject>? Volumes { get; init; }
    public string? WorkingDir { get; init; }
    public IReadOnlyList<string>? Entrypoint { get; init; }
    public bool? NetworkDisabled { get; init; }
    public IReadOnlyList<string>? OnBuild { get; init; }
    public Dictionary<string, string>? Labels { get; init; }
    public string? StopSignal { get; init; }
    public int? StopTimeout { get; init; }
    public IReadOnlyList<string>? Shell { get; init; }

    /// <summary>Just the configuration, without what a derived record (the create request) adds.</summary>
    public ContainerConfig ToConfig() => new(this);
}

/// <summary>POST /containers/create body: the config plus host and networking settings, in one flat object.</summary>
public sealed record ContainerCreateRequest : ContainerConfig
{
    public HostConfig? HostConfig { get; init; }
    public NetworkingConfig? NetworkingConfig { get; init; }
}

/// <summary>Docker serialises sets as objects whose values are <c>{}</c>.</summary>
public sealed record EmptyObject;

public sealed record HealthConfig
{
    public IReadOnlyList<string>? Test { get; init; }
    [JsonConverter(typeof(NullAsZeroInt64Converter))]
    public long Interval { get; init; }
    [JsonConverter(typeof(NullAsZeroInt64Converter))]
    public long Timeout { get; init; }
    [JsonConverter(typeof(NullAsZeroInt32Converter))]
    public int Retries { get; init; }
    [JsonConverter(typeof(NullAsZeroInt64Converter))]
    public long StartPeriod { get; init; }
    [JsonConverter(typeof(NullAsZeroInt64Converter))]
    public long StartInterval { get; init; }
}

/// <summary>The host-dependent settings (the subset Berth honours grows issue by issue).</summary>
public sealed record HostConfig
{
    public IReadOnlyList<string>? Binds { get; init; }

    /// <summary>The initial terminal size of a TTY container: [height, width].</summary>
    public IReadOnlyList<uint>? ConsoleSize { get; init; }
    public string? NetworkMode { get; init; }
    public RestartPolicy? RestartPolicy { get; init; }
    public bool AutoRemove { get; init; }
    public bool Privileged { get; init; }
    public bool ReadonlyRootfs { get; init; }
    public bool? Init { get; init; }
    public IReadOnlyList<string>? CapAdd { get; init; }
    public IReadOnlyList<string>? CapDrop { get; init; }
    public IReadOnlyList<string>? Dns { get; init; }
    public IReadOnlyList<string>? ExtraHosts { get; init; }
    public IReadOnlyList<string>? SecurityOpt { get; init; }
    public Dictionary<string, string>? Tmpfs { get; init; }
    public long? ShmSize { get; init; }
    public string? Runtime { get; init; }
    public long Memory { get; init; }
    public long MemorySwap { get; init; }
    public long NanoCpus { get; init; }
    public long CpuShares { get; init; }
    public long? PidsLimit { get; init; }
    public LogConfig? LogConfig { get; init; }
    public Dictionary<string, IReadOnlyList<PortBinding>?>? PortBindings { get; init; }
    public bool? PublishAllPorts { get; init; }
    public IReadOnlyList<MountSpec>? Mounts { get; init; }
    public IReadOnlyList<string>? VolumesFrom { get; init; }
    public IReadOnlyList<string>? Links { get; init; }
    public IReadOnlyList<DeviceMapping>? Devices { get; init; }
    public IReadOnlyList<Ulimit>? Ulimits { get; init; }
    public Dictionary<string, string>? Sysctls { get; init; }
    public IReadOnlyList<string>? GroupAdd { get; init; }
    public IReadOnlyList<string>? DnsOptions { get; init; }
    public IReadOnlyList<string>? DnsSearch { get; init; }
    public string? IpcMode { get; init; }
    public string? PidMode { get; init; }
    public string? UTSMode { get; init; }
    public string? UsernsMode { get; init; }
    public string? CgroupnsMode { get; init; }
    public string? CgroupParent { get; init; }
    public string? ContainerIDFile { get; init; }
    public string? Isolation { get; init; }
    public bool? OomKillDisable { get; init; }
    public int? OomScoreAdj { get; init; }
    public long? MemoryReservation { get; init; }
    public long? MemorySwappiness { get; init; }
    public long? CpuPeriod { get; init; }
    public long? CpuQuota { get; init; }
    public string? CpusetCpus { get; init; }
    public string? CpusetMems { get; init; }
    public int? BlkioWeight { get; init; }
    public Dictionary<string, string>? StorageOpt { get; init; }
    public Dictionary<string, string>? Annotations { get; init; }
}

public sealed record RestartPolicy
{
    public string Name { get; init; } = "";
    public int MaximumRetryCount { get; init; }
}

public sealed record LogConfig
{
    public string Type { get; init; } = "json-file";
    public Dictionary<string, string>? Config { get; init; }
}

public sealed record NetworkingConfig
{
    public Dictionary<string, EndpointSettings>? EndpointsConfig { get; init; }
}

public sealed record EndpointSettings
{
    public EndpointIpamConfig? IPAMConfig { get; init; }
    public IReadOnlyList<string>? Links { get; init; }
    public IReadOnlyList<string>? Aliases { get; init; }
    public IReadOnlyList<string>? DNSNames { get; init; }
    public string? NetworkID { get; init; }
    public string? EndpointID { get; init; }
    public string? Gateway { get; init; }
    public string? IPAddress { get; init; }
    public int IPPrefixLen { get; init; }
    public string? MacAddress { get; init; }
    public string? IPv6Gateway { get; init; }
    public string? GlobalIPv6Address { get; init; }
    public int GlobalIPv6PrefixLen { get; init; }
}

/// <summary>POST /containers/create answer.</summary>
public sealed record ContainerCreateResponse
{
    public string Id { get; init; } = "";
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>POST /containers/{id}/wait answer.</summary>
public sealed record ContainerWaitResponse
{
    public long StatusCode { get; init; }
    public WaitError? Error { get; init; }
}

public sealed record WaitError
{
    public string? Message { get; init; }
}

/// <summary>One row of GET /containers/json.</summary>
public sealed record ContainerSummary
{
    public string Id { get; init; } = "";
    public IReadOnlyList<string> Names { get; init; } = [];
    public string Image { get; init; } = "";
    public string ImageID { get; init; } = "";
    public string Command { get; init; } = "";
    public long Created { get; init; }
    public IReadOnlyList<PortSummary> Ports { get; init; } = [];
    public Dictionary<string, string> Labels { get; init; } = [];
    public string State { get; init; } = "";
    public string Status { get; init; } = "";
    public SummaryHostConfig HostConfig { get; init; } = new();
    public SummaryNetworkSettings NetworkSettings { get; init; } = new();
    public IReadOnlyList<MountPoint> Mounts { get; init; } = [];
}

public sealed record PortSummary
{
    public string? IP { get; init; }
    public int PrivatePort { get; init; }
    public int? PublicPort { get; init; }
    public string Type { get; init; } = "tcp";
}

public sealed record SummaryHostConfig
{
    public string NetworkMode { get; init; } = "none";
}

public sealed record SummaryNetworkSettings
{
    public Dictionary<string, EndpointSettings> Networks { get; init; } = [];
}

public sealed record MountPoint
{
    public string Type { get; init; } = "";
    public string? Name { get; init; }
    public string Source { get; init; } = "";
    public string Destination { get; init; } = "";
    public string? Driver { get; init; }
    public string Mode { get; init; } = "";
    public bool RW { get; init; }
    public string Propagation { get; init; } = "";
}

/// <summary>GET /containers/{id}/json.</summary>
public sealed record ContainerInspect
{
    public string Id { get; init; } = "";
    public string Created { get; init; } = "";
    public string Path { get; init; } = "";
    public IReadOnlyList<string> Args { get; init; } = [];
    public ContainerState State { get; init; } = new();
    public string Image { get; init; } = "";
    public string ResolvConfPath { get; init; } = "";
    public string HostnamePath { get; init; } = "";
    public string HostsPath { get; init; } = "";
    public string LogPath { get; init; } = "";
    public string Name { get; init; } = "";
    public int RestartCount { get; init; }
    public string Driver { get; init; } = "overlay2";
    public string Platform { get; init; } = "linux";
    public string MountLabel { get; init; } = "";
    public string ProcessLabel { get; init; } = "";
    public string AppArmorProfile { get; init; } = "";
    public IReadOnlyList<string>? ExecIDs { get; init; }
    public HostConfig HostConfig { get; init; } = new();
    public GraphDriverData GraphDriver { get; init; } = new();
    public IReadOnlyList<MountPoint> Mounts { get; init; } = [];
    public ContainerConfig Config { get; init; } = new();
    public InspectNetworkSettings NetworkSettings { get; init; } = new();
}

public sealed record ContainerState
{
    public string Status { get; init; } = "created";
    public bool Running { get; init; }
    public bool Paused { get; init; }
    public bool Restarting { get; init; }
    public bool OOMKilled { get; init; }
    public bool Dead { get; init; }
    public int Pid { get; init; }
    public int ExitCode { get; init; }
    public string Error { get; init; } = "";
    public string StartedAt { get; init; } = "0001-01-01T00:00:00Z";
    public string FinishedAt { get; init; } = "0001-01-01T00:00:00Z";

    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public ContainerHealth? Health { get; init; }
}

public sealed record GraphDriverData
{
    public string Name { get; init; } = "overlay2";
    public Dictionary<string, string> Data { get; init; } = [];
}

public sealed record InspectNetworkSettings
{
    public string Bridge { get; init; } = "";
    public string SandboxID { get; init; } = "";
    public Dictionary<string, IReadOnlyList<PortBinding>?> Ports { get; init; } = [];
    public string SandboxKey { get; init; } = "";
    public string IPAddress { get; init; } = "";
    public int IPPrefixLen { get; init; }
    public string Gateway { get; init; } = "";
    public string MacAddress { get; init; } = "";
    public Dictionary<string, EndpointSettings> Networks { get; init; } = [];
}

public sealed record PortBinding
{
    public string HostIp { get; init; } = "";
    public string HostPort { get; init; } = "";
}

/// <summary>GET /containers/{id}/top.</summary>
public sealed record ContainerTopResponse
{
    public IReadOnlyList<string> Titles { get; init; } = [];
    public IReadOnlyList<IReadOnlyList<string>> Processes { get; init; } = [];
}

/// <summary>An entry of GET /containers/{id}/changes: Kind 0 modified, 1 added, 2 deleted.</summary>
public sealed record FilesystemChange
{
    public string Path { get; init; } = "";
    public int Kind { get; init; }
}

/// <summary>The stat of a container path (base64 JSON in the X-Docker-Container-Path-Stat header of the archive API).</summary>
public sealed record ContainerPathStat
{
    [System.Text.Json.Serialization.JsonPropertyName("name")] public string Name { get; init; } = "";
    [System.Text.Json.Serialization.JsonPropertyName("size")] public long Size { get; init; }
    [System.Text.Json.Serialization.JsonPropertyName("mode")] public uint Mode { get; init; }
    [System.Text.Json.Serialization.JsonPropertyName("mtime")] public string Mtime { get; init; } = "";
    [System.Text.Json.Serialization.JsonPropertyName("linkTarget")] public string LinkTarget { get; init; } = "";
}
