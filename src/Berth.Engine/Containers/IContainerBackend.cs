using Berth.Api.Types;

namespace Berth.Engine.Containers;

/// <summary>Options of an attach: which streams the client wants.</summary>
/// <param name="DetachKeys">The client's detach sequence (<c>detachKeys</c>), or null for ctrl-p,ctrl-q.</param>
public sealed record AttachOptions(bool Stdin, bool Stdout, bool Stderr, bool Logs, bool Stream, string? DetachKeys = null);

/// <summary>Options of a logs request.</summary>
/// <param name="Raw">No frame headers: the container has a TTY, so its log is one raw stream (set by the engine).</param>
public sealed record LogsOptions(bool Stdout, bool Stderr, bool Follow, bool Timestamps, string? Tail, long Since, long Until, bool Raw = false);

/// <summary>The container use cases the API exposes.</summary>
public interface IContainerBackend
{
    Task<ContainerCreateResponse> CreateAsync(string? name, ContainerCreateRequest request, CancellationToken cancellationToken);

    /// <summary>Starts the container; false when it was already running (Docker answers 304).</summary>
    Task<bool> StartAsync(string nameOrId, CancellationToken cancellationToken);

    Task<ContainerWaitResponse> WaitAsync(string nameOrId, string condition, CancellationToken cancellationToken);

    /// <summary>
    /// Attaches to the container, then calls <paramref name="openClient"/> (which answers the client) and relays
    /// the container's streams to and from that client until the output ends.
    /// </summary>
    Task AttachAsync(string nameOrId, AttachOptions options, Func<Task<Stream>> openClient, CancellationToken cancellationToken);

    /// <summary>Sets the container's terminal size (nothing for a container without a TTY).</summary>
    Task ResizeAsync(string nameOrId, int height, int width, CancellationToken cancellationToken);

    Task LogsAsync(string nameOrId, LogsOptions options, Stream output, CancellationToken cancellationToken);

    Task<bool> StopAsync(string nameOrId, int? timeoutSeconds, string? signal, CancellationToken cancellationToken);

    Task KillAsync(string nameOrId, string? signal, CancellationToken cancellationToken);

    /// <summary>Freezes every process of a running container.</summary>
    Task PauseAsync(string nameOrId, CancellationToken cancellationToken);

    Task UnpauseAsync(string nameOrId, CancellationToken cancellationToken);

    Task RestartAsync(string nameOrId, int? timeoutSeconds, string? signal, CancellationToken cancellationToken);

    Task RenameAsync(string nameOrId, string newName, CancellationToken cancellationToken);

    /// <summary>A new image from the container's changes; returns its id.</summary>
    Task<string> CommitAsync(string nameOrId, string? repository, string? tag, string? comment, string? author, bool pause, IReadOnlyList<string> changes, ContainerConfig? config, CancellationToken cancellationToken);

    IReadOnlyList<FilesystemChange> Changes(string nameOrId);

    Task<ContainerPathStat> StatPathAsync(string nameOrId, string path, CancellationToken cancellationToken);

    /// <summary>Resolves the path, hands its stat to <paramref name="beforeWrite"/> (which answers the client and returns the body), then writes the tar.</summary>
    Task GetArchiveAsync(string nameOrId, string path, Func<ContainerPathStat, Task<Stream>> beforeWrite, CancellationToken cancellationToken);

    Task PutArchiveAsync(string nameOrId, string path, Stream archive, bool noOverwriteDirNonDir, bool copyOwnership, CancellationToken cancellationToken);

    /// <summary>Writes the container's filesystem as a tar to <paramref name="output"/>.</summary>
    Task ExportAsync(string nameOrId, Stream output, CancellationToken cancellationToken);

    /// <summary>The container's processes: <c>ps</c>'s column titles and one row per process.</summary>
    Task<(IReadOnlyList<string> Titles, IReadOnlyList<IReadOnlyList<string>> Processes)> TopAsync(string nameOrId, string? psArgs, CancellationToken cancellationToken);

    Task RemoveAsync(string nameOrId, bool force, bool removeVolumes, CancellationToken cancellationToken);

    IReadOnlyList<ContainerSummary> List(bool all, int limit, IReadOnlyDictionary<string, IReadOnlyList<string>> filters);

    ContainerInspect Inspect(string nameOrId);
}
