using Berth.Api.Types;
using Berth.Engine.Containers;
using Berth.Primitives;

namespace Berth.UnitTests;

public sealed class ContainerFieldsTests
{
    private static EngineException Refused(ContainerConfig config, HostConfig hostConfig) =>
        Assert.Throws<EngineException>(() => ContainerFields.Validate(config, hostConfig));

    [Fact]
    public void Ordinary_values_pass()
    {
        ContainerFields.Validate(
            new ContainerConfig { Hostname = "web-1.example_svc", Domainname = "example.com", Env = ["A=1", "MULTI=line1\nline2", "EMPTY="] },
            new HostConfig
            {
                ExtraHosts = ["db:10.0.0.5", "gw=host-gateway", "v6:[::1]", "v6b:fe80::1"],
                Dns = ["10.0.0.53", "::1"], DnsSearch = ["example.com", "."], DnsOptions = ["ndots:2", "rotate"],
                Sysctls = new Dictionary<string, string> { ["net.ipv4.ip_forward"] = "1" },
            });
    }

    [Theory]
    [InlineData("web\n10.0.0.1 bank.example", null, "invalid Hostname format: \"web\\x0a10.0.0.1 bank.example\"")]
    [InlineData("has space", null, "invalid Hostname format")]
    [InlineData(null, "evil.com\nnameserver 6.6.6.6", "invalid Domainname format")]
    public void Names_that_would_add_lines_or_words_are_refused(string? hostname, string? domain, string message)
    {
        EngineException error = Refused(new ContainerConfig { Hostname = hostname, Domainname = domain }, new HostConfig());
        Assert.Equal(ErrorKind.InvalidArgument, error.Kind);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_hostname_longer_than_the_kernel_allows_is_refused() =>
        Assert.Contains("at most 64 characters", Refused(new ContainerConfig { Hostname = new string('a', 65) }, new HostConfig()).Message, StringComparison.Ordinal);

    [Theory]
    [InlineData("db:10.0.0.5\n6.6.6.6 bank.example", "invalid IP address in add-host")]
    [InlineData("db bank:10.0.0.5", "invalid ExtraHosts entry")]
    [InlineData("db:not-an-ip", "invalid IP address in add-host: \"not-an-ip\"")]
    [InlineData("no-address", "expected HOST:IP")]
    public void Extra_hosts_must_be_one_name_and_one_address(string entry, string message) =>
        Assert.Contains(message, Refused(new ContainerConfig(), new HostConfig { ExtraHosts = [entry] }).Message, StringComparison.Ordinal);

    [Fact]
    public void Dns_fields_cannot_carry_a_second_resolv_conf_line()
    {
        Assert.Contains("is not an IP address", Refused(new ContainerConfig(), new HostConfig { Dns = ["10.0.0.53\nnameserver 6.6.6.6"] }).Message, StringComparison.Ordinal);
        Assert.Contains("is not a valid domain", Refused(new ContainerConfig(), new HostConfig { DnsSearch = ["a.com\nnameserver 6.6.6.6"] }).Message, StringComparison.Ordinal);
        Assert.Contains("invalid DnsOptions entry", Refused(new ContainerConfig(), new HostConfig { DnsOptions = ["ndots:1\nnameserver 6.6.6.6"] }).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Env_and_sysctls_are_checked()
    {
        Assert.Contains("invalid environment variable: =x", Refused(new ContainerConfig { Env = ["=x"] }, new HostConfig()).Message, StringComparison.Ordinal);
        Assert.Contains("invalid environment variable", Refused(new ContainerConfig { Env = [""] }, new HostConfig()).Message, StringComparison.Ordinal);
        Assert.Contains("invalid Sysctls entry", Refused(new ContainerConfig(), new HostConfig { Sysctls = new Dictionary<string, string> { ["net.a b"] = "1" } }).Message, StringComparison.Ordinal);
    }
}
