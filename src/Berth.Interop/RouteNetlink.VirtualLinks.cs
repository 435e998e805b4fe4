using System.Buffers.Binary;
using System.Net;

namespace Berth.Interop;

/// <summary>Links stacked on another link (macvlan, 802.1q VLAN), dummy links, and IPv6 addresses and routes.</summary>
public sealed partial class RouteNetlink
{
    private const ushort IFLA_LINK = 5;
    private const ushort IFLA_MACVLAN_MODE = 1;
    private const ushort IFLA_VLAN_ID = 1;
    private const int AF_INET6 = 10;
    private const int EOPNOTSUPP = 95;

    /// <summary>The kernel lacks the link type asked for (built without it, no module to load).</summary>
    public static bool IsUnsupportedLinkType(NativeException exception) => exception.Errno == EOPNOTSUPP;

    /// <summary>The kernel's macvlan modes (linux/if_link.h MACVLAN_MODE_*), by Docker's <c>macvlan_mode</c> names.</summary>
    public static uint MacvlanMode(string name) => name switch
    {
        "private" => 1,
        "vepa" => 2,
        "bridge" => 4,
        "passthru" => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown macvlan mode"),
    };

    /// <summary>
    /// Creates a macvlan link on <paramref name="parentIndex"/> (a link of this socket's namespace), born inside the
    /// namespace <paramref name="namespaceFd"/> as <paramref name="name"/> with <paramref name="mac"/>.
    /// </summary>
    public void CreateMacvlan(string name, int parentIndex, uint mode, int namespaceFd, int mtu, ReadOnlySpan<byte> mac)
    {
        var message = new MessageBuilder(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        message.LinkHeader(0, 0, 0);
        message.String(IFLA_IFNAME, name);
        message.UInt32(IFLA_LINK, (uint)parentIndex);
        message.UInt32(IFLA_NET_NS_FD, (uint)namespaceFd);
        if (mtu > 0)
        {
            message.UInt32(IFLA_MTU, (uint)mtu);
        }

        if (!mac.IsEmpty)
        {
            message.Bytes(IFLA_ADDRESS, mac);
        }

        int info = message.BeginNested(IFLA_LINKINFO);
        message.String(IFLA_INFO_KIND, "macvlan");
        int data = message.BeginNested(IFLA_INFO_DATA);
        message.UInt32(IFLA_MACVLAN_MODE, mode);
        message.EndNested(data);
        message.EndNested(info);
        Throw(Transact(message), $"creating macvlan {name}");
    }

    /// <summary>Creates an 802.1q VLAN link <paramref name="name"/> with <paramref name="vlanId"/> on <paramref name="parentIndex"/>; false when it existed.</summary>
    public bool CreateVlan(string name, int parentIndex, int vlanId)
    {
        var message = new MessageBuilder(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        message.LinkHeader(0, 0, 0);
        message.String(IFLA_IFNAME, name);
        message.UInt32(IFLA_LINK, (uint)parentIndex);
        int info = message.BeginNested(IFLA_LINKINFO);
        message.String(IFLA_INFO_KIND, "vlan");
        int data = message.BeginNested(IFLA_INFO_DATA);
        Span<byte> id = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(id, (ushort)vlanId);
        message.Bytes(IFLA_VLAN_ID, id);
        message.EndNested(data);
        message.EndNested(info);
        return CreateOrExists(message, $"creating vlan {name}");
    }

    /// <summary>Creates a dummy link (a parent that leads nowhere); false when it existed.</summary>
    public bool CreateDummy(string name)
    {
        var message = new MessageBuilder(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        message.LinkHeader(0, 0, 0);
        message.String(IFLA_IFNAME, name);
        int info = message.BeginNested(IFLA_LINKINFO);
        message.String(IFLA_INFO_KIND, "dummy");
        message.EndNested(info);
        return CreateOrExists(message, $"creating dummy {name}");
    }

    private bool CreateOrExists(MessageBuilder message, string operation)
    {
        int error = Transact(message);
        if (error == EEXIST)
        {
            return false;
        }

        Throw(error, operation);
        return true;
    }

    /// <summary>Adds an IPv6 address with its prefix to a link (no duplicate address detection: the address is ours); an existing one is kept.</summary>
    public void AddAddress6(int index, IPAddress address, int prefixLength)
    {
        const byte IFA_F_NODAD = 0x02;
        var message = new MessageBuilder(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        Span<byte> header = message.Reserve(8);
        header[0] = AF_INET6;
        header[1] = (byte)prefixLength;
        header[2] = IFA_F_NODAD;
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], index);
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        message.Bytes(IFA_LOCAL, bytes);
        message.Bytes(IFA_ADDRESS, bytes);
        int error = Transact(message);
        if (error != EEXIST)
        {
            Throw(error, $"adding address {address}/{prefixLength}");
        }
    }

    /// <summary>Adds the IPv6 default route through <paramref name="gateway"/> on link <paramref name="index"/>.</summary>
    public void AddDefaultRoute6(int index, IPAddress gateway)
    {
        var message = new MessageBuilder(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        Span<byte> header = message.Reserve(12);
        header[0] = AF_INET6;
        header[4] = 254; // RT_TABLE_MAIN
        header[5] = 3; // RTPROT_BOOT
        header[6] = 0; // RT_SCOPE_UNIVERSE
        header[7] = 1; // RTN_UNICAST
        Span<byte> bytes = stackalloc byte[16];
        gateway.TryWriteBytes(bytes, out _);
        message.Bytes(RTA_GATEWAY, bytes);
        message.UInt32(RTA_OIF, (uint)index);
        Throw(Transact(message), $"adding default route via {gateway}");
    }
}
