using Berth.Api.Types;
using Berth.Engine.Containers;

namespace Berth.Engine.Networking;

/// <summary>What the API's /networks endpoints need from the engine.</summary>
public interface INetworkBackend
{
    Task<NetworkCreateResponse> CreateAsync(NetworkCreateRequest request, CancellationToken cancellationToken);

    IReadOnlyList<NetworkInspect> List(IReadOnlyDictionary<string, IReadOnlyList<string>> filters);

    NetworkInspect Inspect(string nameOrId);

    Task RemoveAsync(string nameOrId, CancellationToken cancellationToken);

    Task<NetworkPruneResponse> PruneAsync(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, CancellationToken cancellationToken);

    Task ConnectAsync(string network, NetworkConnectRequest request, CancellationToken cancellationToken);

    Task DisconnectAsync(string network, NetworkDisconnectRequest request, CancellationToken cancellationToken);
}

/// <summary>Networks from <see cref="NetworkService"/>; connecting a container goes through <see cref="ContainerService"/>, which owns its record.</summary>
public sealed class NetworkBackend(NetworkService networks, ContainerService containers) : INetworkBackend
{
    public Task<NetworkCreateResponse> CreateAsync(NetworkCreateRequest request, CancellationToken cancellationToken) => networks.CreateAsync(request, cancellationToken);

    public IReadOnlyList<NetworkInspect> List(IReadOnlyDictionary<string, IReadOnlyList<string>> filters) => networks.List(filters);

    public NetworkInspect Inspect(string nameOrId) => networks.Inspect(nameOrId);

    public Task RemoveAsync(string nameOrId, CancellationToken cancellationToken) => networks.RemoveAsync(nameOrId, cancellationToken);

    public Task<NetworkPruneResponse> PruneAsync(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, CancellationToken cancellationToken) => networks.PruneAsync(filters, cancellationToken);

    public Task ConnectAsync(string network, NetworkConnectRequest request, CancellationToken cancellationToken) => containers.ConnectAsync(network, request, cancellationToken);

    public Task DisconnectAsync(string network, NetworkDisconnectRequest request, CancellationToken cancellationToken) => containers.DisconnectAsync(network, request, cancellationToken);
}
