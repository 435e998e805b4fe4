using System.Buffers.Binary;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;

namespace Berth.Interop;

/// <summary>
/// rtnetlink over an AF_NETLINK socket: links (bridge, veth), addresses and routes, without spawning <c>ip</c>.
/// A socket acts on the network namespace it was opened in, whatever thread later uses it.
/// Not thread-safe: callers serialise the use of one socket.
/// </summary>
public sealed partial class RouteNetlink : IDisposable
{
    private const int AF_NETLINK = 16;
    private const int SOCK_RAW = 3;
    private const int SOCK_CLOEXEC = 0x80000;
    private const int NETLINK_ROUTE = 0;

    private const ushort NLMSG_ERROR = 2;
    private const ushort RTM_NEWLINK = 16;
    private const ushort RTM_DELLINK = 17;
    private const ushort RTM_NEWADDR = 20;
    private const ushort RTM_NEWROUTE = 24;

    private const ushort NLM_F_REQUEST = 0x1;
    private const ushort NLM_F_ACK = 0x4;
    private const ushort NLM_F_EXCL = 0x200;
    private const ushort NLM_F_CREATE = 0x400;

    private const ushort IFLA_ADDRESS = 1;
    private const ushort IFLA_IFNAME = 3;
    private const ushort IFLA_MTU = 4;
    private const ushort IFLA_MASTER = 10;
    private const ushort IFLA_LINKINFO = 18;
    private const ushort IFLA_NET_NS_FD = 28;
    private const ushort IFLA_INFO_KIND = 1;
    private const ushort IFLA_INFO_DATA = 2;
    private const ushort VETH_INFO_PEER = 1;
    private const ushort NLA_F_NESTED = 0x8000;

    private const ushort IFA_ADDRESS = 1;
    private const ushort IFA_LOCAL = 2;
    private const ushort IFA_BROADCAST = 4;

    private const ushort RTA_GATEWAY = 5;
    private const ushort RTA_OIF = 4;

    private const uint IFF_UP = 0x1;
    private const int EEXIST = 17;
    private const int ENODEV = 19;

    private readonly int _fd;
    private readonly byte[] _receive = new byte[16384];
    private uint _sequence;

    public RouteNetlink()
    {
        _fd = NativeError.Check(SysSocket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), "socket(AF_NETLINK)");
    }

    public void Dispose() => SysClose(_fd);

    /// <summary>The index of a link in the calling thread's network namespace, or 0 when there is none.</summary>
    public static int LinkIndex(string name) => (int)SysIfNameToIndex(name);

    /// <summary>Creates a bridge; true when it was created, false when a link of that name already existed.</summary>
    public bool CreateBridge(string name, int mtu)
    {
        var message = new MessageBuilder(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        message.LinkHeader(0, 0, 0);
        message.String(IFLA_IFNAME, name);
        if (mtu > 0)
        {
            message.UInt32(IFLA_MTU, (uint)mtu);
        }

        int info = message.BeginNested(IFLA_LINKINFO);
        message.String(IFLA_INFO_KIND, "bridge");
        message.EndNested(info);
        int error = Transact(message);
        if (error == EEXIST)
        {
            return false;
        }

        Throw(error, $"creating bridge {name}");
        return true;
    }

    /// <summary>
    /// Creates a veth pair: <paramref name="hostName"/> stays here, enslaved to <paramref name="masterIndex"/> and up;
    /// its peer is born inside the namespace <paramref name="namespaceFd"/> as <paramref name="peerName"/> with <paramref name="peerMac"/>.
    /// </summary>
    public void CreateVeth(string hostName, string peerName, int namespaceFd, int mtu, ReadOnlySpan<byte> peerMac, int masterIndex)
    {
        var message = new MessageBuilder(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        message.LinkHeader(0, IFF_UP, IFF_UP);
        message.String(IFLA_IFNAME, hostName);
        message.UInt32(IFLA_MTU, (uint)mtu);
        if (masterIndex > 0)
        {
            message.UInt32(IFLA_MASTER, (uint)masterIndex);
        }

        int info = message.BeginNested(IFLA_LINKINFO);
        message.String(IFLA_INFO_KIND, "veth");
        int data = message.BeginNested(IFLA_INFO_DATA);
        int peer = message.BeginNested(VETH_INFO_PEER);
        message.LinkHeader(0, 0, 0);
        message.String(IFLA_IFNAME, peerName);
        message.UInt32(IFLA_MTU, (uint)mtu);
        message.UInt32(IFLA_NET_NS_FD, (uint)namespaceFd);
        if (!peerMac.IsEmpty)
        {
            message.Bytes(IFLA_ADDRESS, peerMac);
        }

        message.EndNested(peer);
        message.EndNested(data);
        message.EndNested(info);
        Throw(Transact(message), $"creating veth {hostName}");
    }

    /// <summary>Sets a link up (or down), optionally changing its MTU.</summary>
    public void SetLinkUp(int index, bool up = true, int mtu = 0)
    {
        var message = new MessageBuilder(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK);
        message.LinkHeader(index, up ? IFF_UP : 0, IFF_UP);
        if (mtu > 0)
        {
            message.UInt32(IFLA_MTU, (uint)mtu);
        }

        Throw(Transact(message), $"setting link {index} up");
    }

    /// <summary>Deletes a link by name; a link that does not exist is not an error. Returns whether it existed.</summary>
    public bool DeleteLink(string name)
    {
        var message = new MessageBuilder(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK);
        message.LinkHeader(0, 0, 0);
        message.String(IFLA_IFNAME, name);
        int error = Transact(message);
        if (error == ENODEV)
        {
            return false;
        }

        Throw(error, $"deleting link {name}");
        return true;
    }

    /// <summary>Adds an IPv4 address with its prefix (and the broadcast address) to a link; an existing one is kept.</summary>
    public void AddAddress(int index, IPAddress address, int prefixLength)
    {
        var message = new MessageBuilder(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        Span<byte> header = message.Reserve(8);
        header[0] = 2; // AF_INET
        header[1] = (byte)prefixLength;
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], index);
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        message.Bytes(IFA_LOCAL, bytes);
        message.Bytes(IFA_ADDRESS, bytes);
        uint host = prefixLength >= 31 ? 0 : uint.MaxValue >> prefixLength;
        uint broadcast = BinaryPrimitives.ReadUInt32BigEndian(bytes) | host;
        BinaryPrimitives.WriteUInt32BigEndian(bytes, broadcast);
        message.Bytes(IFA_BROADCAST, bytes);
        int error = Transact(message);
        if (error != EEXIST)
        {
            Throw(error, $"adding address {address}/{prefixLength}");
        }
    }

    /// <summary>Adds the default route through <paramref name="gateway"/> on link <paramref name="index"/>.</summary>
    public void AddDefaultRoute(int index, IPAddress gateway)
    {
        var message = new MessageBuilder(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        Span<byte> header = message.Reserve(12);
        header[0] = 2; // AF_INET, dst_len 0: the default route
        header[4] = 254; // RT_TABLE_MAIN
        header[5] = 3; // RTPROT_BOOT
        header[6] = 0; // RT_SCOPE_UNIVERSE
        header[7] = 1; // RTN_UNICAST
        Span<byte> bytes = stackalloc byte[4];
        gateway.TryWriteBytes(bytes, out _);
        message.Bytes(RTA_GATEWAY, bytes);
        message.UInt32(RTA_OIF, (uint)index);
        Throw(Transact(message), $"adding default route via {gateway}");
    }

    private static void Throw(int error, string operation)
    {
        if (error != 0)
        {
            throw new NativeException(operation, error);
        }
    }

    /// <summary>Sends one request and returns the kernel's errno from its acknowledgement (0 for success).</summary>
    private int Transact(MessageBuilder message)
    {
        uint sequence = ++_sequence;
        byte[] buffer = message.Finish(sequence);
        int size = message.Length;
        NativeError.Retry(() => SysSendTo(_fd, buffer, (nuint)size, 0, AddressBytes, AddressBytes.Length), "netlink send");
        while (true)
        {
            int received = NativeError.Retry(() => SysRecv(_fd, _receive, (nuint)_receive.Length, 0), "netlink receive");
            int offset = 0;
            while (offset + 16 <= received)
            {
                int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(_receive.AsSpan(offset));
                ushort type = BinaryPrimitives.ReadUInt16LittleEndian(_receive.AsSpan(offset + 4));
                uint seq = BinaryPrimitives.ReadUInt32LittleEndian(_receive.AsSpan(offset + 8));
                if (length < 16)
                {
                    break;
                }

                if (type == NLMSG_ERROR && seq == sequence)
                {
                    return -BinaryPrimitives.ReadInt32LittleEndian(_receive.AsSpan(offset + 16));
                }

                offset += (length + 3) & ~3;
            }
        }
    }

    private static readonly byte[] AddressBytes = [AF_NETLINK, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    /// <summary>A netlink request built in place: header, family header, attributes (4-byte aligned).</summary>
    private sealed class MessageBuilder
    {
        private byte[] _buffer = new byte[512];

        public MessageBuilder(ushort type, ushort flags)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(4), type);
            BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(6), flags);
            Length = 16;
        }

        public int Length { get; private set; }

        public Span<byte> Reserve(int size)
        {
            int aligned = (size + 3) & ~3;
            if (Length + aligned > _buffer.Length)
            {
                Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, Length + aligned));
            }

            Span<byte> span = _buffer.AsSpan(Length, aligned);
            span.Clear();
            Length += aligned;
            return span[..size];
        }

        public void LinkHeader(int index, uint flags, uint change)
        {
            Span<byte> header = Reserve(16);
            header[0] = 0; // AF_UNSPEC
            BinaryPrimitives.WriteInt32LittleEndian(header[4..], index);
            BinaryPrimitives.WriteUInt32LittleEndian(header[8..], flags);
            BinaryPrimitives.WriteUInt32LittleEndian(header[12..], change);
        }

        public void Bytes(ushort type, ReadOnlySpan<byte> value)
        {
            Span<byte> attribute = Reserve(4 + value.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(attribute, (ushort)(4 + value.Length));
            BinaryPrimitives.WriteUInt16LittleEndian(attribute[2..], type);
            value.CopyTo(attribute[4..]);
        }

        public void String(ushort type, string value)
        {
            int count = Encoding.UTF8.GetByteCount(value);
            Span<byte> bytes = stackalloc byte[count + 1];
            Encoding.UTF8.GetBytes(value, bytes);
            bytes[count] = 0;
            Bytes(type, bytes);
        }

        public void UInt32(ushort type, uint value)
        {
            Span<byte> bytes = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
            Bytes(type, bytes);
        }

        public int BeginNested(ushort type)
        {
            int start = Length;
            Span<byte> attribute = Reserve(4);
            BinaryPrimitives.WriteUInt16LittleEndian(attribute[2..], (ushort)(type | NLA_F_NESTED));
            return start;
        }

        public void EndNested(int start) =>
            BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(start), (ushort)(Length - start));

        public byte[] Finish(uint sequence)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(_buffer, (uint)Length);
            BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(8), sequence);
            return _buffer;
        }
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int SysSocket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "sendto", SetLastError = true)]
    private static partial int SysSendTo(int fd, byte[] buffer, nuint length, int flags, byte[] address, int addressLength);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static partial int SysRecv(int fd, byte[] buffer, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int SysClose(int fd);

    [LibraryImport("libc", EntryPoint = "if_nametoindex", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial uint SysIfNameToIndex(string name);
}
