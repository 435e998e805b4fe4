using System.Buffers.Binary;
using System.Net;
using Berth.Engine.Networking;

namespace Berth.UnitTests;

/// <summary>The embedded DNS's wire format: compression pointers, PTR/AAAA records, UDP truncation, malformed input.</summary>
public sealed class DnsWireTests
{
    /// <summary>A query (id 0x1234, RD) for <paramref name="name"/> of <paramref name="type"/>, optionally with an EDNS OPT record of <paramref name="udpSize"/>.</summary>
    private static byte[] Query(string name, ushort type, ushort udpSize = 0)
    {
        var bytes = new List<byte> { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, (byte)(udpSize > 0 ? 1 : 0) };
        bytes.AddRange(DnsWire.EncodeName(name));
        bytes.AddRange([(byte)(type >> 8), (byte)type, 0, 1]);
        if (udpSize > 0)
        {
            bytes.AddRange([0, 0, 41, (byte)(udpSize >> 8), (byte)udpSize, 0, 0, 0, 0, 0, 0]);
        }

        return [.. bytes];
    }

    [Fact]
    public void Every_answer_names_the_question_through_a_pointer_to_offset_12()
    {
        byte[] query = Query("db.example", DnsWire.TypeA);
        DnsWire.Question question = DnsWire.ReadQuestion(query)!.Value;
        byte[] answer = DnsWire.Answer(query, question, [IPAddress.Parse("10.0.0.2"), IPAddress.Parse("10.0.0.3")], DnsWire.NoError);

        Assert.Equal(2, BinaryPrimitives.ReadUInt16BigEndian(answer.AsSpan(6)));
        int first = question.End, second = question.End + 16;
        Assert.Equal(0xC00C, BinaryPrimitives.ReadUInt16BigEndian(answer.AsSpan(first)));
        Assert.Equal(0xC00C, BinaryPrimitives.ReadUInt16BigEndian(answer.AsSpan(second)));
        Assert.Equal([10, 0, 0, 3], answer[(second + 12)..]);

        // What the pointer points at reads back as the question's name.
        Assert.Equal("db.example", DnsWire.ReadQuestion(ClearResponseBit(answer[..question.End]))!.Value.Name);
    }

    private static byte[] ClearResponseBit(byte[] message)
    {
        message[2] &= 0x7F;
        message[6] = message[7] = 0;
        return message;
    }

    [Fact]
    public void A_ptr_answer_carries_the_name_uncompressed_and_an_aaaa_answer_sixteen_bytes()
    {
        byte[] query = Query("2.0.18.172.in-addr.arpa", DnsWire.TypePtr);
        DnsWire.Question question = DnsWire.ReadQuestion(query)!.Value;
        byte[] answer = DnsWire.AnswerWith(query, question, [DnsWire.Record.Pointer("web.mynet")], DnsWire.NoError);

        int record = question.End;
        Assert.Equal(DnsWire.TypePtr, BinaryPrimitives.ReadUInt16BigEndian(answer.AsSpan(record + 2)));
        Assert.Equal(11, BinaryPrimitives.ReadUInt16BigEndian(answer.AsSpan(record + 10)));
        Assert.Equal([3, (byte)'w', (byte)'e', (byte)'b', 5, (byte)'m', (byte)'y', (byte)'n', (byte)'e', (byte)'t', 0], answer[(record + 12)..]);

        byte[] v6 = DnsWire.Answer(query, question, [IPAddress.Parse("fd00::5")], DnsWire.NoError);
        Assert.Equal(DnsWire.TypeAaaa, BinaryPrimitives.ReadUInt16BigEndian(v6.AsSpan(record + 2)));
        Assert.Equal(16, BinaryPrimitives.ReadUInt16BigEndian(v6.AsSpan(record + 10)));
        Assert.Equal(IPAddress.Parse("fd00::5").GetAddressBytes(), v6[(record + 12)..]);
    }

    [Theory]
    [InlineData("2.0.18.172.in-addr.arpa", "172.18.0.2")]
    [InlineData("5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa", "fd00::5")]
    [InlineData("1.2.3.in-addr.arpa", null)]
    [InlineData("256.0.0.10.in-addr.arpa", null)]
    [InlineData("x.0.0.10.in-addr.arpa", null)]
    [InlineData("web.mynet", null)]
    public void Reverse_names_map_to_their_address(string name, string? expected)
    {
        Assert.Equal(expected, DnsWire.ReverseAddress(name)?.ToString());
    }

    [Fact]
    public void An_answer_over_the_udp_limit_is_cut_to_its_question_with_the_tc_bit()
    {
        byte[] query = Query("many.example", DnsWire.TypeA);
        DnsWire.Question question = DnsWire.ReadQuestion(query)!.Value;
        IPAddress[] addresses = [.. Enumerable.Range(1, 40).Select(i => IPAddress.Parse($"10.1.0.{i}"))];
        byte[] full = DnsWire.Answer(query, question, addresses, DnsWire.NoError);
        Assert.True(full.Length > DnsWire.ClassicUdpLimit);

        byte[] cut = DnsWire.FitUdp(full, question, DnsWire.UdpLimit(query, question));

        Assert.True(DnsWire.IsTruncated(cut));
        Assert.Equal(question.End, cut.Length);
        Assert.Equal(0, BinaryPrimitives.ReadUInt16BigEndian(cut.AsSpan(6)));
        Assert.Equal(query[12..question.End], cut[12..]);
        Assert.False(DnsWire.IsTruncated(full));
    }

    [Fact]
    public void An_edns_client_gets_what_fits_its_advertised_size()
    {
        byte[] query = Query("many.example", DnsWire.TypeA, udpSize: 1232);
        DnsWire.Question question = DnsWire.ReadQuestion(query)!.Value;
        Assert.Equal(1232, DnsWire.UdpLimit(query, question));
        byte[] full = DnsWire.Answer(query, question, [.. Enumerable.Range(1, 40).Select(i => IPAddress.Parse($"10.1.0.{i}"))], DnsWire.NoError);

        Assert.Same(full, DnsWire.FitUdp(full, question, DnsWire.UdpLimit(query, question)));
        Assert.Equal(DnsWire.ClassicUdpLimit, DnsWire.UdpLimit(Query("a.b", DnsWire.TypeA), DnsWire.ReadQuestion(Query("a.b", DnsWire.TypeA))!.Value));
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0 })] // a header cut short
    [InlineData(new byte[] { 0x12, 0x34, 0x01, 0x00, 0, 2, 0, 0, 0, 0, 0, 0, 1, (byte)'a', 0, 0, 1, 0, 1 })] // two questions announced
    [InlineData(new byte[] { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 9, (byte)'a', 0, 0, 1, 0, 1 })] // a label past the end
    [InlineData(new byte[] { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 1, (byte)'a' })] // no root label
    [InlineData(new byte[] { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 1, (byte)'a', 0, 0, 1 })] // no class
    [InlineData(new byte[] { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1 })] // a pointer loop in the question
    [InlineData(new byte[] { 0x12, 0x34, 0x29, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 1, (byte)'a', 0, 0, 1, 0, 1 })] // opcode UPDATE
    public void Malformed_packets_are_no_question(byte[] packet)
    {
        Assert.Null(DnsWire.ReadQuestion(packet));
    }

    [Fact]
    public void An_overlong_name_is_refused()
    {
        string label = new('a', 63);
        byte[] query = Query(string.Join('.', Enumerable.Repeat(label, 5)), DnsWire.TypeA);

        Assert.Null(DnsWire.ReadQuestion(query));
        Assert.Throws<ArgumentException>(() => DnsWire.EncodeName(new string('b', 64) + ".example"));
    }
}
