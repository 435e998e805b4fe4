using System.Text.Json.Serialization;

namespace Berth.Runtime;

/// <summary>The monitor's one line on the sync pipe: the container's pid once created, or why creation failed.</summary>
public sealed record MonitorSync
{
    [JsonPropertyName("pid")] public int? Pid { get; init; }
    [JsonPropertyName("error")] public string? Error { get; init; }
}

/// <summary>The monitor's answer to <c>wait</c> and the content of <c>exit.json</c>.</summary>
public sealed record MonitorExit
{
    [JsonPropertyName("exitCode")] public int ExitCode { get; init; }
    [JsonPropertyName("finishedAt")] public DateTimeOffset FinishedAt { get; init; }
    [JsonPropertyName("oomKilled")] public bool OomKilled { get; init; }
}

/// <summary>The payload of an exec's last frame on the monitor socket (stream 0).</summary>
public sealed record MonitorExecExit
{
    [JsonPropertyName("exitCode")] public int ExitCode { get; init; }
    [JsonPropertyName("error")] public string? Error { get; init; }
}
