using System.Text.Json.Serialization;

namespace Berth.Api.Types;

/// <summary>POST /containers/{id}/exec body.</summary>
public sealed record ExecCreateRequest
{
    public bool AttachStdin { get; init; }
    public bool AttachStdout { get; init; }
    public bool AttachStderr { get; init; }
    public string? DetachKeys { get; init; }
    public bool Tty { get; init; }
    public IReadOnlyList<uint>? ConsoleSize { get; init; }
    public IReadOnlyList<string>? Env { get; init; }
    public IReadOnlyList<string>? Cmd { get; init; }
    public bool Privileged { get; init; }
    public string? User { get; init; }
    public string? WorkingDir { get; init; }
}

/// <summary>Docker's <c>IDResponse</c>: the answer to an exec create.</summary>
public sealed record IdResponse
{
    public string Id { get; init; } = "";
}

/// <summary>POST /exec/{id}/start body.</summary>
public sealed record ExecStartRequest
{
    public bool Detach { get; init; }
    public bool Tty { get; init; }
    public IReadOnlyList<uint>? ConsoleSize { get; init; }
}

/// <summary>GET /exec/{id}/json.</summary>
public sealed record ExecInspect
{
    public bool CanRemove { get; init; }
    public string? DetachKeys { get; init; }
    public string ID { get; init; } = "";
    public bool Running { get; init; }
    public int? ExitCode { get; init; }
    public ExecProcessConfig ProcessConfig { get; init; } = new();
    public bool OpenStdin { get; init; }
    public bool OpenStderr { get; init; }
    public bool OpenStdout { get; init; }
    public string ContainerID { get; init; } = "";
    public int Pid { get; init; }
}

/// <summary>The process of an exec, as Docker names its fields (lower case).</summary>
public sealed record ExecProcessConfig
{
    [JsonPropertyName("privileged")] public bool Privileged { get; init; }
    [JsonPropertyName("user")] public string User { get; init; } = "";
    [JsonPropertyName("tty")] public bool Tty { get; init; }
    [JsonPropertyName("entrypoint")] public string Entrypoint { get; init; } = "";
    [JsonPropertyName("arguments")] public IReadOnlyList<string> Arguments { get; init; } = [];
}
