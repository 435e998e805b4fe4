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
        bool firstStart;
        lock (_gate)
        {
            firstStart = !_networks.Values.Any(n => n.Name == "bridge");
        }

        // The default bridge's subnet is chosen once, on the first start: under the host-wide claim, released once the
        // bridge has its address (the route other daemons' choices read).
        using (IDisposable? claim = firstStart ? await SubnetClaim.AcquireAsync(cancellationToken).ConfigureAwait(false) : null)
        {
            NetworkRecord? created = null;
            lock (_gate)
            {
                if (!_networks.Values.Any(n => n.Name == "bridge"))
                {
                    Ipv4Net subnet = ChooseSubnet();
                    created = new NetworkRecord
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
                    };
                    Save(created, insert: true);
                }

                foreach ((string name, string driver) in new[] { ("host", "host"), ("none", "null") })
                {
                    if (!_networks.Values.Any(n => n.Name == name))
                    {
                        Save(new NetworkRecord { Id = Ids.NewId(), Name = name, Driver = driver, Created = DateTimeOffset.UtcNow }, insert: true);
                    }
                }
            }

            if (created is not null)
            {
                EnsureBridge(created);
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
            await AddIpv6RulesAsync(network, cancellationToken).ConfigureAwait(false);
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
                    await _ports.PublishAsync(endpoint.ContainerId, endpoint.ContainerName, network.BridgeName, endpoint.IPAddress, endpoint.IPv6Address, requests, cancellationToken).ConfigureAwait(false);
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

    /// <summary>A bridge network's rules, for iptables or (<paramref name="ipv6"/>) the same for ip6tables on its v6 subnet.</summary>
    private static List<(string, string)> NetworkRules(NetworkRecord network, bool ipv6 = false)
    {
        string bridge = network.BridgeName;
        var rules = new List<(string, string)>
        {
            ("filter", $"BERTH-ISOLATION-1 -i {bridge} ! -o {bridge} -j BERTH-ISOLATION-2"),
            ("filter", $"BERTH-ISOLATION-2 -o {bridge} -j DROP"),
            ("filter", $"BERTH-FORWARD -o {bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"),
            ("filter", $"BERTH-FORWARD -o {bridge} -j BERTH"),
            ("filter", $"BERTH-FORWARD -i {bridge} -o {bridge} -j {(network.InterContainerTraffic ? "ACCEPT" : "DROP")}"),
        };
        if (!ipv6)
        {
            // The hairpin of 127.0.0.1 published ports (route_localnet); IPv6 has no loopback DNAT.
            rules.Add(("nat", $"BERTH-POSTROUTING -o {bridge} -m addrtype --src-type LOCAL -j MASQUERADE"));
        }

        if (network.Internal)
        {
            rules.Add(("filter", $"BERTH-FORWARD -i {bridge} ! -o {bridge} -j DROP"));
            rules.Add(("filter", $"BERTH-FORWARD -o {bridge} ! -i {bridge} -j DROP"));
        }
        else
        {
            rules.Add(("filter", $"BERTH-FORWARD -i {bridge} ! -o {bridge} -j ACCEPT"));
            rules.Add(("nat", $"BERTH-POSTROUTING -s {(ipv6 ? network.SubnetV6 : network.Subnet)} ! -o {bridge} -j MASQUERADE"));
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
