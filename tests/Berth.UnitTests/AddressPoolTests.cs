using Berth.Engine;
using Berth.Engine.Networking;

namespace Berth.UnitTests;

public sealed class AddressPoolTests
{
    [Fact]
    public void Docker_defaults_are_the_private_16s_then_192_168_as_20s()
    {
        List<string> subnets = [.. DaemonDefaults.Parse(new Dictionary<string, string>()).AddressPools.SelectMany(p => p.Subnets()).Select(n => n.ToString())];
        Assert.Equal("172.17.0.0/16", subnets[0]);
        Assert.Equal("172.31.0.0/16", subnets[14]);
        Assert.Equal("192.168.0.0/20", subnets[15]);
        Assert.Equal("192.168.240.0/20", subnets[^1]);
        Assert.Equal(31, subnets.Count);
    }

    [Fact]
    public void Daemon_json_pools_split_their_base_in_order_and_skip_ipv6()
    {
        DaemonDefaults defaults = DaemonDefaults.Parse(new Dictionary<string, string>
        {
            ["default-address-pools"] = """[{"base": "10.99.0.0/16", "size": 24}, {"base": "fd00::/104", "size": 112}, {"base": "10.98.0.0/23", "size": 24}]""",
        });
        List<string> subnets = [.. defaults.AddressPools.SelectMany(p => p.Subnets()).Select(n => n.ToString())];
        Assert.Equal(258, subnets.Count);
        Assert.Equal(["10.99.0.0/24", "10.99.1.0/24"], subnets[..2]);
        Assert.Equal(["10.99.255.0/24", "10.98.0.0/24", "10.98.1.0/24"], subnets[^3..]);
    }

    [Theory]
    [InlineData("""[{"base": "10.99.0.0/16", "size": 8}]""", "size 8 must be between")]
    [InlineData("""[{"base": "10.99.0.0/16", "size": 31}]""", "size 31 must be between")]
    [InlineData("""[{"base": "not-a-net", "size": 24}]""", "invalid default address pool not-a-net")]
    [InlineData("""[{"size": 24}]""", "invalid daemon configuration")]
    [InlineData("""[{"base": "fd00::/104", "size": 112}]""", "no IPv4 pool")]
    public void Malformed_pools_are_refused_with_the_reason(string json, string message)
    {
        FormatException error = Assert.Throws<FormatException>(() => DaemonDefaults.Parse(new Dictionary<string, string> { ["default-address-pools"] = json }));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_huge_split_is_bounded()
    {
        Assert.Equal(1 << 16, AddressPool.Parse("10.0.0.0/8", 30).Subnets().Count());
    }
}
