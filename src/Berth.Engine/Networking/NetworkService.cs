using System.Net;
using System.Text.Json;
using Berth.Api.Types;
using Berth.Engine.Events;
using Berth.Interop;
using Berth.Primitives;
using Berth.Storage.Metadata;
using Microsoft.Extensions.Logging;

namespace Berth.Engine.Networking;

/// <summary>
/// Networks and their endpoints: the predefined <c>bridge</c>/<c>host</c>/<c>none</c>, user bridge networks, IPAM,
/// the Linux bridges (rtnetlink), Berth's iptables rules, and each container's network namespace with its veths.
/// </summary>
public sealed partial class NetworkService : IDisposable
{
    private const int Mtu = 1500;

    private readonly MetadataStore _metadata;
    private readonly Firewall _firewall;
    private readonly EngineOptions _options;
    private readonly EventLog _events;
    private readonly ILogger<NetworkService> _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, NetworkRecord> _networks = new(StringComparer.Ordinal);
    private readonly Lock _hostLinkLock = new();
    private readonly RouteNetlink _hostLinks = new();
    private readonly PortPublisher _ports;
    private readonly EmbeddedDns _dns;

    public NetworkService(MetadataStore metadata, Firewall firewall, EngineOptions options, EventLog events, EmbeddedDns dns, ILogger<NetworkService> logger)
    {
        _dns = dns;
        _metadata = metadata;
        _firewall = firewall;
        _options = options;
        _events = events;
        _logger = logger;
        _ports = new PortPublisher(firewall, TagScope);
        foreach ((string _, string doc) in metadata.ListNetworks())
        {
            NetworkRecord record = JsonSerializer.Deserialize(doc, NetworkJsonContext.Default.NetworkRecord)!;
            _networks[record.Id] = record;
        }
    }

    /// <summary>The prefix of every iptables tag of this daemon (its default bridge's name: unique per daemon on a host).</summary>
    private string TagScope => "berth:" + _options.DefaultBridgeName + ":";

    private string NetworkTag(NetworkRecord network) => TagScope + "net:" + network.Id[..12];

    public string NamespaceDirectory => Path.Combine(_options.ExecRoot, "netns");

    public string NamespacePath(string containerId) => Path.Combine(NamespaceDirectory, containerId);

    public void Dispose()
    {
        _hostLinks.Dispose();
        _ports.Dispose();
    }

    // ---------------------------------------------------------------- start

    /// <summary>
    /// At daemon start: the predefined networks exist, forwarding is on, Berth's chains exist, every bridge network
    /// has its bridge, address and rules again (stale rules of this daemon are replaced).
    /// </summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(NamespaceDirectory);
        lock (_gate)
        {
            if (!_networks.Values.Any(n => n.Name == "bridge"))
            {
                Ipv4Net subnet = ChooseSubnet();
                Save(new NetworkRecord
                {
                    Id = Ids.NewId(),
                    Name = "bridge",
                    Driver = "bridge",
                    Created = DateTimeOffset.UtcNow,
                    Subnet = subnet.ToString(),
                    Gateway = Ipv4Net.FromUInt(subnet.Network + 1).ToString(),
                    BridgeName = _options.DefaultBridgeName,
                    IsDefault = true,
                    InterContainerTraffic = _options.InterContainerCommunication,
                    Options = new Dictionary<string, string>
                    {
                        ["com.docker.network.bridge.default_bridge"] = "true",
                        ["com.docker.network.bridge.enable_icc"] = _options.InterContainerCommunication ? "true" : "false",
                        ["com.docker.network.bridge.enable_ip_masquerade"] = "true",
                        ["com.docker.network.bridge.host_binding_ipv4"] = "0.0.0.0",
                        ["com.docker.network.bridge.name"] = _options.DefaultBridgeName,
                        ["com.docker.network.driver.mtu"] = "1500",
                    },
                }, insert: true);
            }

            foreach ((string name, string driver) in new[] { ("host", "host"), ("none", "null") })
            {
                if (!_networks.Values.Any(n => n.Name == name))
                {
                    Save(new NetworkRecord { Id = Ids.NewId(), Name = name, Driver = driver, Created = DateTimeOffset.UtcNow }, insert: true);
                }
            }
        }

        WriteSysctl("/proc/sys/net/ipv4/ip_forward", "1");
        await _firewall.EnsureBaseAsync(cancellationToken).ConfigureAwait(false);
        await _firewall.RemoveAsync(TagScope + "port:", cancellationToken).ConfigureAwait(false);
        foreach (NetworkRecord network in Snapshot().Where(n => n.IsBridge))
        {
            EnsureBridge(network);
            await _firewall.RemoveAsync(NetworkTag(network), cancellationToken).ConfigureAwait(false);
            await _firewall.AddAsync(NetworkTag(network), NetworkRules(network), cancellationToken).ConfigureAwait(false);
        }

        RestoreMacvlanParents();
    }

    private void RecordPublished(string networkId, string containerId, IReadOnlyList<PublishedPort> published)
    {
        lock (_gate)
        {
            if (_networks.TryGetValue(networkId, out NetworkRecord? network) && network.Endpoints.TryGetValue(containerId, out EndpointRecord? endpoint))
            {
                var endpoints = new Dictionary<string, EndpointRecord>(network.Endpoints, StringComparer.Ordinal) { [containerId] = endpoint with { Published = published } };
                Save(network with { Endpoints = endpoints });
            }
        }
    }

    /// <summary>
    /// After the containers' restore: endpoints of containers that no longer run are released; the published ports
    /// of the ones still running (live restore) are reserved and forwarded again, on the same host ports.
    /// </summary>
    public async Task RestoreEndpointsAsync(IReadOnlySet<string> runningContainers, CancellationToken cancellationToken)
    {
        ReleaseStaleEndpoints(runningContainers);
        await RestoreContainerDnsAsync(runningContainers).ConfigureAwait(false);
        foreach (NetworkRecord network in Snapshot())
        {
            foreach (EndpointRecord endpoint in network.Endpoints.Values.Where(e => e.Published is { Count: > 0 }))
            {
                List<PortRequest> requests = [.. endpoint.Published!.Select(p => new PortRequest(p.ContainerPort, p.Protocol, p.HostIp, p.HostPort.ToString(System.Globalization.CultureInfo.InvariantCulture)))];
                try
                {
                    await _ports.PublishAsync(endpoint.ContainerId, endpoint.ContainerName, network.BridgeName, endpoint.IPAddress, requests, cancellationToken).ConfigureAwait(false);
                }
                catch (EngineException e)
                {
                    LogRepublishFailed(endpoint.ContainerId, e);
                }
            }
        }
    }

    private void ReleaseStaleEndpoints(IReadOnlySet<string> runningContainers)
    {
        lock (_gate)
        {
            foreach (NetworkRecord network in _networks.Values.ToList())
            {
                List<string> stale = [.. network.Endpoints.Keys.Where(id => !runningContainers.Contains(id))];
                if (stale.Count > 0)
                {
                    var endpoints = new Dictionary<string, EndpointRecord>(network.Endpoints, StringComparer.Ordinal);
                    stale.ForEach(id => endpoints.Remove(id));
                    Save(network with { Endpoints = endpoints });
                }
            }
        }

        if (Directory.Exists(NamespaceDirectory))
        {
            foreach (string pin in Directory.GetFiles(NamespaceDirectory).Where(p => !runningContainers.Contains(Path.GetFileName(p))))
            {
                ReleasePin(pin);
            }
        }
    }

    private List<NetworkRecord> Snapshot()
    {
        lock (_gate)
        {
            return [.. _networks.Values];
        }
    }

    /// <summary>
    /// The first subnet of the default address pools (daemon.json's <c>default-address-pools</c>, else Docker's: private
    /// /16s, then /20s in 192.168/16) that overlaps no route of the host and no network of ours.
    /// </summary>
    private Ipv4Net ChooseSubnet()
    {
        List<Ipv4Net> taken = [.. HostRoutes(), .. _networks.Values.Where(n => n.Subnet.Length > 0).Select(n => Ipv4Net.Parse(n.Subnet))];
        foreach (Ipv4Net candidate in _options.Defaults.AddressPools.SelectMany(pool => pool.Subnets()))
        {
            if (!taken.Any(t => t.Overlaps(candidate)))
            {
                return candidate;
            }
        }

        throw Forbidden("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network");
    }

    /// <summary>The host's IPv4 routes except the default one (/proc/net/route: little-endian hex).</summary>
    private static IEnumerable<Ipv4Net> HostRoutes()
    {
        foreach (string line in File.ReadLines("/proc/net/route").Skip(1))
        {
            string[] fields = line.Split('\t', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (fields.Length < 8)
            {
                continue;
            }

            uint destination = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(Convert.ToUInt32(fields[1], 16));
            uint mask = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(Convert.ToUInt32(fields[7], 16));
            if (mask != 0)
            {
                yield return new Ipv4Net(destination, System.Numerics.BitOperations.PopCount(mask));
            }
        }
    }

    private void EnsureBridge(NetworkRecord network)
    {
        var subnet = Ipv4Net.Parse(network.Subnet);
        lock (_hostLinkLock)
        {
            _hostLinks.CreateBridge(network.BridgeName, Mtu);
            int index = RouteNetlink.LinkIndex(network.BridgeName);
            _hostLinks.AddAddress(index, IPAddress.Parse(network.Gateway), subnet.PrefixLength);
            EnsureBridgeIpv6(network, index);
            _hostLinks.SetLinkUp(index);
        }

        // 127.0.0.1 published ports: DNAT from loopback to the bridge is routed only with route_localnet.
        WriteSysctl($"/proc/sys/net/ipv4/conf/{network.BridgeName}/route_localnet", "1");
    }

    private static void WriteSysctl(string path, string value)
    {
        if (File.Exists(path) && File.ReadAllText(path).Trim() != value)
        {
            File.WriteAllText(path, value);
        }
    }

    private static List<(string, string)> NetworkRules(NetworkRecord network)
    {
        string bridge = network.BridgeName;
        var rules = new List<(string, string)>
        {
            ("filter", $"BERTH-ISOLATION-1 -i {bridge} ! -o {bridge} -j BERTH-ISOLATION-2"),
            ("filter", $"BERTH-ISOLATION-2 -o {bridge} -j DROP"),
            ("filter", $"BERTH-FORWARD -o {bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"),
            ("filter", $"BERTH-FORWARD -o {bridge} -j BERTH"),
            ("filter", $"BERTH-FORWARD -i {bridge} -o {bridge} -j {(network.InterContainerTraffic ? "ACCEPT" : "DROP")}"),
            ("nat", $"BERTH-POSTROUTING -o {bridge} -m addrtype --src-type LOCAL -j MASQUERADE"),
        };
        if (network.Internal)
        {
            rules.Add(("filter", $"BERTH-FORWARD -i {bridge} ! -o {bridge} -j DROP"));
            rules.Add(("filter", $"BERTH-FORWARD -o {bridge} ! -i {bridge} -j DROP"));
        }
        else
        {
            rules.Add(("filter", $"BERTH-FORWARD -i {bridge} ! -o {bridge} -j ACCEPT"));
            rules.Add(("nat", $"BERTH-POSTROUTING -s {network.Subnet} ! -o {bridge} -j MASQUERADE"));
        }

        return rules;
    }

    private void Save(NetworkRecord network, bool insert = false)
    {
        string doc = JsonSerializer.Serialize(network, NetworkJsonContext.Default.NetworkRecord);
        if (insert)
        {
            if (!_metadata.TryInsertNetwork(network.Id, network.Name, doc))
            {
                throw EngineException.Conflict($"network with name {network.Name} already exists");
            }
        }
        else
        {
            _metadata.UpdateNetwork(network.Id, doc);
        }

        _networks[network.Id] = network;
    }

    // ---------------------------------------------------------------- lookups

    /// <summary>By full id, name, or unique id prefix; Docker's 404 otherwise.</summary>
    public NetworkRecord Lookup(string nameOrId)
    {
        lock (_gate)
        {
            return Find(nameOrId) ?? throw EngineException.NotFound($"network {nameOrId} not found");
        }
    }

    private NetworkRecord? Find(string nameOrId)
    {
        if (_networks.TryGetValue(nameOrId, out NetworkRecord? byId))
        {
            return byId;
        }

        NetworkRecord? byName = _networks.Values.FirstOrDefault(n => n.Name == nameOrId);
        if (byName is not null)
        {
            return byName;
        }

        NetworkRecord[] matches = [.. _networks.Values.Where(n => n.Id.StartsWith(nameOrId, StringComparison.Ordinal))];
        return matches.Length == 1 ? matches[0] : null;
    }

    public NetworkRecord DefaultBridge => Snapshot().First(n => n.IsDefault);

    /// <summary>Every network a container has an endpoint on, with that endpoint.</summary>
    public List<(NetworkRecord Network, EndpointRecord Endpoint)> EndpointsOf(string containerId) =>
        [.. Snapshot().Where(n => n.Endpoints.ContainsKey(containerId)).Select(n => (n, n.Endpoints[containerId]))];

    public IReadOnlyList<PublishedPort> PortsOf(string containerId) => _ports.Of(containerId);

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
                    await _firewall.AddAsync(NetworkTag(network), NetworkRules(network), cancellationToken).ConfigureAwait(false);
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
                await _ports.PublishAsync(containerId, containerName, network.BridgeName, endpoint.IPAddress, ports, cancellationToken).ConfigureAwait(false);
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

    private static EngineException Forbidden(string message) => new(ErrorKind.Forbidden, message);

    [LoggerMessage(EventId = 610, Level = LogLevel.Information, Message = "network {Name} ({Id}) created: {Subnet} on {Bridge}")]
    private partial void LogCreated(string name, string id, string subnet, string bridge);

    [LoggerMessage(EventId = 611, Level = LogLevel.Information, Message = "network {Name} ({Id}) removed")]
    private partial void LogRemoved(string name, string id);

    [LoggerMessage(EventId = 613, Level = LogLevel.Warning, Message = "publishing the ports of restored container {Id} again failed")]
    private partial void LogRepublishFailed(string id, Exception exception);

    [LoggerMessage(EventId = 614, Level = LogLevel.Warning, Message = "opening the embedded DNS of container {Id} failed")]
    private partial void LogDnsOpenFailed(string id, Exception exception);

    [LoggerMessage(EventId = 612, Level = LogLevel.Warning, Message = "releasing network namespace {Path} failed")]
    private partial void LogPinRelease(string path, Exception exception);
}
