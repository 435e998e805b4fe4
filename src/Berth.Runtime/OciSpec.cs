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
    [JsonPropertyName("devices")] public IReadOnlyList<OciDevice>? Devices { get; init; }
    [JsonPropertyName("seccomp")] public OciSeccomp? Seccomp { get; init; }
}

/// <summary>A device node the runtime creates in the container's /dev.</summary>
public sealed record OciDevice
{
    [JsonPropertyName("path")] public string Path { get; init; } = "";
    [JsonPropertyName("type")] public string Type { get; init; } = "c";
    [JsonPropertyName("major")] public long Major { get; init; }
    [JsonPropertyName("minor")] public long Minor { get; init; }
    [JsonPropertyName("fileMode")] public uint? FileMode { get; init; }
    [JsonPropertyName("uid")] public uint? Uid { get; init; }
    [JsonPropertyName("gid")] public uint? Gid { get; init; }
}

public sealed record OciSeccomp
{
    [JsonPropertyName("defaultAction")] public string DefaultAction { get; init; } = "SCMP_ACT_ERRNO";
    [JsonPropertyName("defaultErrnoRet")] public uint? DefaultErrnoRet { get; init; }
    [JsonPropertyName("architectures")] public IReadOnlyList<string>? Architectures { get; init; }
    [JsonPropertyName("flags")] public IReadOnlyList<string>? Flags { get; init; }
    [JsonPropertyName("syscalls")] public IReadOnlyList<OciSyscall>? Syscalls { get; init; }
}

public sealed record OciSyscall
{
    [JsonPropertyName("names")] public IReadOnlyList<string> Names { get; init; } = [];
    [JsonPropertyName("action")] public string Action { get; init; } = "SCMP_ACT_ALLOW";
    [JsonPropertyName("errnoRet")] public uint? ErrnoRet { get; init; }
    [JsonPropertyName("args")] public IReadOnlyList<OciSyscallArg>? Args { get; init; }
}

public sealed record OciSyscallArg
{
    [JsonPropertyName("index")] public uint Index { get; init; }
    [JsonPropertyName("value")] public ulong Value { get; init; }
    [JsonPropertyName("valueTwo")] public ulong? ValueTwo { get; init; }
    [JsonPropertyName("op")] public string Op { get; init; } = "";
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
    [JsonPropertyName("blockIO")] public OciBlockIo? BlockIo { get; init; }
}

public sealed record OciBlockIo
{
    [JsonPropertyName("weight")] public ushort? Weight { get; init; }
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
    [JsonPropertyName("reservation")] public long? Reservation { get; init; }
    [JsonPropertyName("swappiness")] public ulong? Swappiness { get; init; }
    [JsonPropertyName("disableOOMKiller")] public bool? DisableOomKiller { get; init; }
}

public sealed record OciCpu
{
    [JsonPropertyName("shares")] public ulong? Shares { get; init; }
    [JsonPropertyName("quota")] public long? Quota { get; init; }
    [JsonPropertyName("period")] public ulong? Period { get; init; }
    [JsonPropertyName("cpus")] public string? Cpus { get; init; }
    [JsonPropertyName("mems")] public string? Mems { get; init; }
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
[JsonSerializable(typeof(List<int>))]
public sealed partial class RuntimeJsonContext : JsonSerializerContext;
