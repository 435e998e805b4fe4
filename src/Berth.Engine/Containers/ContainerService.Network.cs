using System.Globalization;
using Berth.Api.Types;
using Berth.Engine.Networking;
using Berth.Primitives;

namespace Berth.Engine.Containers;

/// <summary>A container's networking: its mode, its endpoints around start and exit, connect/disconnect, its views.</summary>
public sealed partial class ContainerService
{
    /// <summary>How a started container's network namespace is made: runc's fresh one, the host's, or a path to join.</summary>
    private sealed record NetworkPlan(string? NamespacePath, bool HostNetwork);

    /// <summary>Docker's stored network mode: an empty or <c>default</c> mode is the default bridge.</summary>
    private static string NormalizeNetworkMode(string? mode) => string.IsNullOrEmpty(mode) || mode == "default" ? "bridge" : mode;

    /// <summary>At create: the mode is valid and the container's configured networks (name → settings) are known.</summary>
    private Dictionary<string, EndpointSettings>? ConfigureNetworks(HostConfig hostConfig, NetworkingConfig? networking)
    {
        string mode = hostConfig.NetworkMode!;
        if (mode is "none" or "host")
        {
            return null;
        }

        if (mode.StartsWith("container:", StringComparison.Ordinal))
        {
            if (hostConfig.PortBindings is { Count: > 0 } || hostConfig.PublishAllPorts == true)
            {
                throw EngineException.Invalid("conflicting options: port publishing and the container type network mode");
            }

            Lookup(mode["container:".Length..]);
            return null;
        }

        NetworkRecord network = _networks.Lookup(mode);
        EndpointSettings? settings = null;
        networking?.EndpointsConfig?.TryGetValue(mode, out settings);
        if (network.IsDefault && settings?.Aliases is { Count: > 0 })
        {
            throw EngineException.Invalid("network-scoped alias is supported only for containers in user defined networks");
        }

        if (network.Driver is "host" or "null")
        {
            return null;
        }

        return new Dictionary<string, EndpointSettings>(StringComparer.Ordinal) { [network.Name] = settings ?? new EndpointSettings() };
    }

    /// <summary>Before <c>runc create</c>: the namespace to join (made and plumbed here for bridge networks).</summary>
    private async Task<NetworkPlan> SetUpNetworkAsync(ContainerRecord record, CancellationToken cancellationToken)
    {
        string mode = NormalizeNetworkMode(record.HostConfig.NetworkMode);
        if (mode == "none")
        {
            return new NetworkPlan(null, false);
        }

        if (mode == "host")
        {
            return new NetworkPlan(null, true);
        }

        if (mode.StartsWith("container:", StringComparison.Ordinal))
        {
            string other = mode["container:".Length..];
            ContainerRecord target = Lookup(other).Record;
            if (!target.IsRunning || target.State.Pid <= 0)
            {
                throw EngineException.Conflict($"cannot join network namespace of a non running container: {other}");
            }

            return NormalizeNetworkMode(target.HostConfig.NetworkMode) == "host"
                ? new NetworkPlan(null, true)
                : new NetworkPlan($"/proc/{target.State.Pid}/ns/net", false);
        }

        var endpoints = (record.Networks ?? []).Select(kv => (kv.Key, (EndpointSettings?)kv.Value)).ToList();
        if (endpoints.Count == 0)
        {
            return new NetworkPlan(null, false);
        }

        string path = await _networks.AttachAsync(record.Id, record.Name, endpoints, PortRequests(record), cancellationToken).ConfigureAwait(false);
        await _networks.ServeContainerDnsAsync(record.Id, DnsForwarders(record), cancellationToken).ConfigureAwait(false);
        return new NetworkPlan(path, false);
    }

    /// <summary>-p bindings, and with -P every exposed port not bound otherwise, on an ephemeral host port.</summary>
    private static List<PortRequest> PortRequests(ContainerRecord record)
    {
        var requests = new List<PortRequest>();
        var bound = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string key, IReadOnlyList<PortBinding>? bindings) in record.HostConfig.PortBindings ?? [])
        {
            (int port, string proto) = ParsePortKey(key);
            bound.Add(key);
            foreach (PortBinding binding in bindings is { Count: > 0 } ? bindings : [new PortBinding()])
            {
                requests.Add(new PortRequest(port, proto, binding.HostIp, binding.HostPort));
            }
        }

        if (record.HostConfig.PublishAllPorts == true)
        {
            foreach (string key in (record.Config.ExposedPorts ?? []).Keys.Where(k => !bound.Contains(k)).Order(StringComparer.Ordinal))
            {
                (int port, string proto) = ParsePortKey(key);
                requests.Add(new PortRequest(port, proto, "", ""));
            }
        }

        return requests;
    }

    private static (int Port, string Protocol) ParsePortKey(string key)
    {
        string[] parts = key.Split('/', 2);
        string proto = parts.Length == 2 ? parts[1].ToLowerInvariant() : "tcp";
        return int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is > 0 and < 65536 && proto is "tcp" or "udp"
            ? (port, proto)
            : throw EngineException.Invalid($"invalid port specification: \"{key}\"");
    }

    /// <summary>After the exit (or a failed start): ports, endpoints and the namespace go.</summary>
    private async Task TearDownNetworkAsync(string containerId)
    {
        try
        {
            await _networks.DetachAsync(containerId, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is EngineException or IOException or Interop.NativeException)
        {
            LogNetworkTeardownFailed(containerId, e);
        }
    }

    /// <summary>/etc/hosts lines and resolv.conf inputs that depend on the container's networks.</summary>
    private (string? OwnAddress, List<string> Hosts, string? Nameserver) NetworkEtc(ContainerRecord record)
    {
        var hosts = new List<string>();
        List<(NetworkRecord Network, EndpointRecord Endpoint)> endpoints = _networks.EndpointsOf(record.Id);
        string? own = endpoints.Count > 0 ? endpoints[0].Endpoint.IPAddress : null;
        string gateway = _networks.DefaultBridge.Gateway;
        foreach (string extra in record.HostConfig.ExtraHosts ?? [])
        {
            int colon = extra.IndexOf(':', StringComparison.Ordinal);
            int equals = extra.IndexOf('=', StringComparison.Ordinal);
            int split = equals > 0 ? equals : colon;
            if (split > 0)
            {
                string address = extra[(split + 1)..];
                hosts.Add((address == "host-gateway" ? gateway : address) + "\t" + extra[..split]);
            }
        }

        foreach (string link in record.HostConfig.Links ?? [])
        {
            string[] parts = link.Split(':', 2);
            string target = parts[0].TrimStart('/');
            string alias = parts.Length == 2 ? parts[1].Split('/').Last() : target;
            ContainerRecord? linked = _containers.Values.Select(e => e.Record).FirstOrDefault(r => r.Name == "/" + target || r.Id == target);
            if (linked is null)
            {
                continue;
            }

            EndpointRecord? endpoint = _networks.EndpointsOf(linked.Id).Select(e => e.Endpoint).FirstOrDefault();
            if (endpoint is not null)
            {
                hosts.Add($"{endpoint.IPAddress}\t{alias} {linked.Id[..12]} {target}");
            }
        }

        return (own, hosts, _networks.NameserverFor(record.Id));
    }

    // ---------------------------------------------------------------- connect / disconnect

    public async Task ConnectAsync(string network, NetworkConnectRequest request, CancellationToken cancellationToken)
    {
        ContainerEntry entry = Lookup(request.Container);
        NetworkRecord target = _networks.Lookup(network);
        await entry.Transition.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ContainerRecord record = entry.Record;
            string mode = NormalizeNetworkMode(record.HostConfig.NetworkMode);
            if (mode is "host" or "none" || mode.StartsWith("container:", StringComparison.Ordinal) || !target.CarriesEndpoints)
            {
                throw EngineException.Invalid($"container cannot be disconnected from host network or connected to host network");
            }

            if (record.Networks?.ContainsKey(target.Name) == true)
            {
                throw new EngineException(ErrorKind.Forbidden, $"endpoint with name {record.Name.TrimStart('/')} already exists in network {target.Name}");
            }

            EndpointSettings settings = request.EndpointConfig ?? new EndpointSettings();
            string? pin = record.IsRunning ? _networks.NamespacePath(record.Id) : null;
            await _networks.ConnectAsync(target.Name, record.Id, record.Name, settings, pin).ConfigureAwait(false);
            var networks = new Dictionary<string, EndpointSettings>(record.Networks ?? [], StringComparer.Ordinal) { [target.Name] = settings };
            record = record with { Networks = networks };
            entry.Publish(record);
            Persist(record);
        }
        finally
        {
            entry.Transition.Release();
        }
    }

    public async Task DisconnectAsync(string network, NetworkDisconnectRequest request, CancellationToken cancellationToken)
    {
        ContainerEntry entry = Lookup(request.Container);
        NetworkRecord target = _networks.Lookup(network);
        await entry.Transition.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ContainerRecord record = entry.Record;
            if (record.Networks?.ContainsKey(target.Name) != true)
            {
                throw new EngineException(ErrorKind.Forbidden, $"container {record.Id} is not connected to network {target.Name}");
            }

            await _networks.DisconnectAsync(target, record.Id).ConfigureAwait(false);
            var networks = new Dictionary<string, EndpointSettings>(record.Networks, StringComparer.Ordinal);
            networks.Remove(target.Name);
            record = record with { Networks = networks };
            entry.Publish(record);
            Persist(record);
        }
        finally
        {
            entry.Transition.Release();
        }
    }

    // ---------------------------------------------------------------- views

    private InspectNetworkSettings NetworkSettingsFor(ContainerRecord record)
    {
        Dictionary<string, EndpointSettings> networks = NetworksView(record);
        EndpointSettings? primary = networks.TryGetValue("bridge", out EndpointSettings? bridge) ? bridge : null;
        return new InspectNetworkSettings
        {
            SandboxID = record.IsRunning ? record.Id : "",
            SandboxKey = record.IsRunning ? _networks.NamespacePath(record.Id) : "",
            Ports = PortsView(record),
            IPAddress = primary?.IPAddress ?? "",
            IPPrefixLen = primary?.IPPrefixLen ?? 0,
            Gateway = primary?.Gateway ?? "",
            MacAddress = primary?.MacAddress ?? "",
            Networks = networks,
        };
    }

    private Dictionary<string, EndpointSettings> NetworksView(ContainerRecord record)
    {
        var live = _networks.EndpointsOf(record.Id).ToDictionary(e => e.Network.Name, e => e);
        var view = new Dictionary<string, EndpointSettings>(StringComparer.Ordinal);
        string mode = NormalizeNetworkMode(record.HostConfig.NetworkMode);
        if (mode is "host" or "none")
        {
            NetworkRecord builtin = _networks.Lookup(mode);
            view[mode] = new EndpointSettings { NetworkID = builtin.Id, EndpointID = "", Gateway = "", IPAddress = "", MacAddress = "" };
        }

        foreach ((string name, EndpointSettings configured) in record.Networks ?? [])
        {
            if (live.TryGetValue(name, out var attached))
            {
                view[name] = configured with
                {
                    NetworkID = attached.Network.Id,
                    EndpointID = attached.Endpoint.EndpointId,
                    Gateway = attached.Network.Gateway,
                    IPAddress = attached.Endpoint.IPAddress,
                    IPPrefixLen = attached.Network.PrefixLength,
                    MacAddress = attached.Endpoint.MacAddress,
                    IPv6Gateway = attached.Network.GatewayV6,
                    GlobalIPv6Address = attached.Endpoint.IPv6Address,
                    GlobalIPv6PrefixLen = attached.Network.EnableIPv6 ? System.Net.IPNetwork.Parse(attached.Network.SubnetV6).PrefixLength : 0,
                    DNSNames = attached.Network.IsDefault ? null : [attached.Endpoint.ContainerName, record.Id[..12], .. attached.Endpoint.Aliases],
                };
            }
            else
            {
                view[name] = configured with { EndpointID = "", Gateway = "", IPAddress = "", MacAddress = "" };
            }
        }

        return view;
    }

    private Dictionary<string, IReadOnlyList<PortBinding>?> PortsView(ContainerRecord record)
    {
        var ports = new Dictionary<string, IReadOnlyList<PortBinding>?>(StringComparer.Ordinal);
        foreach (string exposed in (record.Config.ExposedPorts ?? []).Keys)
        {
            ports[exposed] = null;
        }

        foreach (IGrouping<string, PublishedPort> group in _networks.PortsOf(record.Id).GroupBy(p => $"{p.ContainerPort}/{p.Protocol}"))
        {
            ports[group.Key] = [.. group.Select(p => new PortBinding { HostIp = p.HostIp, HostPort = p.HostPort.ToString(CultureInfo.InvariantCulture) })];
        }

        return ports;
    }

    private ContainerSummary WithNetwork(ContainerSummary summary, ContainerRecord record)
    {
        var ports = new List<PortSummary>();
        var published = _networks.PortsOf(record.Id);
        foreach (PublishedPort port in published)
        {
            ports.Add(new PortSummary { IP = port.HostIp, PrivatePort = port.ContainerPort, PublicPort = port.HostPort, Type = port.Protocol });
        }

        foreach (string exposed in (record.Config.ExposedPorts ?? []).Keys)
        {
            (int port, string proto) = ParsePortKey(exposed);
            if (!published.Any(p => p.ContainerPort == port && p.Protocol == proto))
            {
                ports.Add(new PortSummary { PrivatePort = port, Type = proto });
            }
        }

        return summary with
        {
            Ports = ports,
            HostConfig = new SummaryHostConfig { NetworkMode = NormalizeNetworkMode(record.HostConfig.NetworkMode) },
            NetworkSettings = new SummaryNetworkSettings { Networks = NetworksView(record) },
        };
    }

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 120, Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "tearing down the network of container {Id} failed")]
    private partial void LogNetworkTeardownFailed(string id, Exception exception);
}
