using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Berth.Primitives;

namespace Berth.Engine.Networking;

/// <summary>A port binding a container asks for: <c>[ip:][hostPort|range|empty]:containerPort/proto</c>, parsed.</summary>
public sealed record PortRequest(int ContainerPort, string Protocol, string HostIp, string HostPort);

/// <summary>A host port bound to a container port.</summary>
public sealed record PublishedPort(int ContainerPort, string Protocol, string HostIp, int HostPort);

/// <summary>
/// Published ports: each host port is reserved by a socket bound to it (so conflicts get Docker's error and
/// ephemeral ports are really free), then reached through DNAT in PREROUTING (other hosts) and OUTPUT (this host,
/// 127.0.0.1 included through route_localnet) with no proxy process in the data path; over IPv6 too (ip6tables) when
/// the container's network has IPv6.
/// </summary>
internal sealed class PortPublisher(Firewall firewall, string tagScope) : IDisposable
{
    private readonly ConcurrentDictionary<string, Published> _byContainer = new(StringComparer.Ordinal);

    private sealed record Published(IReadOnlyList<PublishedPort> Ports, IReadOnlyList<Socket> Reservations);

    private string Tag(string containerId) => tagScope + "port:" + containerId[..12];

    public IReadOnlyList<PublishedPort> Of(string containerId) => _byContainer.TryGetValue(containerId, out Published? p) ? p.Ports : [];

    /// <summary>
    /// Reserves the host ports and adds the DNAT. With <paramref name="containerIpv6"/> (an IPv6 network, ip6tables
    /// there) a binding without a host IP is published on <c>::</c> too, on the same port, as Docker does; a v6 host IP
    /// publishes over IPv6 only.
    /// </summary>
    public async Task PublishAsync(string containerId, string containerName, string bridge, string containerIp, string containerIpv6, IReadOnlyList<PortRequest> requests, CancellationToken cancellationToken)
    {
        bool ipv6 = containerIpv6.Length > 0 && firewall.HasIp6tables;
        var sockets = new List<Socket>();
        var ports = new List<PublishedPort>();
        try
        {
            foreach (PortRequest request in requests)
            {
                IPAddress? asked = string.IsNullOrEmpty(request.HostIp) ? null
                    : IPAddress.TryParse(request.HostIp, out IPAddress? parsed) && (parsed.AddressFamily == AddressFamily.InterNetwork || (ipv6 && parsed.AddressFamily == AddressFamily.InterNetworkV6)) ? parsed
                    : throw EngineException.Invalid($"invalid host IP for port binding: {request.HostIp}");
                (Socket socket, int port) = Reserve(request, asked ?? IPAddress.Any, request.HostPort, containerId, containerName);
                sockets.Add(socket);
                ports.Add(new PublishedPort(request.ContainerPort, request.Protocol, asked?.ToString() ?? "0.0.0.0", port));
                if (asked is null && ipv6)
                {
                    (Socket socket6, _) = Reserve(request, IPAddress.IPv6Any, port.ToString(CultureInfo.InvariantCulture), containerId, containerName);
                    sockets.Add(socket6);
                    ports.Add(new PublishedPort(request.ContainerPort, request.Protocol, "::", port));
                }
            }

            var rules = new List<(string, string)>();
            var rules6 = new List<(string, string)>();
            foreach (PublishedPort port in ports)
            {
                bool v6 = port.HostIp.Contains(':', StringComparison.Ordinal);
                string destination = port.HostIp is "0.0.0.0" or "::" ? "" : $"-d {port.HostIp}/{(v6 ? 128 : 32)} ";
                string target = v6 ? $"[{containerIpv6}]:{port.ContainerPort}" : $"{containerIp}:{port.ContainerPort}";
                string container = v6 ? containerIpv6 + "/128" : containerIp + "/32";
                string proto = port.Protocol;
                List<(string, string)> family = v6 ? rules6 : rules;
                family.Add(("nat", $"BERTH {destination}-p {proto} -m {proto} --dport {port.HostPort} -j DNAT --to-destination {target}"));
                // Hairpin: the container reaching its own published port through the host.
                family.Add(("nat", $"BERTH-POSTROUTING -s {container} -d {container} -p {proto} -m {proto} --dport {port.ContainerPort} -j MASQUERADE"));

                family.Add(("filter", $"BERTH -d {container} ! -i {bridge} -o {bridge} -p {proto} -m {proto} --dport {port.ContainerPort} -j ACCEPT"));
            }

            _byContainer[containerId] = new Published(ports, sockets);
            await firewall.AddAsync(Tag(containerId), rules, cancellationToken).ConfigureAwait(false);
            await firewall.AddAsync(Tag(containerId), rules6, cancellationToken, ipv6: true).ConfigureAwait(false);
        }
        catch
        {
            _byContainer.TryRemove(containerId, out _);
            sockets.ForEach(s => s.Dispose());
            throw;
        }
    }

    public async Task UnpublishAsync(string containerId, CancellationToken cancellationToken)
    {
        if (_byContainer.TryRemove(containerId, out Published? published))
        {
            await firewall.RemoveAsync(Tag(containerId), cancellationToken).ConfigureAwait(false);
            foreach (Socket socket in published.Reservations)
            {
                socket.Dispose();
            }
        }
    }

    private static (Socket, int) Reserve(PortRequest request, IPAddress ip, string hostPort, string containerId, string containerName)
    {
        (int first, int last) = ParseRange(hostPort);
        bool udp = request.Protocol == "udp";
        SocketException? failure = null;
        for (int port = first; port <= last; port++)
        {
            var socket = new Socket(ip.AddressFamily, udp ? SocketType.Dgram : SocketType.Stream, udp ? ProtocolType.Udp : ProtocolType.Tcp);
            try
            {
                if (ip.AddressFamily == AddressFamily.InterNetworkV6)
                {
                    socket.DualMode = false; // :: only: 0.0.0.0 has its own reservation
                }

                // Held without SO_REUSEADDR, the port refuses every other bind (SO_REUSEADDR or SO_REUSEPORT on the
                // other side too), as it would against Docker's proxy. .NET sets SO_REUSEADDR on every TCP socket as it
                // binds, so it is cleared after the bind (a later bind is checked against the option as it is then).
                // A TCP reservation never listens: DNAT takes the packets before local delivery, and a connection that
                // reached the host anyway is refused instead of being accepted into a backlog nobody serves.
                socket.Bind(new IPEndPoint(ip, port));
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, false);
                return (socket, ((IPEndPoint)socket.LocalEndPoint!).Port);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                failure = e;
            }
        }

        string shown = first == last ? first.ToString(CultureInfo.InvariantCulture) : $"{first}-{last}";
        string reason = failure?.SocketErrorCode == SocketError.AddressAlreadyInUse ? "port is already allocated" : failure?.Message ?? "no port";
        throw new EngineException(ErrorKind.Internal, $"driver failed programming external connectivity on endpoint {containerName.TrimStart('/')} ({containerId}): Bind for {ip}:{shown} failed: {reason}");
    }

    private static (int First, int Last) ParseRange(string hostPort)
    {
        if (string.IsNullOrEmpty(hostPort) || hostPort == "0")
        {
            return (0, 0);
        }

        string[] parts = hostPort.Split('-', 2);
        if (!int.TryParse(parts[0], out int first) || first is < 0 or > 65535)
        {
            throw EngineException.Invalid($"invalid port specification: \"{hostPort}\"");
        }

        int last = first;
        if (parts.Length == 2 && (!int.TryParse(parts[1], out last) || last < first || last > 65535))
        {
            throw EngineException.Invalid($"invalid port specification: \"{hostPort}\"");
        }

        return (first, last);
    }

    public void Dispose()
    {
        foreach (Published published in _byContainer.Values)
        {
            foreach (Socket socket in published.Reservations)
            {
                socket.Dispose();
            }
        }
    }
}
