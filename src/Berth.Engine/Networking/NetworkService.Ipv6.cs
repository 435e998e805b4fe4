using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Berth.Api.Types;
using Berth.Interop;
using Berth.Primitives;

namespace Berth.Engine.Networking;

/// <summary>
/// IPv6 on bridge networks (<c>network create --ipv6</c>): a v6 subnet beside the v4 one (the one given, else a random
/// ULA /64 as Docker picks one), the gateway's address on the bridge, one address per container with a default route.
/// With ip6tables (as Docker with <c>ip6tables</c> on, its default since 27): the same isolation, icc and MASQUERADE
/// rules as v4 on the v6 subnet, in the same chains and under the same tag, and IPv6 forwarding on.
/// </summary>
public sealed partial class NetworkService
{
    private static bool IsIpv6Config(NetworkIpamConfig config) => config.Subnet?.Contains(':', StringComparison.Ordinal) == true;

    /// <summary>The v6 subnet and gateway of a network being created, or empties when IPv6 is off.</summary>
    private static (string Subnet, string Gateway) Ipv6Settings(NetworkCreateRequest request, string driver)
    {
        if (request.EnableIPv6 != true)
        {
            return ("", "");
        }

        if (driver != "bridge")
        {
            throw EngineException.Invalid($"IPv6 is supported by berth on bridge networks only, not on {driver} networks");
        }

        NetworkIpamConfig? config = request.IPAM?.Config?.FirstOrDefault(IsIpv6Config);
        IPNetwork subnet;
        if (config?.Subnet is { } given)
        {
            if (!IPNetwork.TryParse(given, out subnet) || subnet.PrefixLength > 126)
            {
                throw EngineException.Invalid($"invalid CIDR address: {given}");
            }
        }
        else
        {
            // Docker's choice without --subnet: a unique local /64, fd00::/8 with 56 random bits (RFC 4193).
            Span<byte> bytes = stackalloc byte[16];
            SecureRandom.Fill(bytes[1..8]);
            bytes[0] = 0xfd;
            subnet = new IPNetwork(new IPAddress(bytes), 64);
        }

        IPAddress gateway = config?.Gateway is { Length: > 0 } named ? IPAddress.Parse(named) : FromUInt128(ToUInt128(subnet.BaseAddress) + 1);
        if (!subnet.Contains(gateway))
        {
            throw new EngineException(ErrorKind.Forbidden, $"no matching subnet for gateway {gateway}");
        }

        return (subnet.ToString(), gateway.ToString());
    }

    /// <summary>The ip6tables rules of an IPv6 bridge network (nothing without ip6tables), and IPv6 forwarding, as Docker turns it on.</summary>
    private async Task AddIpv6RulesAsync(NetworkRecord network, CancellationToken cancellationToken)
    {
        if (!network.EnableIPv6 || !_firewall.HasIp6tables)
        {
            return;
        }

        WriteSysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1");
        await _firewall.AddAsync(NetworkTag(network), NetworkRules(network, ipv6: true), cancellationToken, ipv6: true).ConfigureAwait(false);
    }

    /// <summary>Under the host-link lock: the gateway's v6 address on the bridge (IPv6 on, on that bridge).</summary>
    private void EnsureBridgeIpv6(NetworkRecord network, int index)
    {
        if (!network.EnableIPv6)
        {
            return;
        }

        WriteSysctl($"/proc/sys/net/ipv6/conf/{network.BridgeName}/disable_ipv6", "0");
        _hostLinks.AddAddress6(index, IPAddress.Parse(network.GatewayV6), IPNetwork.Parse(network.SubnetV6).PrefixLength);
    }

    /// <summary>Under the gate: the endpoint's v6 address, the asked one or the lowest free after the gateway.</summary>
    private static string AllocateIpv6(NetworkRecord network, EndpointSettings? settings)
    {
        if (!network.EnableIPv6)
        {
            return "";
        }

        var subnet = IPNetwork.Parse(network.SubnetV6);
        var used = new HashSet<UInt128>(network.Endpoints.Values.Where(e => e.IPv6Address.Length > 0).Select(e => ToUInt128(IPAddress.Parse(e.IPv6Address))))
        {
            ToUInt128(IPAddress.Parse(network.GatewayV6)),
        };
        if (settings?.IPAMConfig?.IPv6Address is { Length: > 0 } requested)
        {
            if (!IPAddress.TryParse(requested, out IPAddress? asked) || asked.AddressFamily != AddressFamily.InterNetworkV6 || !subnet.Contains(asked))
            {
                throw new EngineException(ErrorKind.Forbidden, $"invalid address {requested}: It does not belong to any of this network's subnets");
            }

            return used.Contains(ToUInt128(asked)) ? throw new EngineException(ErrorKind.Forbidden, "Address already in use") : asked.ToString();
        }

        UInt128 first = ToUInt128(subnet.BaseAddress) + 1;
        for (UInt128 candidate = first; candidate < first + 65536; candidate++)
        {
            var address = FromUInt128(candidate);
            if (!used.Contains(candidate) && subnet.Contains(address))
            {
                return address.ToString();
            }
        }

        throw new EngineException(ErrorKind.Forbidden, $"no available IPv6 addresses on this network's address pools: {network.Name} ({network.Id})");
    }

    /// <summary>Inside the container's namespace: its v6 address on <paramref name="index"/>, and the v6 default route on the first network.</summary>
    private static void PlumbIpv6(RouteNetlink inside, int index, NetworkRecord network, EndpointRecord endpoint, bool firstEndpoint)
    {
        if (!network.EnableIPv6 || endpoint.IPv6Address.Length == 0)
        {
            return;
        }

        inside.AddAddress6(index, IPAddress.Parse(endpoint.IPv6Address), IPNetwork.Parse(network.SubnetV6).PrefixLength);
        if (firstEndpoint && !network.Internal)
        {
            inside.AddDefaultRoute6(index, IPAddress.Parse(network.GatewayV6));
        }
    }

    /// <summary>An endpoint's addresses as the embedded DNS answers them (v4, and v6 when it has one).</summary>
    private static IEnumerable<IPAddress> AddressesOf(EndpointRecord endpoint) =>
        endpoint.IPv6Address.Length > 0 ? [IPAddress.Parse(endpoint.IPAddress), IPAddress.Parse(endpoint.IPv6Address)] : [IPAddress.Parse(endpoint.IPAddress)];

    private static UInt128 ToUInt128(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        return BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    private static IPAddress FromUInt128(UInt128 value)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, value);
        return new IPAddress(bytes);
    }
}
