using Berth.Api.Types;
using Berth.Primitives;

namespace Berth.Engine.Networking;

/// <summary>Creating, removing, pruning and listing networks (bridge and macvlan).</summary>
public sealed partial class NetworkService
{
    // ---------------------------------------------------------------- create / remove

    public async Task<NetworkCreateResponse> CreateAsync(NetworkCreateRequest request, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(request.Name))
        {
            throw EngineException.Invalid("network name must not be empty");
        }

        string driver = string.IsNullOrEmpty(request.Driver) ? "bridge" : request.Driver;
        if (request.Name is "bridge" or "host" or "none" or "default")
        {
            throw Forbidden($"{request.Name} is a pre-defined network and cannot be created");
        }

        if (driver is "ipvlan" or "overlay")
        {
            throw new EngineException(ErrorKind.NotImplemented, $"the {driver} driver is not supported by berth yet");
        }

        if (driver is not "bridge" and not "macvlan")
        {
            throw EngineException.NotFound($"plugin \"{driver}\" not found");
        }

        string id = Ids.NewId();
        NetworkIpamConfig? ipam = request.IPAM?.Config?.FirstOrDefault(c => !IsIpv6Config(c));
        (string subnetV6, string gatewayV6) = Ipv6Settings(request, driver);

        // A subnet this daemon chooses is claimed host-wide until the bridge has its address (see SubnetClaim).
        using IDisposable? claim = driver == "bridge" && string.IsNullOrEmpty(ipam?.Subnet)
            ? await SubnetClaim.AcquireAsync(cancellationToken).ConfigureAwait(false)
            : null;
        NetworkRecord network;
        lock (_gate)
        {
            if (_networks.Values.Any(n => n.Name == request.Name))
            {
                throw EngineException.Conflict($"network with name {request.Name} already exists");
            }

            Ipv4Net subnet = string.IsNullOrEmpty(ipam?.Subnet) ? ChooseSubnet() : Ipv4Net.Parse(ipam.Subnet);
            if (!string.IsNullOrEmpty(ipam?.Subnet) && _networks.Values.Any(n => n.Subnet.Length > 0 && Ipv4Net.Parse(n.Subnet).Overlaps(subnet)))
            {
                throw Forbidden("invalid pool request: Pool overlaps with other one on this address space");
            }

            uint gateway = string.IsNullOrEmpty(ipam?.Gateway) ? subnet.Network + 1 : Ipv4Net.ParseAddress(ipam.Gateway);
            if (!subnet.Contains(gateway))
            {
                throw Forbidden($"no matching subnet for gateway {ipam!.Gateway}");
            }

            if (!string.IsNullOrEmpty(ipam?.IPRange) && !subnet.Overlaps(Ipv4Net.Parse(ipam.IPRange)))
            {
                throw Forbidden($"no matching subnet for range {ipam.IPRange}");
            }

            Dictionary<string, string> options = request.Options is null ? [] : new(request.Options);
            string bridge = driver != "bridge" ? "" : options.TryGetValue("com.docker.network.bridge.name", out string? named) && named.Length > 0 ? named : "br-" + id[..12];
            (string parent, string macvlanMode, bool createsParent) = driver == "macvlan" ? MacvlanSettings(id, options) : ("", "", false);
            if (driver == "bridge" && (bridge.Length > 15 || _networks.Values.Any(n => n.BridgeName == bridge)))
            {
                throw EngineException.Conflict($"bridge name {bridge} is invalid or already in use");
            }

            network = new NetworkRecord
            {
                Id = id,
                Name = request.Name,
                Driver = driver,
                Created = DateTimeOffset.UtcNow,
                Subnet = subnet.ToString(),
                Gateway = Ipv4Net.FromUInt(gateway).ToString(),
                IPRange = string.IsNullOrEmpty(ipam?.IPRange) ? null : Ipv4Net.Parse(ipam.IPRange).ToString(),
                AuxAddresses = ipam?.AuxiliaryAddresses,
                Internal = request.Internal,
                Attachable = request.Attachable,
                Labels = request.Labels is null ? [] : new(request.Labels),
                Options = options,
                BridgeName = bridge,
                Parent = parent,
                EnableIPv6 = subnetV6.Length > 0,
                SubnetV6 = subnetV6,
                GatewayV6 = gatewayV6,
                MacvlanMode = macvlanMode,
                CreatedParent = createsParent,
                InterContainerTraffic = !options.TryGetValue("com.docker.network.bridge.enable_icc", out string? icc) || icc != "false",
            };
            Save(network, insert: true);
        }

        try
        {
            if (network.IsMacvlan)
            {
                EnsureMacvlanParent(network);
            }
            else
            {
                EnsureBridge(network);
                claim?.Dispose(); // the bridge's route is there: other choices see it
                await _firewall.AddAsync(NetworkTag(network), NetworkRules(network), cancellationToken).ConfigureAwait(false);
                await AddIpv6RulesAsync(network, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            await DestroyAsync(network, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        _events.Publish("network", "create", network.Id, new Dictionary<string, string> { ["name"] = network.Name, ["type"] = network.Driver });
        LogCreated(network.Name, network.Id, network.Subnet, network.IsMacvlan ? network.Parent : network.BridgeName);
        return new NetworkCreateResponse { Id = network.Id };
    }

    public async Task RemoveAsync(string nameOrId, CancellationToken cancellationToken)
    {
        NetworkRecord network = Lookup(nameOrId);
        if (network.IsPredefined)
        {
            throw Forbidden($"{network.Name} is a pre-defined network and cannot be removed");
        }

        if (network.Endpoints.Count > 0)
        {
            throw Forbidden($"error while removing network: network {network.Name} id {network.Id} has active endpoints");
        }

        await DestroyAsync(network, cancellationToken).ConfigureAwait(false);
        _events.Publish("network", "destroy", network.Id, new Dictionary<string, string> { ["name"] = network.Name, ["type"] = network.Driver });
    }

    private async Task DestroyAsync(NetworkRecord network, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _metadata.DeleteNetwork(network.Id);
            _networks.Remove(network.Id);
        }

        if (network.IsMacvlan)
        {
            DeleteMacvlanParent(network);
        }
        else
        {
            await _firewall.RemoveAsync(NetworkTag(network), cancellationToken).ConfigureAwait(false);
            lock (_hostLinkLock)
            {
                _hostLinks.DeleteLink(network.BridgeName);
            }
        }

        LogRemoved(network.Name, network.Id);
    }

    /// <summary>Removes user networks without endpoints (Docker's prune), honouring <c>label</c> and <c>until</c> filters.</summary>
    public async Task<NetworkPruneResponse> PruneAsync(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, CancellationToken cancellationToken)
    {
        var deleted = new List<string>();
        foreach (NetworkRecord network in Snapshot().Where(n => !n.IsPredefined && n.Endpoints.Count == 0 && NetworkViews.MatchesPrune(n, filters)))
        {
            await DestroyAsync(network, cancellationToken).ConfigureAwait(false);
            _events.Publish("network", "destroy", network.Id, new Dictionary<string, string> { ["name"] = network.Name, ["type"] = network.Driver });
            deleted.Add(network.Name);
        }

        return new NetworkPruneResponse { NetworksDeleted = deleted };
    }

    public IReadOnlyList<NetworkInspect> List(IReadOnlyDictionary<string, IReadOnlyList<string>> filters) =>
        [.. Snapshot().Where(n => NetworkViews.Matches(n, filters)).OrderBy(n => n.Name, StringComparer.Ordinal).Select(n => NetworkViews.Inspect(n, withContainers: false))];

    public NetworkInspect Inspect(string nameOrId) => NetworkViews.Inspect(Lookup(nameOrId), withContainers: true);
}
