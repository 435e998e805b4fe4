namespace Berth.Api.Types;

/// <summary>POST /build/prune answer.</summary>
public sealed record BuildCachePruneResponse
{
    /// <summary>The ids of the cache records deleted; null when none (as Docker answers).</summary>
    public IReadOnlyList<string>? CachesDeleted { get; init; }
    public long SpaceReclaimed { get; init; }
}
