using System.Net;
using Berth.Api.Types;
using Berth.Interop;
using Berth.Primitives;

namespace Berth.Engine.Networking;

/// <summary>A container's endpoints: its namespace and veths (or macvlan links) at start, connect and disconnect on a running container, address allocation.</summary>
public sealed partial class NetworkService
{
    // ---------------------------------------------------------------- endpoints

    /// <summary>
    /// Gives a starting container its network namespace (pinned under the exec root) with one veth per network,
    /// and publishes its ports on the first network. Returns the namespace's path.
    /// </summary>
    public async Task<string> AttachAsync(string containerId, string containerName, IReadOnlyList<(string Network, EndpointSettings? Settings)> networks, IReadOnlyList<PortRequest> ports, CancellationToken cancellationToken)
    {
        var attached = new List<(NetworkRecord Network, EndpointRecord Endpoint)>();
        foreach ((string name, EndpointSettings? settings) in networks)
        {
            attached.Add(Allocate(name, containerId, containerName, settings));
        }

        string pin = NamespacePath(containerId);
        try
        {
            int[] bridges = [.. attached.Select(a => BridgeIndex(a.Network))];
            string[] names = new string[attached.Count];
            await NetworkNamespace.CreateAsync(pin, nsFd =>
            {
                using var inside = new RouteNetlink();
                inside.SetLinkUp(1); // lo
                for (int i = 0; i < attached.Count; i++)
                {
                    names[i] = PlumbEndpoint(inside, nsFd, bridges[i], attached[i].Network, attached[i].Endpoint, i == 0);
                }
            }).ConfigureAwait(false);
            for (int i = 0; i < attached.Count; i++)
            {
                if (attached[i].Network.IsMacvlan)
                {
                    RecordInterfaceName(attached[i].Network.Id, containerId, names[i]);
                }
            }

            // Published ports are a bridge's (DNAT to its subnet); a macvlan container is reached on its own address.
            if (ports.Count > 0 && attached.Count > 0 && attached[0].Network.IsBridge)
            {
                (NetworkRecord network, EndpointRecord endpoint) = attached[0];
                await _ports.PublishAsync(containerId, containerName, network.BridgeName, endpoint.IPAddress, endpoint.IPv6Address, ports, cancellationToken).ConfigureAwait(false);
                RecordPublished(network.Id, containerId, _ports.Of(containerId));
            }
        }
        catch
        {
            await DetachAsync(containerId, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        foreach ((NetworkRecord network, _) in attached)
        {
            PublishEndpointEvent("connect", network, containerId);
        }

        return pin;
    }

    /// <summary>Everything a stopped container had: published ports, endpoints (addresses return to the pool), its namespace.</summary>
    public async Task DetachAsync(string containerId, CancellationToken cancellationToken)
    {
        StopContainerDns(containerId);
        await _ports.UnpublishAsync(containerId, cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            foreach (NetworkRecord network in _networks.Values.Where(n => n.Endpoints.ContainsKey(containerId)).ToList())
            {
                var endpoints = new Dictionary<string, EndpointRecord>(network.Endpoints, StringComparer.Ordinal);
                endpoints.Remove(containerId);
                Save(network with { Endpoints = endpoints });
                PublishEndpointEvent("disconnect", network, containerId);
            }
        }

        // The kernel destroys the namespace and the veths in it once the last reference goes, off our path.
        string pin = NamespacePath(containerId);
        if (File.Exists(pin))
        {
            ReleasePin(pin);
        }
    }

    private void ReleasePin(string pin)
    {
        try
        {
            NetworkNamespace.Release(pin);
        }
        catch (Exception e) when (e is NativeException or IOException)
        {
            LogPinRelease(pin, e);
        }
    }

    /// <summary>Connects a container to a network: recorded now; plumbed at once when the container runs (<paramref name="pin"/>).</summary>
    public async Task ConnectAsync(string nameOrId, string containerId, string containerName, EndpointSettings? settings, string? pin)
    {
        NetworkRecord network = Lookup(nameOrId);
        if (pin is null)
        {
            return;
        }

        (NetworkRecord target, EndpointRecord endpoint) = Allocate(network.Name, containerId, containerName, settings);
        try
        {
            int bridge = BridgeIndex(target);
            string name = "";
            await NetworkNamespace.RunInsideAsync(pin, nsFd =>
            {
                using var inside = new RouteNetlink();
                name = PlumbEndpoint(inside, nsFd, bridge, target, endpoint, firstEndpoint: false);
            }).ConfigureAwait(false);
            if (target.IsMacvlan)
            {
                RecordInterfaceName(target.Id, containerId, name);
            }
        }
        catch
        {
            Release(target.Id, containerId);
            throw;
        }

        await EnsureContainerDnsAsync(containerId).ConfigureAwait(false);
        PublishEndpointEvent("connect", target, containerId);
    }

    private void PublishEndpointEvent(string action, NetworkRecord network, string containerId) =>
        _events.Publish("network", action, network.Id, new Dictionary<string, string> { ["name"] = network.Name, ["type"] = network.Driver, ["container"] = containerId });

    /// <summary>Removes a running container's endpoint on a network (its veth, or its macvlan link, goes with it).</summary>
    public async Task DisconnectAsync(NetworkRecord network, string containerId)
    {
        EndpointRecord? endpoint = Release(network.Id, containerId);
        if (endpoint is not null && endpoint.HostInterface.Length > 0)
        {
            lock (_hostLinkLock)
            {
                _hostLinks.DeleteLink(endpoint.HostInterface);
            }
        }
        else if (endpoint is not null && network.IsMacvlan)
        {
            await DeleteInsideAsync(containerId, endpoint.InterfaceName).ConfigureAwait(false);
        }

        StopContainerDnsIfUnused(containerId);
        PublishEndpointEvent("disconnect", network, containerId);
    }

    private EndpointRecord? Release(string networkId, string containerId)
    {
        lock (_gate)
        {
            if (!_networks.TryGetValue(networkId, out NetworkRecord? network) || !network.Endpoints.TryGetValue(containerId, out EndpointRecord? endpoint))
            {
                return null;
            }

            var endpoints = new Dictionary<string, EndpointRecord>(network.Endpoints, StringComparer.Ordinal);
            endpoints.Remove(containerId);
            Save(network with { Endpoints = endpoints });
            return endpoint;
        }
    }

    /// <summary>Picks the endpoint's address (the asked one, or the lowest free in the range) and records the endpoint.</summary>
    private (NetworkRecord, EndpointRecord) Allocate(string nameOrId, string containerId, string containerName, EndpointSettings? settings)
    {
        lock (_gate)
        {
            NetworkRecord network = Find(nameOrId) ?? throw EngineException.NotFound($"network {nameOrId} not found");
            if (!network.CarriesEndpoints)
            {
                throw EngineException.Invalid($"container cannot be connected to network {network.Name} with other networks");
            }

            if (network.Endpoints.TryGetValue(containerId, out _))
            {
                throw Forbidden($"endpoint with name {containerName} already exists in network {network.Name}");
            }

            var subnet = Ipv4Net.Parse(network.Subnet);
            var used = new HashSet<uint>(network.Endpoints.Values.Select(e => Ipv4Net.ParseAddress(e.IPAddress)))
            {
                Ipv4Net.ParseAddress(network.Gateway),
            };
            foreach (string aux in network.AuxAddresses?.Values.ToList() ?? [])
            {
                used.Add(Ipv4Net.ParseAddress(aux));
            }

            uint address;
            string? requested = settings?.IPAMConfig?.IPv4Address;
            if (!string.IsNullOrEmpty(requested))
            {
                if (network.IsDefault)
                {
                    throw EngineException.Invalid("user specified IP address is supported on user defined networks only");
                }

                address = Ipv4Net.ParseAddress(requested);
                if (!subnet.Contains(address))
                {
                    throw Forbidden($"invalid address {requested}: It does not belong to any of this network's subnets");
                }

                if (used.Contains(address))
                {
                    throw Forbidden($"Address already in use");
                }
            }
            else
            {
                Ipv4Net range = network.IPRange is null ? subnet : Ipv4Net.Parse(network.IPRange);
                address = 0;
                for (uint candidate = range.Network + 1; candidate < range.Broadcast; candidate++)
                {
                    if (!used.Contains(candidate) && subnet.Contains(candidate) && candidate != subnet.Network)
                    {
                        address = candidate;
                        break;
                    }
                }

                if (address == 0)
                {
                    throw Forbidden($"no available IPv4 addresses on this network's address pools: {network.Name} ({network.Id})");
                }
            }

            List<string> aliases = [.. settings?.Aliases ?? []];
            var endpoint = new EndpointRecord
            {
                ContainerId = containerId,
                ContainerName = containerName.TrimStart('/'),
                EndpointId = Ids.NewId(),
                IPAddress = Ipv4Net.FromUInt(address).ToString(),
                IPv6Address = AllocateIpv6(network, settings),
                MacAddress = $"02:42:{address >> 24:x2}:{(address >> 16) & 0xff:x2}:{(address >> 8) & 0xff:x2}:{address & 0xff:x2}",
                HostInterface = network.IsMacvlan ? "" : "veth" + Ids.NewId()[..7],
                Links = [.. settings?.Links ?? []],
                Aliases = aliases,
                StaticAddress = !string.IsNullOrEmpty(requested),
            };
            var endpoints = new Dictionary<string, EndpointRecord>(network.Endpoints, StringComparer.Ordinal) { [containerId] = endpoint };
            network = network with { Endpoints = endpoints };
            Save(network);
            return (network, endpoint);
        }
    }

    /// <summary>The bridge's index (a macvlan network's parent's), looked up in the host's namespace (the caller's thread).</summary>
    private static int BridgeIndex(NetworkRecord network)
    {
        if (network.IsMacvlan)
        {
            int parent = RouteNetlink.LinkIndex(network.Parent);
            return parent != 0 ? parent : throw EngineException.Invalid($"-o parent interface was not found on the host: {network.Parent}");
        }

        int index = RouteNetlink.LinkIndex(network.BridgeName);
        return index != 0 ? index : throw new EngineException(ErrorKind.Internal, $"bridge {network.BridgeName} of network {network.Name} is missing");
    }

    /// <summary>
    /// On a thread inside the container's namespace: a veth whose peer (or a macvlan link of the parent) is born there
    /// as ethN, its address, up, the default route. Returns the name it got.
    /// </summary>
    private string PlumbEndpoint(RouteNetlink inside, int nsFd, int bridge, NetworkRecord network, EndpointRecord endpoint, bool firstEndpoint)
    {
        string name = "eth0";
        for (int i = 1; RouteNetlink.LinkIndex(name) != 0; i++)
        {
            name = "eth" + i;
        }

        byte[] mac = [.. endpoint.MacAddress.Split(':').Select(h => Convert.ToByte(h, 16))];
        lock (_hostLinkLock)
        {
            if (network.IsMacvlan)
            {
                _hostLinks.CreateMacvlan(name, bridge, RouteNetlink.MacvlanMode(network.MacvlanMode), nsFd, 0, mac);
            }
            else
            {
                _hostLinks.CreateVeth(endpoint.HostInterface, name, nsFd, Mtu, mac, bridge);
            }
        }

        int index = RouteNetlink.LinkIndex(name);
        inside.AddAddress(index, IPAddress.Parse(endpoint.IPAddress), network.PrefixLength);
        inside.SetLinkUp(index);
        if (firstEndpoint && !network.Internal)
        {
            inside.AddDefaultRoute(index, IPAddress.Parse(network.Gateway));
        }

        PlumbIpv6(inside, index, network, endpoint, firstEndpoint);
        return name;
    }
}
