using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace Berth.Engine.Networking;

/// <summary>
/// The little of the DNS wire format (RFC 1035) the embedded server needs: read a query's single question, and
/// build an answer with A records (or an empty answer / an error) that echoes it. Anything else is forwarded raw.
/// </summary>
public static class DnsWire
{
    public const ushort TypeA = 1;
    public const ushort TypeAaaa = 28;
    public const ushort ClassIn = 1;
    public const byte NoError = 0;
    public const byte ServerFailure = 2;
    public const byte NameError = 3;

    /// <summary>A parsed question: the lower-case name without the final dot, its type and class, and where it ends.</summary>
    public readonly record struct Question(string Name, ushort Type, ushort Class, int End);

    /// <summary>Reads the first question of a standard query; null for anything malformed or not a plain query.</summary>
    public static Question? ReadQuestion(ReadOnlySpan<byte> message)
    {
        if (message.Length < 12 || (message[2] & 0x80) != 0 || ((message[2] >> 3) & 0xF) != 0 || BinaryPrimitives.ReadUInt16BigEndian(message[4..]) != 1)
        {
            return null; // a response, not a QUERY opcode, or not exactly one question
        }

        var name = new StringBuilder();
        int offset = 12;
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

    /// <summary>An answer to <paramref name="query"/>: its id and question echoed, recursion available, A records for <paramref name="addresses"/>.</summary>
    public static byte[] Answer(ReadOnlySpan<byte> query, Question question, IReadOnlyList<IPAddress> addresses, byte responseCode, uint ttl = 600)
    {
        int questionLength = question.End - 12;
        var answer = new byte[12 + questionLength + (addresses.Count * 16)];
        Span<byte> span = answer;
        query[..2].CopyTo(span); // id
        span[2] = (byte)(0x80 | (query[2] & 0x01)); // QR, opcode QUERY, RD copied
        span[3] = (byte)(0x80 | (responseCode & 0x0F)); // RA
        BinaryPrimitives.WriteUInt16BigEndian(span[4..], 1);
        BinaryPrimitives.WriteUInt16BigEndian(span[6..], (ushort)addresses.Count);
        query.Slice(12, questionLength).CopyTo(span[12..]);
        int offset = 12 + questionLength;
        foreach (IPAddress address in addresses)
        {
            BinaryPrimitives.WriteUInt16BigEndian(span[offset..], 0xC00C); // the name: a pointer to the question's
            BinaryPrimitives.WriteUInt16BigEndian(span[(offset + 2)..], TypeA);
            BinaryPrimitives.WriteUInt16BigEndian(span[(offset + 4)..], ClassIn);
            BinaryPrimitives.WriteUInt32BigEndian(span[(offset + 6)..], ttl);
            BinaryPrimitives.WriteUInt16BigEndian(span[(offset + 10)..], 4);
            address.TryWriteBytes(span[(offset + 12)..], out _);
            offset += 16;
        }

        return answer;
    }
}
