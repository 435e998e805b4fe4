using Berth.Api.Types;

namespace Berth.UnitTests;

public class DetachKeysTests
{
    [Theory]
    [InlineData(null, new byte[] { 0x10, 0x11 })]
    [InlineData("ctrl-a,x", new byte[] { 0x01, (byte)'x' })]
    [InlineData("ctrl-@,ctrl-_", new byte[] { 0x00, 0x1f })]
    public void Keys_parse_as_docker_reads_them(string? keys, byte[] expected) => Assert.Equal(expected, DetachKeys.Parse(keys));

    [Theory]
    [InlineData("ctrl-")]
    [InlineData("ctrl-1")]
    [InlineData("ab")]
    public void Invalid_keys_are_refused(string keys) => Assert.Null(DetachKeys.Parse(keys));

    [Fact]
    public void A_partial_match_is_held_back_and_passed_on_when_it_breaks()
    {
        var matcher = new DetachKeyMatcher([0x10, 0x11]);
        byte[] output = new byte[16];
        Assert.Equal(1, matcher.Feed([(byte)'a', 0x10], output));
        Assert.Equal((byte)'a', output[0]);
        Assert.Equal(3, matcher.Feed([0x10, (byte)'b'], output)); // the held ctrl-p, then a new one held... broken by b
        Assert.Equal([0x10, 0x10, (byte)'b'], output[..3]);
        Assert.Equal(0, matcher.Feed([0x10], output));
        Assert.Equal(-1, matcher.Feed([0x11], output));
    }
}
