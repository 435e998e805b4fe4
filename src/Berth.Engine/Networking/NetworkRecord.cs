using System.Net;
using System.Text.Json.Serialization;

namespace Berth.Engine.Networking;

/// <summary>A network as stored (one row in the <c>networks</c> table), with its live endpoints so a restart restores them.</summary>
public sealed record NetworkRecord
{
    public required string Id { get; init; }
    public required string Name { get; init; }

    /// <summary><c>bridge</c>, <c>host</c> or <c>null</c> (Docker's predefined <c>none</c>).</summary>
    public required string Driver { get; init; }
    public DateTimeOffset Created { get; init; }
    public string Subnet { get; init; } = "";
    public string Gateway { get; init; } = "";
    public string? IPRange { get; init; }

    /// <summary>IPv6 on (<c>--ipv6</c>): the v6 subnet and the gateway's v6 address on the bridge.</summary>
    public bool EnableIPv6 { get; init; }
    public string SubnetV6 { get; init; } = "";
    public string GatewayV6 { get; init; } = "";
    public Dictionary<string, string>? AuxAddresses { get; init; }
    public bool Internal { get; init; }
    public bool Attachable { get; init; }
    public Dictionary<string, string> Labels { get; init; } = [];
    public Dictionary<string, string> Options { get; init; } = [];

    /// <summary>The Linux bridge of a bridge network (berth0 for the default one, br-ID12 for user networks).</summary>
    public string BridgeName { get; init; } = "";

    /// <summary>The default bridge network (<c>bridge</c>): no embedded DNS, links through /etc/hosts.</summary>
    public bool IsDefault { get; init; }

    /// <summary>Inter-container communication on this bridge (the daemon's <c>--icc</c> for the default one).</summary>
    public bool InterContainerTraffic { get; init; } = true;

    /// <summary>A macvlan network's parent link (<c>-o parent=</c>; a dummy <c>dm-ID12</c> when none was given).</summary>
    public string Parent { get; init; } = "";

    /// <summary>A macvlan network's mode: bridge (the default), private, vepa or passthru.</summary>
    public string MacvlanMode { get; init; } = "";

    /// <summary>The parent link (dummy or 802.1q VLAN) was made by us: it goes with the network.</summary>
    public bool CreatedParent { get; init; }

    /// <summary>Attached containers by id.</summary>
    public Dictionary<string, EndpointRecord> Endpoints { get; init; } = new(StringComparer.Ordinal);

    [JsonIgnore]
    public bool IsBridge => Driver == "bridge";

    [JsonIgnore]
    public bool IsMacvlan => Driver == "macvlan";

    /// <summary>Containers get an address and an interface of their own on it (bridge or macvlan, not host/none).</summary>
    [JsonIgnore]
    public bool CarriesEndpoints => IsBridge || IsMacvlan;

    [JsonIgnore]
    public bool IsPredefined => Name is "bridge" or "host" or "none";

    [JsonIgnore]
    public int PrefixLength => Subnet.Length == 0 ? 0 : Ipv4Net.Parse(Subnet).PrefixLength;
}

/// <summary>One container's attachment to one network.</summary>
public sealed record EndpointRecord
{
    public required string ContainerId { get; init; }

    /// <summary>The container's name without the leading slash.</summary>
    public required string ContainerName { get; init; }
    public required string EndpointId { get; init; }
    public required string IPAddress { get; init; }

    /// <summary>The v6 address on a network with IPv6, else empty.</summary>
    public string IPv6Address { get; init; } = "";
    public required string MacAddress { get; init; }
    public string HostInterface { get; init; } = "";
    public string InterfaceName { get; init; } = "";
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>Links of this container on a user network (<c>network connect --link target:alias</c>): the alias resolves for it alone.</summary>
    public IReadOnlyList<string> Links { get; init; } = [];

    /// <summary>The address was asked for (--ip): it stays the container's across restarts.</summary>
    public bool StaticAddress { get; init; }

    /// <summary>Host ports published to this endpoint (the first of its container): a restarted daemon publishes them again.</summary>
    public IReadOnlyList<PublishedPort>? Published { get; init; }
}

/// <summary>An IPv4 network in host byte order: parse, contain, overlap, enumerate.</summary>
public readonly record struct Ipv4Net(uint Network, int PrefixLength)
{
    public uint Mask => PrefixLength == 0 ? 0 : uint.MaxValue << (32 - PrefixLength);

    public uint Broadcast => Network | ~Mask;

    public static Ipv4Net Parse(string cidr)
    {
        string[] parts = cidr.Split('/', 2);
        if (parts.Length != 2 || !IPAddress.TryParse(parts[0], out IPAddress? address) || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork
            || !int.TryParse(parts[1], out int prefix) || prefix is < 0 or > 32)
        {
            throw Primitives.EngineException.Invalid($"invalid CIDR address: {cidr}");
        }

        var net = new Ipv4Net(ToUInt(address), prefix);
        return net with { Network = net.Network & net.Mask };
    }

    public bool Contains(uint address) => (address & Mask) == Network;

    public bool Overlaps(Ipv4Net other)
    {
        int prefix = Math.Min(PrefixLength, other.PrefixLength);
        uint mask = prefix == 0 ? 0 : uint.MaxValue << (32 - prefix);
        return (Network & mask) == (other.Network & mask);
    }

    public override string ToString() => $"{FromUInt(Network)}/{PrefixLength}";

    public static uint ToUInt(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }

    public static IPAddress FromUInt(uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return new IPAddress(bytes);
    }

    public static uint ParseAddress(string text) =>
        IPAddress.TryParse(text, out IPAddress? address) && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            ? ToUInt(address)
            : throw Primitives.EngineException.Invalid($"invalid IPv4 address: {text}");
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(NetworkRecord))]
internal sealed partial class NetworkJsonContext : JsonSerializerContext;
