using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Berth.Engine.Networking;

/// <summary>
/// The little of the DNS wire format (RFC 1035, 3596, 6891) the embedded server needs: read a query's single
/// question, build an answer that echoes it with A, AAAA or PTR records (or an empty answer / an error), and cut an
/// answer too big for UDP down to a truncated one. Anything else is forwarded raw. Kept small and hand-written on
/// purpose: the server answers three record types and passes every other byte through untouched, which a full DNS
/// library would parse and re-encode for nothing.
/// </summary>
public static class DnsWire
{
    public const ushort TypeA = 1;
    public const ushort TypePtr = 12;
    public const ushort TypeAaaa = 28;
    public const ushort TypeOpt = 41;
    public const ushort ClassIn = 1;
    public const byte NoError = 0;
    public const byte ServerFailure = 2;
    public const byte NameError = 3;

    /// <summary>The largest UDP answer a client without EDNS accepts (RFC 1035 4.2.1).</summary>
    public const int ClassicUdpLimit = 512;

    private const int HeaderLength = 12;
    private const byte TruncatedFlag = 0x02;

    /// <summary>A parsed question: the lower-case name without the final dot, its type and class, and where it ends.</summary>
    public readonly record struct Question(string Name, ushort Type, ushort Class, int End);

    /// <summary>One answer record's type and its encoded data (RDATA); its name is always the question's.</summary>
    public readonly record struct Record(ushort Type, byte[] Data)
    {
        public static Record Address(IPAddress address) =>
            new(address.AddressFamily == AddressFamily.InterNetworkV6 ? TypeAaaa : TypeA, address.GetAddressBytes());

        public static Record Pointer(string name) => new(TypePtr, EncodeName(name));
    }

    /// <summary>Reads the first question of a standard query; null for anything malformed or not a plain query.</summary>
    public static Question? ReadQuestion(ReadOnlySpan<byte> message)
    {
        if (message.Length < HeaderLength || (message[2] & 0x80) != 0 || ((message[2] >> 3) & 0xF) != 0 || BinaryPrimitives.ReadUInt16BigEndian(message[4..]) != 1)
        {
            return null; // a response, not a QUERY opcode, or not exactly one question
        }

        var name = new StringBuilder();
        int offset = HeaderLength;
        while (true)
        {
            if (offset >= message.Length)
            {
                return null;
            }

            int length = message[offset++];
            if (length == 0)
            {
                break;
            }

            if ((length & 0xC0) != 0 || offset + length > message.Length || name.Length + length > 253)
            {
                return null; // compression has no place in a question; overlong names are refused
            }

            if (name.Length > 0)
            {
                name.Append('.');
            }

            name.Append(Encoding.ASCII.GetString(message.Slice(offset, length)).ToLowerInvariant());
            offset += length;
        }

        if (offset + 4 > message.Length)
        {
            return null;
        }

        return new Question(name.ToString(), BinaryPrimitives.ReadUInt16BigEndian(message[offset..]), BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 2)..]), offset + 4);
    }

    /// <summary>An answer to <paramref name="query"/>: its id and question echoed, recursion available, A/AAAA records for <paramref name="addresses"/>.</summary>
    public static byte[] Answer(ReadOnlySpan<byte> query, Question question, IReadOnlyList<IPAddress> addresses, byte responseCode, uint ttl = 600) =>
        AnswerWith(query, question, [.. addresses.Select(Record.Address)], responseCode, ttl);

    /// <summary>An answer to <paramref name="query"/>: its id and question echoed, recursion available, then <paramref name="records"/>.</summary>
    public static byte[] AnswerWith(ReadOnlySpan<byte> query, Question question, IReadOnlyList<Record> records, byte responseCode, uint ttl = 600)
    {
        int questionLength = question.End - HeaderLength;
        var answer = new byte[HeaderLength + questionLength + records.Sum(r => 12 + r.Data.Length)];
        Span<byte> span = answer;
        query[..2].CopyTo(span); // id
        span[2] = (byte)(0x80 | (query[2] & 0x01)); // QR, opcode QUERY, RD copied
        span[3] = (byte)(0x80 | (responseCode & 0x0F)); // RA
        BinaryPrimitives.WriteUInt16BigEndian(span[4..], 1);
        BinaryPrimitives.WriteUInt16BigEndian(span[6..], (ushort)records.Count);
        query.Slice(HeaderLength, questionLength).CopyTo(span[HeaderLength..]);
        int offset = HeaderLength + questionLength;
        foreach (Record record in records)
        {
            BinaryPrimitives.WriteUInt16BigEndian(span[offset..], 0xC000 | HeaderLength); // the name: a pointer to the question's
            BinaryPrimitives.WriteUInt16BigEndian(span[(offset + 2)..], record.Type);
            BinaryPrimitives.WriteUInt16BigEndian(span[(offset + 4)..], ClassIn);
            BinaryPrimitives.WriteUInt32BigEndian(span[(offset + 6)..], ttl);
            BinaryPrimitives.WriteUInt16BigEndian(span[(offset + 10)..], (ushort)record.Data.Length);
            record.Data.CopyTo(span[(offset + 12)..]);
            offset += 12 + record.Data.Length;
        }

        return answer;
    }

    /// <summary>A name in wire form: length-prefixed labels and the root's zero (uncompressed: it stands alone in RDATA).</summary>
    public static byte[] EncodeName(string name)
    {
        var bytes = new List<byte>(name.Length + 2);
        foreach (string label in name.TrimEnd('.').Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            byte[] ascii = Encoding.ASCII.GetBytes(label);
            if (ascii.Length > 63)
            {
                throw new ArgumentException($"DNS label longer than 63 bytes in {name}", nameof(name));
            }

            bytes.Add((byte)ascii.Length);
            bytes.AddRange(ascii);
        }

        bytes.Add(0);
        return [.. bytes];
    }

    /// <summary>
    /// The UDP payload size the client accepts: the size of its EDNS OPT record (the first additional record right
    /// after the question), else 512.
    /// </summary>
    public static int UdpLimit(ReadOnlySpan<byte> query, Question question)
    {
        // An OPT record: root name (one zero byte), TYPE 41, CLASS = the size; only the plain layout a stub sends.
        if (BinaryPrimitives.ReadUInt16BigEndian(query[10..]) >= 1 && BinaryPrimitives.ReadUInt16BigEndian(query[6..]) == 0
            && BinaryPrimitives.ReadUInt16BigEndian(query[8..]) == 0 && question.End + 11 <= query.Length
            && query[question.End] == 0 && BinaryPrimitives.ReadUInt16BigEndian(query[(question.End + 1)..]) == TypeOpt)
        {
            return Math.Max(ClassicUdpLimit, (int)BinaryPrimitives.ReadUInt16BigEndian(query[(question.End + 3)..]));
        }

        return ClassicUdpLimit;
    }

    /// <summary>
    /// An answer that fits <paramref name="limit"/> bytes as it is, or its header and question alone with the TC bit
    /// set: the client asks again over TCP (RFC 1035 4.2.1, RFC 7766).
    /// </summary>
    public static byte[] FitUdp(byte[] answer, Question question, int limit)
    {
        if (answer.Length <= limit)
        {
            return answer;
        }

        byte[] truncated = answer[..question.End];
        truncated[2] |= TruncatedFlag;
        truncated.AsSpan(6, 6).Clear(); // no answer, authority or additional records
        return truncated;
    }

    /// <summary>Whether an answer has the TC bit.</summary>
    public static bool IsTruncated(ReadOnlySpan<byte> answer) => answer.Length >= HeaderLength && (answer[2] & TruncatedFlag) != 0;

    /// <summary>The address a reverse name stands for (<c>4.3.2.1.in-addr.arpa</c>, 32 nibbles <c>.ip6.arpa</c>), or null.</summary>
    public static IPAddress? ReverseAddress(string name)
    {
        const string v4Suffix = ".in-addr.arpa", v6Suffix = ".ip6.arpa";
        if (name.EndsWith(v4Suffix, StringComparison.Ordinal))
        {
            string[] octets = name[..^v4Suffix.Length].Split('.');
            if (octets.Length != 4)
            {
                return null;
            }

            var bytes = new byte[4];
            for (int i = 0; i < 4; i++)
            {
                if (!byte.TryParse(octets[3 - i], NumberStyles.None, CultureInfo.InvariantCulture, out bytes[i]) || octets[3 - i].Length > 3)
                {
                    return null;
                }
            }

            return new IPAddress(bytes);
        }

        if (name.EndsWith(v6Suffix, StringComparison.Ordinal))
        {
            string[] nibbles = name[..^v6Suffix.Length].Split('.');
            if (nibbles.Length != 32 || nibbles.Any(n => n.Length != 1 || !Uri.IsHexDigit(n[0])))
            {
                return null;
            }

            var bytes = new byte[16];
            for (int i = 0; i < 32; i++)
            {
                int value = Convert.ToInt32(nibbles[31 - i], 16);
                bytes[i / 2] |= (byte)(i % 2 == 0 ? value << 4 : value);
            }

            return new IPAddress(bytes);
        }

        return null;
    }
}
