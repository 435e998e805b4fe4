using System.Text.Json.Serialization;
using Berth.Api.Types;

namespace Berth.Engine.Containers;

/// <summary>Where a container is in its life. The names are Docker's <c>State.Status</c> values.</summary>
public static class ContainerStatus
{
    public const string Created = "created";
    public const string Running = "running";
    public const string Paused = "paused";
    public const string Restarting = "restarting";
    public const string Removing = "removing";
    public const string Exited = "exited";
    public const string Dead = "dead";
}

/// <summary>The mutable facts of a container's state, as persisted.</summary>
public sealed record ContainerStateRecord
{
    public string Status { get; init; } = ContainerStatus.Created;
    public int Pid { get; init; }
    public int ExitCode { get; init; }
    public string Error { get; init; } = "";
    public bool OomKilled { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>The health check's state while the container runs with one (Docker's <c>State.Health</c>).</summary>
    public ContainerHealth? Health { get; init; }
}

/// <summary>
/// A container as the engine stores it: immutable; every change publishes a new record (readers never lock).
/// </summary>
public sealed record ContainerRecord
{
    public required string Id { get; init; }

    /// <summary>The name with Docker's leading slash, e.g. <c>/web</c>.</summary>
    public required string Name { get; init; }
    public required DateTimeOffset Created { get; init; }
    public required string Path { get; init; }
    public IReadOnlyList<string> Args { get; init; } = [];
    public required ContainerConfig Config { get; init; }
    public required HostConfig HostConfig { get; init; }

    /// <summary>The image id (config digest) the container was created from.</summary>
    public required string ImageId { get; init; }
    public ContainerStateRecord State { get; init; } = new();
    public int RestartCount { get; init; }

    /// <summary>Stopped or killed through the API: the restart policy leaves it be (and unless-stopped stays down at boot).</summary>
    public bool HasBeenManuallyStopped { get; init; }
    public required string LogPath { get; init; }

    /// <summary>Volumes, binds and tmpfs mounts, resolved at create.</summary>
    public IReadOnlyList<Volumes.ContainerMount> Mounts { get; init; } = [];

    /// <summary>The networks the container is configured on (network name → endpoint settings); null for none/host/container: modes.</summary>
    public Dictionary<string, EndpointSettings>? Networks { get; init; }

    [JsonIgnore]
    public bool IsRunning => State.Status is ContainerStatus.Running or ContainerStatus.Paused or ContainerStatus.Restarting;
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ContainerRecord))]
internal sealed partial class EngineJsonContext : JsonSerializerContext;
