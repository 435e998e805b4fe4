using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>
/// The embedded DNS beyond A records (PTR, AAAA, TCP, TCP forwarding, link aliases), --icc=false on a user network,
/// and what links look like on user networks. Raw queries go to 127.0.0.11:53 from sockets the test makes inside the
/// asking container's network namespace (its SandboxKey), where the embedded DNS listens, as Docker's does.
/// </summary>
public sealed partial class DockerNetworkTests
{
    [Fact]
    public async Task The_embedded_dns_answers_ptr_aaaa_and_over_tcp_and_forwards_tcp()
    {
        string net = Names.Unique("dns"), web = Names.Unique("web");
        try
        {
            await _docker.SucceedAsync("network", "create", net);
            await _docker.SucceedAsync("run", "-d", "--name", web, "--network", net, "busybox", "sleep", "300");
            string ip = (await _docker.SucceedAsync("inspect", "-f", $"{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}", web)).Stdout.Trim();
            string sandbox = await SandboxOfAsync(web);

            byte[] a = await UdpQueryAsync(sandbox, Query(web, 1));
            Assert.Equal((0, 1), (ResponseCode(a), AnswerCount(a)));
            Assert.Equal(IPAddress.Parse(ip).GetAddressBytes(), a[^4..]);

            // AAAA of a name without IPv6: the name exists (NOERROR), with no answer, as Docker answers.
            byte[] aaaa = await UdpQueryAsync(sandbox, Query(web, 28));
            Assert.Equal((0, 0), (ResponseCode(aaaa), AnswerCount(aaaa)));

            string reverse = string.Join('.', ip.Split('.').Reverse()) + ".in-addr.arpa";
            byte[] ptr = await UdpQueryAsync(sandbox, Query(reverse, 12));
            Assert.Equal((0, 1), (ResponseCode(ptr), AnswerCount(ptr)));
            Assert.EndsWith(Encoding.ASCII.GetString(WireName($"{web}.{net}")), Encoding.ASCII.GetString(ptr), StringComparison.Ordinal);

            byte[] overTcp = await TcpQueryAsync(sandbox, Query(web, 1));
            Assert.Equal((0, 1), (ResponseCode(overTcp), AnswerCount(overTcp)));
            Assert.Equal(IPAddress.Parse(ip).GetAddressBytes(), overTcp[^4..]);

            // A name that is not the network's goes to the host's resolvers over TCP too: our answer carries the rcode the
            // host's first resolver gives over TCP; where that port is not a DNS server (some sandboxes), a clean SERVFAIL.
            byte[] forwarded = await TcpQueryAsync(sandbox, Query("deb.debian.org", 1));
            Assert.Equal([0x12, 0xab], forwarded[..2]);
            Assert.True((forwarded[2] & 0x80) != 0);
            int? upstream = await UpstreamTcpResponseCodeAsync(Query("deb.debian.org", 1));
            Assert.Equal(upstream ?? 2, ResponseCode(forwarded));

            // And a container's own resolver sees the PTR (busybox nslookup asks the embedded DNS of its network).
            CommandResult lookup = await _docker.SucceedAsync("exec", web, "nslookup", ip);
            Assert.Contains($"{web}.{net}", lookup.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(web);
            await _docker.RunAsync("network", "rm", net);
        }
    }

    [Fact]
    public async Task Network_connect_link_gives_the_alias_to_the_linking_container_only()
    {
        string net = Names.Unique("lnk"), db = Names.Unique("db"), app = Names.Unique("app"), other = Names.Unique("oth");
        try
        {
            await _docker.SucceedAsync("network", "create", net);
            await _docker.SucceedAsync("run", "-d", "--name", db, "--network", net, "busybox", "sleep", "300");
            await _docker.SucceedAsync("run", "-d", "--name", other, "--network", net, "busybox", "sleep", "300");
            await _docker.SucceedAsync("create", "--name", app, "--network", net, "busybox", "sleep", "300");
            await _docker.SucceedAsync("network", "disconnect", net, app);
            await _docker.SucceedAsync("network", "connect", "--link", db + ":store", net, app);
            await _docker.SucceedAsync("start", app);
            string links = (await _docker.SucceedAsync("inspect", "-f", $"{{{{(index .NetworkSettings.Networks \"{net}\").Links}}}}", app)).Stdout.Trim();
            Assert.Equal($"[{db}:store]", links);

            string dbIp = (await _docker.SucceedAsync("inspect", "-f", $"{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}", db)).Stdout.Trim();
            CommandResult resolved = await _docker.SucceedAsync("exec", app, "nslookup", "store");
            Assert.Contains(dbIp, resolved.Stdout, StringComparison.Ordinal);
            await AssertPingsAsync(app, "store");

            CommandResult elsewhere = await _docker.RunAsync("exec", other, "ping", "-c", "1", "-W", "1", "store");
            Assert.True(elsewhere.ExitCode != 0, "the alias is the linking container's alone: " + elsewhere);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(app, db, other);
            await _docker.RunAsync("network", "rm", net);
        }
    }

    [Fact]
    public async Task Icc_disabled_on_a_network_blocks_container_traffic_but_not_nat()
    {
        string net = Names.Unique("noicc"), c1 = Names.Unique("i1"), c2 = Names.Unique("i2");
        string suffix = Guid.NewGuid().ToString("N")[..6];
        string ns = "bti-" + suffix, hostEnd = "bti" + suffix, farEnd = "btj" + suffix;
        int octet = Random.Shared.Next(2, 250);
        string hostIp = $"198.19.{octet}.1", farIp = $"198.19.{octet}.2";
        try
        {
            await _docker.SucceedAsync("network", "create", "-o", "com.docker.network.bridge.enable_icc=false", net);
            Assert.Equal("false", (await _docker.SucceedAsync("network", "inspect", "-f", "{{index .Options \"com.docker.network.bridge.enable_icc\"}}", net)).Stdout.Trim());
            await _docker.SucceedAsync("run", "-d", "--name", c1, "--network", net, "busybox", "sleep", "300");
            await _docker.SucceedAsync("run", "-d", "--name", c2, "--network", net, "busybox", "sleep", "300");
            string c1Ip = (await _docker.SucceedAsync("inspect", "-f", $"{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}", c1)).Stdout.Trim();

            // The name still resolves (DNS is inside the container), the traffic between the two does not pass.
            CommandResult blocked = await _docker.RunAsync("exec", c2, "ping", "-c", "2", "-W", "1", c1);
            Assert.True(blocked.ExitCode != 0, blocked.ToString());
            Assert.DoesNotContain("bad address", blocked.Stdout + blocked.Stderr, StringComparison.Ordinal);
            await AssertDoesNotPingAsync(c2, c1Ip);

            // NAT out still works: a test-made namespace with no route back to the containers answers.
            await Ip("netns", "add", ns);
            await Ip("link", "add", hostEnd, "type", "veth", "peer", "name", farEnd, "netns", ns);
            await Ip("addr", "add", hostIp + "/30", "dev", hostEnd);
            await Ip("link", "set", hostEnd, "up");
            await Ip("-n", ns, "addr", "add", farIp + "/30", "dev", farEnd);
            await Ip("-n", ns, "link", "set", farEnd, "up");
            await AssertPingsAsync(c2, farIp);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(c1, c2);
            await _docker.RunAsync("network", "rm", net);
            await ProcessRunner.RunAsync("ip", ["link", "del", "dev", hostEnd]);
            await ProcessRunner.RunAsync("ip", ["netns", "del", ns]);
        }
    }

    [Fact]
    public async Task An_ipv6_network_gives_containers_a_v6_address_a_route_and_aaaa_records()
    {
        string net = Names.Unique("v6"), c1 = Names.Unique("s1"), c2 = Names.Unique("s2");
        string prefix = $"fd00:{Random.Shared.Next(1, 0xffff):x}:{Random.Shared.Next(1, 0xffff):x}:1";
        try
        {
            await _docker.SucceedAsync("network", "create", "--ipv6", "--subnet", prefix + "::/64", net);
            Assert.Equal($"true {prefix}::/64 {prefix}::1", (await _docker.SucceedAsync("network", "inspect", "-f", "{{.EnableIPv6}} {{(index .IPAM.Config 1).Subnet}} {{(index .IPAM.Config 1).Gateway}}", net)).Stdout.Trim());
            await _docker.SucceedAsync("run", "-d", "--name", c1, "--network", net, "busybox", "sleep", "300");
            await _docker.SucceedAsync("run", "-d", "--name", c2, "--network", net, "--ip6", prefix + "::99", "busybox", "sleep", "300");
            string v6 = (await _docker.SucceedAsync("inspect", "-f", $"{{{{(index .NetworkSettings.Networks \"{net}\").GlobalIPv6Address}}}}", c1)).Stdout.Trim();
            Assert.Equal(prefix + "::2", v6);

            string addresses = (await _docker.SucceedAsync("exec", c2, "ip", "-6", "addr", "show", "eth0")).Stdout;
            Assert.Contains($"inet6 {prefix}::99/64", addresses, StringComparison.Ordinal);
            string routes = (await _docker.SucceedAsync("exec", c2, "ip", "-6", "route")).Stdout;
            Assert.Contains($"default via {prefix}::1 dev eth0", routes, StringComparison.Ordinal);
            await AssertPingsAsync(c2, v6);

            byte[] aaaa = await UdpQueryAsync(await SandboxOfAsync(c2), Query(c1, 28));
            Assert.Equal((0, 1), (ResponseCode(aaaa), AnswerCount(aaaa)));
            Assert.Equal(IPAddress.Parse(v6).GetAddressBytes(), aaaa[^16..]);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(c1, c2);
            await _docker.RunAsync("network", "rm", net);
        }
    }

    /// <summary>A query (id 0x12ab, RD) for <paramref name="name"/> of <paramref name="type"/>, class IN.</summary>
    private static byte[] Query(string name, ushort type) =>
        [0x12, 0xab, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, .. WireName(name), (byte)(type >> 8), (byte)type, 0, 1];

    private static byte[] WireName(string name) =>
        [.. name.Split('.').SelectMany(label => (byte[])[(byte)label.Length, .. Encoding.ASCII.GetBytes(label)]), 0];

    private static int ResponseCode(byte[] answer) => answer[3] & 0x0F;

    private static int AnswerCount(byte[] answer) => BinaryPrimitives.ReadUInt16BigEndian(answer.AsSpan(6));

    private static readonly IPEndPoint EmbeddedDns = new(IPAddress.Parse("127.0.0.11"), 53);

    /// <summary>A running container's network namespace (its pinned nsfs file).</summary>
    private async Task<string> SandboxOfAsync(string container) =>
        (await _docker.SucceedAsync("inspect", "-f", "{{.NetworkSettings.SandboxKey}}", container)).Stdout.Trim();

    /// <summary>A socket made inside the namespace at <paramref name="sandbox"/>: it stays there whichever thread uses it.</summary>
    private static async Task<Socket> SocketInsideAsync(string sandbox, SocketType type, ProtocolType protocol)
    {
        Socket? socket = null;
        await global::Berth.Interop.NetworkNamespace.RunInsideAsync(sandbox, _ => socket = new Socket(AddressFamily.InterNetwork, type, protocol));
        return socket!;
    }

    /// <summary>A query to the embedded DNS of the container whose namespace is <paramref name="sandbox"/>, over UDP.</summary>
    private static async Task<byte[]> UdpQueryAsync(string sandbox, byte[] query)
    {
        using Socket client = await SocketInsideAsync(sandbox, SocketType.Dgram, ProtocolType.Udp);
        await client.ConnectAsync(EmbeddedDns);
        var buffer = new byte[4096];
        for (int attempt = 0; attempt < 3; attempt++)
        {
            await client.SendAsync(query);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                int length = await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                return buffer[..length];
            }
            catch (OperationCanceledException)
            {
            }
        }

        throw new TimeoutException($"no DNS answer from {EmbeddedDns} in {sandbox} over UDP");
    }

    /// <summary>The rcode the host's first resolver answers over TCP, or null when that port does not speak DNS.</summary>
    private static async Task<int?> UpstreamTcpResponseCodeAsync(byte[] query)
    {
        string? nameserver = File.ReadLines("/etc/resolv.conf").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .FirstOrDefault(w => w.Length >= 2 && w[0] == "nameserver")?[1];
        if (nameserver is null)
        {
            return null;
        }

        try
        {
            using var client = new TcpClient(AddressFamily.InterNetwork);
            byte[] answer = await TcpQueryAsync(client.Client, new IPEndPoint(IPAddress.Parse(nameserver), 53), query);
            return answer.Length >= 12 && answer[0] == query[0] && answer[1] == query[1] && (answer[2] & 0x80) != 0 ? ResponseCode(answer) : null;
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>A query to the embedded DNS of the container whose namespace is <paramref name="sandbox"/>, over TCP.</summary>
    private static async Task<byte[]> TcpQueryAsync(string sandbox, byte[] query)
    {
        using Socket client = await SocketInsideAsync(sandbox, SocketType.Stream, ProtocolType.Tcp);
        return await TcpQueryAsync(client, EmbeddedDns, query);
    }

    private static async Task<byte[]> TcpQueryAsync(Socket client, IPEndPoint server, byte[] query)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client.ConnectAsync(server, timeout.Token);
        using var stream = new NetworkStream(client, ownsSocket: false);
        await stream.WriteAsync((byte[])[(byte)(query.Length >> 8), (byte)query.Length, .. query], timeout.Token);
        var prefix = new byte[2];
        await stream.ReadExactlyAsync(prefix, timeout.Token);
        var answer = new byte[(prefix[0] << 8) | prefix[1]];
        await stream.ReadExactlyAsync(answer, timeout.Token);
        return answer;
    }
}
