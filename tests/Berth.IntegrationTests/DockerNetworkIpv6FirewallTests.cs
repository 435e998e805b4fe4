using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>
/// IPv6 networks with ip6tables, as Docker has them: v6 between containers of a network, isolation between two v6
/// networks, MASQUERADE of the v6 subnet (a test-made namespace with no route back answers), published ports on
/// <c>::</c> too, and no ip6tables rule of the network or its ports left after rm. Only test-made bridges and links.
/// </summary>
public sealed partial class DockerNetworkTests
{
    [Fact]
    public async Task Ipv6_networks_are_isolated_nat_out_publish_ports_and_leave_no_ip6tables_rules()
    {
        string netA = Names.Unique("v6a"), netB = Names.Unique("v6b");
        string a1 = Names.Unique("a1"), a2 = Names.Unique("a2"), b1 = Names.Unique("b1"), web = Names.Unique("web6");
        string prefixA = $"fd00:{Random.Shared.Next(1, 0xffff):x}:{Random.Shared.Next(1, 0xffff):x}:a";
        string prefixB = $"fd00:{Random.Shared.Next(1, 0xffff):x}:{Random.Shared.Next(1, 0xffff):x}:b";
        string suffix = Guid.NewGuid().ToString("N")[..6];
        string ns = "btv-" + suffix, hostEnd = "btv" + suffix, farEnd = "btw" + suffix;
        string outside = $"fd77:{Random.Shared.Next(1, 0xffff):x}:{Random.Shared.Next(1, 0xffff):x}:1";
        try
        {
            Assert.Contains("IPv6: ip6tables", (await _docker.SucceedAsync("info", "-f", "{{json .FirewallBackend}}")).Stdout.Replace("[\"IPv6\",\"", "IPv6: ", StringComparison.Ordinal), StringComparison.Ordinal);
            string idA = (await _docker.SucceedAsync("network", "create", "--ipv6", "--subnet", prefixA + "::/64", netA)).Stdout.Trim();
            await _docker.SucceedAsync("network", "create", "--ipv6", "--subnet", prefixB + "::/64", netB);
            await _docker.SucceedAsync("run", "-d", "--name", a1, "--network", netA, "busybox", "sleep", "300");
            await _docker.SucceedAsync("run", "-d", "--name", a2, "--network", netA, "busybox", "sleep", "300");
            await _docker.SucceedAsync("run", "-d", "--name", b1, "--network", netB, "busybox", "sleep", "300");
            string a2v6 = await Ipv6OnAsync(a2, netA), b1v6 = await Ipv6OnAsync(b1, netB);

            await AssertPingsAsync(a1, a2v6);
            await AssertDoesNotPingAsync(a1, b1v6);
            await AssertDoesNotPingAsync(b1, a2v6);

            // NAT out over v6: the far end has no route back to the network's subnet, only to the host end.
            await Ip("netns", "add", ns);
            await Ip("link", "add", hostEnd, "type", "veth", "peer", "name", farEnd, "netns", ns);
            await Ip("addr", "add", outside + "::1/64", "dev", hostEnd, "nodad");
            await Ip("link", "set", hostEnd, "up");
            await Ip("-n", ns, "addr", "add", outside + "::2/64", "dev", farEnd, "nodad");
            await Ip("-n", ns, "link", "set", farEnd, "up");
            await AssertPingsAsync(a1, outside + "::2");

            // A port published without a host IP is published on :: too, and answers on the network's v6 gateway.
            await _docker.SucceedAsync("run", "-d", "--name", web, "--network", netA, "-p", "80", "busybox", "sh", "-c", "echo over-v6 > /tmp/index.html; httpd -f -p 80 -h /tmp");
            string[] mappings = (await _docker.SucceedAsync("port", web, "80")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            string v6Mapping = Assert.Single(mappings, m => m.StartsWith("[::]:", StringComparison.Ordinal));
            Assert.Contains(mappings, m => m.StartsWith("0.0.0.0:", StringComparison.Ordinal));
            string port = v6Mapping["[::]:".Length..];
            Assert.Contains("over-v6", await GetAsync($"http://[{prefixA}::1]:{port}/index.html"), StringComparison.Ordinal);
            Assert.Contains(idA[..12], await Ip6tablesSaveAsync(), StringComparison.Ordinal);

            await _docker.SucceedAsync("rm", "-f", a1, a2, web);
            await _docker.SucceedAsync("network", "rm", netA);
            string after = await Ip6tablesSaveAsync();
            Assert.DoesNotContain(idA[..12], after, StringComparison.Ordinal);
            Assert.DoesNotContain(prefixA, after, StringComparison.Ordinal);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(a1, a2, b1, web);
            await _docker.RunAsync("network", "rm", netA);
            await _docker.RunAsync("network", "rm", netB);
            await ProcessRunner.RunAsync("ip", ["link", "del", "dev", hostEnd]);
            await ProcessRunner.RunAsync("ip", ["netns", "del", ns]);
        }
    }

    private async Task<string> Ipv6OnAsync(string container, string network) =>
        (await _docker.SucceedAsync("inspect", "-f", $"{{{{(index .NetworkSettings.Networks \"{network}\").GlobalIPv6Address}}}}", container)).Stdout.Trim();

    private static async Task<string> Ip6tablesSaveAsync()
    {
        CommandResult saved = await ProcessRunner.RunAsync("ip6tables-save", []);
        Assert.True(saved.ExitCode == 0, saved.ToString());
        return saved.Stdout;
    }
}
