using System.Net;
using Berth.Engine.Networking;
using Berth.Primitives;

namespace Berth.UnitTests;

public sealed class NetworkingTests
{
    // A query for "Web.Example" type A class IN, id 0xbeef, recursion desired (as a stub resolver sends it).
    private static readonly byte[] Query =
    [
        0xbe, 0xef, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        3, (byte)'W', (byte)'e', (byte)'b', 7, (byte)'E', (byte)'x', (byte)'a', (byte)'m', (byte)'p', (byte)'l', (byte)'e', 0,
        0x00, 0x01, 0x00, 0x01,
    ];

    [Fact]
    public void A_question_is_read_lower_case_with_its_type_class_and_end()
    {
        DnsWire.Question? question = DnsWire.ReadQuestion(Query);

        Assert.NotNull(question);
        Assert.Equal("web.example", question.Value.Name);
        Assert.Equal(DnsWire.TypeA, question.Value.Type);
        Assert.Equal(DnsWire.ClassIn, question.Value.Class);
        Assert.Equal(Query.Length, question.Value.End);
    }

    [Fact]
    public void Responses_truncated_messages_and_compressed_questions_are_not_questions()
    {
        byte[] response = [.. Query];
        response[2] |= 0x80;
        byte[] compressed = [.. Query[..12], 0xC0, 0x0C, 0x00, 0x01, 0x00, 0x01];

        Assert.Null(DnsWire.ReadQuestion(response));
        Assert.Null(DnsWire.ReadQuestion(Query.AsSpan(0, 20)));
        Assert.Null(DnsWire.ReadQuestion(compressed));
    }

    [Fact]
    public void An_answer_echoes_id_and_question_and_carries_the_a_records()
    {
        DnsWire.Question question = DnsWire.ReadQuestion(Query)!.Value;
        byte[] answer = DnsWire.Answer(Query, question, [IPAddress.Parse("172.18.0.2")], DnsWire.NoError);

        Assert.Equal([0xbe, 0xef, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0], answer[..12]);
        Assert.Equal(Query[12..], answer[12..Query.Length]);
        Assert.Equal([0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0x02, 0x58, 0, 4, 172, 18, 0, 2], answer[Query.Length..]);
    }

    [Fact]
    public void A_name_error_has_no_answers()
    {
        DnsWire.Question question = DnsWire.ReadQuestion(Query)!.Value;
        byte[] answer = DnsWire.Answer(Query, question, [], DnsWire.NameError);

        Assert.Equal(0x83, answer[3]);
        Assert.Equal(Query.Length, answer.Length);
    }

    [Theory]
    [InlineData("172.17.0.0/16", "172.17.5.9/32", true)]
    [InlineData("172.17.0.0/16", "172.18.0.0/16", false)]
    [InlineData("10.0.0.0/8", "10.200.1.0/24", true)]
    [InlineData("192.168.0.0/20", "192.168.16.0/20", false)]
    public void Subnets_overlap_when_one_contains_the_other(string a, string b, bool overlap)
    {
        Assert.Equal(overlap, Ipv4Net.Parse(a).Overlaps(Ipv4Net.Parse(b)));
        Assert.Equal(overlap, Ipv4Net.Parse(b).Overlaps(Ipv4Net.Parse(a)));
    }

    [Fact]
    public void A_subnet_is_normalised_to_its_network_address()
    {
        var net = Ipv4Net.Parse("10.1.2.3/24");

        Assert.Equal("10.1.2.0/24", net.ToString());
        Assert.True(net.Contains(Ipv4Net.ParseAddress("10.1.2.254")));
        Assert.Equal(Ipv4Net.ParseAddress("10.1.2.255"), net.Broadcast);
    }

    [Theory]
    [InlineData("10.1.2.3")]
    [InlineData("10.1.2.3/33")]
    [InlineData("nonsense/8")]
    public void Bad_cidrs_are_invalid_arguments(string cidr)
    {
        EngineException e = Assert.Throws<EngineException>(() => Ipv4Net.Parse(cidr));
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
    }
}
