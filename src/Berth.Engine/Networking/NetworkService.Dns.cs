using System.Net;
using Berth.Interop;

namespace Berth.Engine.Networking;

/// <summary>
/// The embedded DNS as a container sees it (Docker's way): every container with an endpoint on a user network (bridge
/// or macvlan) gets a resolver on 127.0.0.11 inside its namespace that answers the names of all the containers it
/// shares a network with, at their address on that shared network, and the aliases of its own links. The default
/// bridge and host/none keep the host's resolv.conf, as with Docker. The forwarders a container was started with
/// are kept beside its namespace pin so that a connect or a live restore serves it again with the same ones.
/// </summary>
public sealed partial class NetworkService
{
    private string ForwardersDirectory => Path.Combine(_options.ExecRoot, "dns");

    private string ForwardersPath(string containerId) => Path.Combine(ForwardersDirectory, containerId);

    /// <summary>Whether the container gets the embedded DNS: it has an endpoint on a user-defined network.</summary>
    public bool UsesEmbeddedDns(string containerId)
    {
        lock (_gate)
        {
            return _networks.Values.Any(n => IsUserNetwork(n) && n.Endpoints.ContainsKey(containerId));
        }
    }

    private static bool IsUserNetwork(NetworkRecord network) => network.CarriesEndpoints && !network.IsDefault;

    /// <summary>
    /// After a container's namespace is made: remembers where its questions go (<paramref name="forwarders"/>, its
    /// <c>--dns</c> or the daemon's; empty: the host's resolvers) and opens its resolver when it is on a user network.
    /// </summary>
    public async Task ServeContainerDnsAsync(string containerId, IReadOnlyList<string> forwarders, CancellationToken cancellationToken)
    {
        // None named (the common case, and the run --rm hot path): nothing to keep, the host's resolvers are the default.
        if (forwarders.Count > 0)
        {
            Directory.CreateDirectory(ForwardersDirectory);
            await File.WriteAllLinesAsync(ForwardersPath(containerId), forwarders, cancellationToken).ConfigureAwait(false);
        }

        await EnsureContainerDnsAsync(containerId).ConfigureAwait(false);
    }

    /// <summary>Opens the container's resolver if it now needs one and has none (start, connect, live restore).</summary>
    private async Task EnsureContainerDnsAsync(string containerId)
    {
        string pin = NamespacePath(containerId);
        if (_dns.IsServing(containerId) || !UsesEmbeddedDns(containerId) || !File.Exists(pin))
        {
            return;
        }

        try
        {
            await _dns.ServeAsync(containerId, pin, new EmbeddedDns.Scope(
                name => ResolveFor(containerId, name),
                address => ReverseFor(containerId, address),
                ForwardersOf(containerId))).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NativeException or System.Net.Sockets.SocketException or IOException)
        {
            LogDnsOpenFailed(containerId, e);
        }
    }

    /// <summary>Closes the container's resolver once it is on no user network any more.</summary>
    private void StopContainerDnsIfUnused(string containerId)
    {
        if (!UsesEmbeddedDns(containerId))
        {
            _dns.Stop(containerId);
        }
    }

    /// <summary>At detach: the resolver and the remembered forwarders go.</summary>
    private void StopContainerDns(string containerId)
    {
        _dns.Stop(containerId);
        string forwarders = ForwardersPath(containerId);
        if (File.Exists(forwarders)) // the directory itself exists only once some container named forwarders
        {
            File.Delete(forwarders);
        }
    }

    /// <summary>The container's forwarders (port 53), the host's resolvers when it named none.</summary>
    private IReadOnlyList<IPEndPoint> ForwardersOf(string containerId)
    {
        string path = ForwardersPath(containerId);
        List<IPEndPoint> named = File.Exists(path)
            ? [.. File.ReadLines(path).Select(l => IPAddress.TryParse(l.Trim(), out IPAddress? a) ? new IPEndPoint(a, 53) : null).OfType<IPEndPoint>()]
            : [];
        return named.Count > 0 ? named : _dns.HostResolvers;
    }

    /// <summary>How the container's resolv.conf names its forwarders (Docker's <c>ExtServers</c> comment).</summary>
    public string ForwardersComment(IReadOnlyList<string> forwarders) =>
        "[" + string.Join(' ', forwarders.Count > 0 ? forwarders.Select(f => "host(" + f + ")") : _dns.HostResolvers.Select(e => "host(" + e.Address + ")")) + "]";

    /// <summary>
    /// A name as <paramref name="containerId"/> knows it: on each user network it is on, in order, the alias of one of
    /// its links there (visible to the linking container only, as Docker keeps links on user networks), else the
    /// containers of that network known by the name; the first network that knows it answers, with its addresses.
    /// </summary>
    private List<IPAddress> ResolveFor(string containerId, string name)
    {
        foreach (NetworkRecord network in SharedScope(containerId))
        {
            string target = LinkTarget(network, containerId, name) ?? name;
            List<IPAddress> found = ResolveOn(network.Id, target);
            if (found.Count > 0)
            {
                return found;
            }
        }

        return [];
    }

    /// <summary>The user networks the container is on, as they are now (connect/disconnect change it live).</summary>
    private List<NetworkRecord> SharedScope(string containerId)
    {
        lock (_gate)
        {
            return [.. _networks.Values.Where(n => IsUserNetwork(n) && n.Endpoints.ContainsKey(containerId)).OrderBy(n => n.Created)];
        }
    }

    /// <summary>The container a link alias names for the asking container on a network, or null.</summary>
    private static string? LinkTarget(NetworkRecord network, string containerId, string alias)
    {
        if (!network.Endpoints.TryGetValue(containerId, out EndpointRecord? endpoint))
        {
            return null;
        }

        foreach (string link in endpoint.Links ?? [])
        {
            string[] parts = link.Split(':', 2);
            string target = parts[0].TrimStart('/');
            string name = parts.Length == 2 ? parts[1].Split('/')[^1] : target;
            if (string.Equals(name, alias, StringComparison.OrdinalIgnoreCase))
            {
                return target;
            }
        }

        return null;
    }

    /// <summary>The name a PTR query for <paramref name="address"/> answers: Docker's <c>container.network</c> on a network the asker is on.</summary>
    private string? ReverseFor(string containerId, IPAddress address)
    {
        string text = address.ToString();
        foreach (NetworkRecord network in SharedScope(containerId))
        {
            EndpointRecord? endpoint = network.Endpoints.Values.FirstOrDefault(e => e.IPAddress == text || (e.IPv6Address.Length > 0 && IPAddress.Parse(e.IPv6Address).Equals(address)));
            if (endpoint is not null)
            {
                return $"{endpoint.ContainerName}.{network.Name}";
            }
        }

        return null;
    }

    /// <summary>The addresses of the containers on a network known by <paramref name="name"/> (name, id, short id, alias).</summary>
    private List<IPAddress> ResolveOn(string networkId, string name)
    {
        lock (_gate)
        {
            if (!_networks.TryGetValue(networkId, out NetworkRecord? network))
            {
                return [];
            }

            return [.. network.Endpoints.Values
                .Where(e => string.Equals(e.ContainerName, name, StringComparison.OrdinalIgnoreCase) || e.ContainerId == name
                    || (name.Length == 12 && e.ContainerId.StartsWith(name, StringComparison.Ordinal))
                    || e.Aliases.Any(a => string.Equals(a, name, StringComparison.OrdinalIgnoreCase)))
                .SelectMany(AddressesOf)];
        }
    }

    /// <summary>The nameserver a container's resolv.conf names: the embedded DNS when it is on a user network, else null.</summary>
    public string? NameserverFor(string containerId) =>
        UsesEmbeddedDns(containerId) ? EmbeddedDns.ListenAddress.ToString() : null;

    /// <summary>Live restore: the running containers on user networks get their resolvers again.</summary>
    private async Task RestoreContainerDnsAsync(IReadOnlySet<string> runningContainers)
    {
        foreach (string containerId in runningContainers.Order(StringComparer.Ordinal))
        {
            await EnsureContainerDnsAsync(containerId).ConfigureAwait(false);
        }

        if (Directory.Exists(ForwardersDirectory))
        {
            foreach (string stale in Directory.GetFiles(ForwardersDirectory).Where(p => !runningContainers.Contains(Path.GetFileName(p))))
            {
                File.Delete(stale);
            }
        }
    }
}
