using System.Text.Json.Serialization;

namespace Berth.Runtime;

// The subset of the OCI runtime spec (config.json) Berth writes; see ../shared/reference/oci-runtime-spec/config.md.
#pragma warning disable CS1591

public sealed record OciSpec
{
    [JsonPropertyName("ociVersion")] public string OciVersion { get; init; } = "1.0.2";
    [JsonPropertyName("process")] public OciProcess Process { get; init; } = new();
    [JsonPropertyName("root")] public OciRoot Root { get; init; } = new();
    [JsonPropertyName("hostname")] public string? Hostname { get; init; }
    [JsonPropertyName("mounts")] public IReadOnlyList<OciMount> Mounts { get; init; } = [];
    [JsonPropertyName("linux")] public OciLinux Linux { get; init; } = new();
    [JsonPropertyName("annotations")] public Dictionary<string, string>? Annotations { get; init; }
}

public sealed record OciProcess
{
    [JsonPropertyName("terminal")] public bool Terminal { get; init; }
    [JsonPropertyName("consoleSize")] public OciBox? ConsoleSize { get; init; }
    [JsonPropertyName("user")] public OciUser User { get; init; } = new();
    [JsonPropertyName("args")] public IReadOnlyList<string> Args { get; init; } = [];
    [JsonPropertyName("env")] public IReadOnlyList<string> Env { get; init; } = [];
    [JsonPropertyName("cwd")] public string Cwd { get; init; } = "/";
    [JsonPropertyName("capabilities")] public OciCapabilities? Capabilities { get; init; }
    [JsonPropertyName("rlimits")] public IReadOnlyList<OciRlimit>? Rlimits { get; init; }
    [JsonPropertyName("noNewPrivileges")] public bool NoNewPrivileges { get; init; }
    [JsonPropertyName("oomScoreAdj")] public int? OomScoreAdj { get; init; }
}

/// <summary>A terminal's size: the runtime sets it on the PTY before the process starts.</summary>
public sealed record OciBox
{
    [JsonPropertyName("height")] public uint Height { get; init; }
    [JsonPropertyName("width")] public uint Width { get; init; }
}

public sealed record OciUser
{
    [JsonPropertyName("uid")] public uint Uid { get; init; }
    [JsonPropertyName("gid")] public uint Gid { get; init; }
    [JsonPropertyName("additionalGids")] public IReadOnlyList<uint>? AdditionalGids { get; init; }
}

public sealed record OciCapabilities
{
    [JsonPropertyName("bounding")] public IReadOnlyList<string> Bounding { get; init; } = [];
    [JsonPropertyName("effective")] public IReadOnlyList<string> Effective { get; init; } = [];
    [JsonPropertyName("permitted")] public IReadOnlyList<string> Permitted { get; init; } = [];
}

public sealed record OciRlimit
{
    [JsonPropertyName("type")] public string Type { get; init; } = "";
    [JsonPropertyName("hard")] public ulong Hard { get; init; }
    [JsonPropertyName("soft")] public ulong Soft { get; init; }
}

public sealed record OciRoot
{
    [JsonPropertyName("path")] public string Path { get; init; } = "rootfs";
    [JsonPropertyName("readonly")] public bool Readonly { get; init; }
}

public sealed record OciMount
{
    [JsonPropertyName("destination")] public string Destination { get; init; } = "";
    [JsonPropertyName("type")] public string? Type { get; init; }
    [JsonPropertyName("source")] public string? Source { get; init; }
    [JsonPropertyName("options")] public IReadOnlyList<string>? Options { get; init; }
}

public sealed record OciLinux
{
    [JsonPropertyName("namespaces")] public IReadOnlyList<OciNamespace> Namespaces { get; init; } = [];
    [JsonPropertyName("cgroupsPath")] public string? CgroupsPath { get; init; }
    [JsonPropertyName("resources")] public OciResources? Resources { get; init; }
    [JsonPropertyName("maskedPaths")] public IReadOnlyList<string>? MaskedPaths { get; init; }
    [JsonPropertyName("readonlyPaths")] public IReadOnlyList<string>? ReadonlyPaths { get; init; }
    [JsonPropertyName("sysctl")] public Dictionary<string, string>? Sysctl { get; init; }
}

public sealed record OciNamespace
{
    [JsonPropertyName("type")] public string Type { get; init; } = "";
    [JsonPropertyName("path")] public string? Path { get; init; }
}

public sealed record OciResources
{
    [JsonPropertyName("devices")] public IReadOnlyList<OciDeviceRule>? Devices { get; init; }
    [JsonPropertyName("memory")] public OciMemory? Memory { get; init; }
    [JsonPropertyName("cpu")] public OciCpu? Cpu { get; init; }
    [JsonPropertyName("pids")] public OciPids? Pids { get; init; }
}

public sealed record OciDeviceRule
{
    [JsonPropertyName("allow")] public bool Allow { get; init; }
    [JsonPropertyName("type")] public string? Type { get; init; }
    [JsonPropertyName("major")] public long? Major { get; init; }
    [JsonPropertyName("minor")] public long? Minor { get; init; }
    [JsonPropertyName("access")] public string? Access { get; init; }
}

public sealed record OciMemory
{
    [JsonPropertyName("limit")] public long? Limit { get; init; }
    [JsonPropertyName("swap")] public long? Swap { get; init; }
}

public sealed record OciCpu
{
    [JsonPropertyName("shares")] public ulong? Shares { get; init; }
    [JsonPropertyName("quota")] public long? Quota { get; init; }
    [JsonPropertyName("period")] public ulong? Period { get; init; }
}

public sealed record OciPids
{
    [JsonPropertyName("limit")] public long Limit { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(OciSpec))]
[JsonSerializable(typeof(MonitorExit))]
[JsonSerializable(typeof(MonitorSync))]
[JsonSerializable(typeof(OciProcess))]
[JsonSerializable(typeof(MonitorExecExit))]
public sealed partial class RuntimeJsonContext : JsonSerializerContext;
