using Berth.Api.Types;

namespace Berth.Engine.Containers;

/// <summary>Resource usage samples of a container (GET /containers/{id}/stats).</summary>
public interface IContainerStatsBackend
{
    /// <summary>
    /// Calls <paramref name="write"/> with each sample: once per second while <paramref name="stream"/>, else once after two
    /// samples a second apart (so CPU figures have a previous sample), or at once with <paramref name="oneShot"/>. A container
    /// that is not running answers one zeroed sample, as Docker does.
    /// </summary>
    Task StatsAsync(string nameOrId, bool stream, bool oneShot, Func<ContainerStatsResponse, Task> write, CancellationToken cancellationToken);
}
