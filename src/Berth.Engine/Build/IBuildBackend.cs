using Berth.Api.Types;

namespace Berth.Engine.Build;

/// <summary>What POST /build asks for (the query parameters the docker CLI sends).</summary>
public sealed record BuildRequest
{
    public IReadOnlyList<string> Tags { get; init; } = [];
    public string Dockerfile { get; init; } = "Dockerfile";
    public IReadOnlyDictionary<string, string?> BuildArgs { get; init; } = new Dictionary<string, string?>();
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    public bool NoCache { get; init; }
    public string? Target { get; init; }
    public bool Quiet { get; init; }

    /// <summary>The network RUN steps use (<c>--network</c>); null or "default" for the host's.</summary>
    public string? NetworkMode { get; init; }

    /// <summary><c>--add-host</c> entries (host:ip) for the steps' /etc/hosts.</summary>
    public IReadOnlyList<string> ExtraHosts { get; init; } = [];

    /// <summary>Local images whose history seeds the cache (<c>--cache-from</c>).</summary>
    public IReadOnlyList<string> CacheFrom { get; init; } = [];

    /// <summary><c>--pull</c>: Berth builds offline, so this only says so.</summary>
    public bool Pull { get; init; }

    /// <summary><c>--secret id=...,src=...</c>: id → contents, mounted by <c>RUN --mount=type=secret</c>, never stored.</summary>
    public IReadOnlyDictionary<string, byte[]> Secrets { get; init; } = new Dictionary<string, byte[]>();
}

/// <summary>The build use case the API exposes: a context tar in, the classic builder's JSON message stream out.</summary>
public interface IBuildBackend
{
    /// <summary>Builds; each progress message goes to <paramref name="emit"/>. Returns the image id, or null when the build failed (the error was emitted).</summary>
    Task<string?> BuildAsync(BuildRequest request, Stream context, Func<ProgressMessage, Task> emit, CancellationToken cancellationToken);

    /// <summary>POST /build/prune: deletes the cache mounts no build is using (and, with <paramref name="all"/>, forgets every cached step).</summary>
    Task<BuildCachePruneResponse> PruneAsync(bool all, CancellationToken cancellationToken);
}
