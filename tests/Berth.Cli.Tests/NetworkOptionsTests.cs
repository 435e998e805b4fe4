using Berth.Api.Types;
using Berth.Cli.Options;
using Berth.Cli.Parsing;

namespace Berth.Cli.Tests;

public class NetworkOptionsTests
{
    private static ContainerCreateRequest Request(params string[] args)
    {
        var flags = new FlagSet();
        ContainerFlags.DefineRun(flags);
        ParsedArgs parsed = flags.Parse(args, interspersed: false);
        return ContainerOptions.Build(parsed, isRun: true, _ => null, f => throw new FileNotFoundException(f), "/work").Request;
    }

    [Fact]
    public void A_user_network_carries_its_alias_and_static_address()
    {
        ContainerCreateRequest r = Request("--network", "front", "--network-alias", "web", "--ip", "10.9.0.7", "busybox");

        Assert.Equal("front", r.HostConfig!.NetworkMode);
        EndpointSettings endpoint = r.NetworkingConfig!.EndpointsConfig!["front"];
        Assert.Equal(["web"], endpoint.Aliases);
        Assert.Equal("10.9.0.7", endpoint.IPAMConfig!.IPv4Address);
    }

    [Fact]
    public void Without_ip_no_address_is_asked_for()
    {
        ContainerCreateRequest r = Request("--network", "front", "busybox");

        Assert.Null(r.NetworkingConfig!.EndpointsConfig!["front"].IPAMConfig);
    }
}
