using Berth.Api.Types;

namespace Berth.Engine.Containers;

/// <summary>The container use cases of the lifecycle: changing a container's policy and resources, pruning stopped ones.</summary>
public interface IContainerLifecycleBackend
{
    /// <summary>POST /containers/{id}/update: the restart policy applies at once; resources are stored for the next start.</summary>
    Task<ContainerUpdateResponse> UpdateAsync(string nameOrId, ContainerUpdateRequest request, CancellationToken cancellationToken);

    /// <summary>POST /containers/prune: removes stopped containers (filters until, label, label!).</summary>
    Task<ContainerPruneResponse> PruneAsync(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, CancellationToken cancellationToken);
}
