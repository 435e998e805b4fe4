using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>
/// The embedded DNS as Docker has it: 127.0.0.11 inside every container on a user network, answering the names of
/// all the networks the asking container shares with the target, changed live by connect/disconnect, and forwarding
/// what it does not know to the container's <c>--dns</c> servers from the host's namespace.
/// </summary>
public sealed partial class DockerNetworkTests
{
    [Fact]
    public async Task A_container_on_two_networks_resolves_names_of_both_until_it_disconnects()
    {
        string net1 = Names.Unique("dn1"), net2 = Names.Unique("dn2");
        string both = Names.Unique("both"), first = Names.Unique("only1"), second = Names.Unique("only2"), plain = Names.Unique("plain");
        try
        {
            await _docker.SucceedAsync("network", "create", net1);
            await _docker.SucceedAsync("network", "create", net2);
            await _docker.SucceedAsync("run", "-d", "--name", first, "--network", net1, "busybox", "sleep", "300");
            await _docker.SucceedAsync("run", "-d", "--name", second, "--network", net2, "--network-alias", "svc2", "busybox", "sleep", "300");
            await _docker.SucceedAsync("run", "-d", "--name", both, "--network", net1, "busybox", "sleep", "300");
            await _docker.SucceedAsync("network", "connect", net2, both);
            string firstIp = await AddressOnAsync(first, net1), secondIp = await AddressOnAsync(second, net2);

            string resolvConf = (await _docker.SucceedAsync("exec", both, "cat", "/etc/resolv.conf")).Stdout;
            Assert.Contains("nameserver 127.0.0.11\n", resolvConf, StringComparison.Ordinal);
            Assert.Single(resolvConf.Split('\n'), l => l.StartsWith("nameserver", StringComparison.Ordinal));
            Assert.Contains("ndots:0", resolvConf, StringComparison.Ordinal);

            // The name of a container that is only on the second network, and its alias, and one of the first.
            Assert.Contains(secondIp, (await _docker.SucceedAsync("exec", both, "nslookup", second)).Stdout, StringComparison.Ordinal);
            Assert.Contains(secondIp, (await _docker.SucceedAsync("exec", both, "nslookup", "svc2")).Stdout, StringComparison.Ordinal);
            Assert.Contains(firstIp, (await _docker.SucceedAsync("exec", both, "nslookup", first)).Stdout, StringComparison.Ordinal);
            await AssertPingsAsync(both, second);

            // A container of the first network only does not see the second's names.
            Assert.NotEqual(0, (await _docker.RunAsync("exec", first, "nslookup", second)).ExitCode);

            // Disconnect takes the second network's names away, live; the first's stay.
            await _docker.SucceedAsync("network", "disconnect", net2, both);
            Assert.NotEqual(0, (await _docker.RunAsync("exec", both, "nslookup", second)).ExitCode);
            Assert.Contains(firstIp, (await _docker.SucceedAsync("exec", both, "nslookup", first)).Stdout, StringComparison.Ordinal);

            // Off its last user network the resolver is gone (nothing listens on 127.0.0.11 any more).
            await _docker.SucceedAsync("network", "disconnect", net1, both);
            Assert.NotEqual(0, (await _docker.RunAsync("exec", both, "nslookup", first)).ExitCode);

            // The default bridge keeps the host's resolvers, as Docker does.
            string bridgeConf = (await _docker.SucceedAsync("run", "--rm", "--name", plain, "busybox", "cat", "/etc/resolv.conf")).Stdout;
            Assert.DoesNotContain("127.0.0.11", bridgeConf, StringComparison.Ordinal);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(both, first, second, plain);
            await _docker.RunAsync("network", "rm", net1);
            await _docker.RunAsync("network", "rm", net2);
        }
    }

    [Fact]
    public async Task Unknown_names_go_to_the_containers_dns_servers_even_on_host_loopback()
    {
        string net = Names.Unique("fwd"), c = Names.Unique("asker");
        // An upstream the test controls, on a loopback address of its own (127/8 is all local on the host).
        var upstreamAddress = new IPAddress([127, 53, (byte)Random.Shared.Next(1, 250), (byte)Random.Shared.Next(1, 250)]);
        using var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        upstream.Bind(new IPEndPoint(upstreamAddress, 53));
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        Task<int> served = AnswerEveryAAsync(upstream, [192, 0, 2, 77], stop.Token);
        try
        {
            await _docker.SucceedAsync("network", "create", net);
            await _docker.SucceedAsync("run", "-d", "--name", c, "--network", net, "--dns", upstreamAddress.ToString(), "busybox", "sleep", "300");
            string resolvConf = (await _docker.SucceedAsync("exec", c, "cat", "/etc/resolv.conf")).Stdout;
            Assert.Contains("nameserver 127.0.0.11\n", resolvConf, StringComparison.Ordinal);
            Assert.Contains($"host({upstreamAddress})", resolvConf, StringComparison.Ordinal);

            CommandResult lookup = await _docker.SucceedAsync("exec", c, "nslookup", "probe.berth.test");
            Assert.Contains("192.0.2.77", lookup.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            await stop.CancelAsync();
            await served;
            await _docker.RemoveQuietlyAsync(c);
            await _docker.RunAsync("network", "rm", net);
        }
    }

    private async Task<string> AddressOnAsync(string container, string network) =>
        (await _docker.SucceedAsync("inspect", "-f", $"{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}", container)).Stdout.Trim();

    /// <summary>A one-record DNS server: every A question gets <paramref name="address"/>, anything else an empty NOERROR; returns how many it answered.</summary>
    private static async Task<int> AnswerEveryAAsync(Socket socket, byte[] address, CancellationToken stop)
    {
        var buffer = new byte[512];
        int answered = 0;
        while (!stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            int end = 12;
            while (end < received.ReceivedBytes && buffer[end] != 0)
            {
                end += buffer[end] + 1;
            }

            end += 5; // the root label, type, class
            if (end > received.ReceivedBytes)
            {
                continue;
            }

            bool isA = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(end - 4)) == 1;
            byte[] question = buffer[12..end];
            byte[] answer = isA ? [0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, .. address] : [];
            byte[] response = [buffer[0], buffer[1], 0x81, 0x80, 0, 1, 0, (byte)(isA ? 1 : 0), 0, 0, 0, 0, .. question, .. answer];
            await socket.SendToAsync(response, SocketFlags.None, received.RemoteEndPoint, CancellationToken.None);
            answered++;
        }

        return answered;
    }
}
