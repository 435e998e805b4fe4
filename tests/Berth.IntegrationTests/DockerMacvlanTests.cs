using System.Diagnostics;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>
/// macvlan networks with the real docker CLI. The parent is always one the test makes (a veth pair, both ends up:
/// this kernel has no dummy link type) and deletes, never a host interface.
/// </summary>
public sealed class DockerMacvlanTests(DaemonFixture fixture)
{
    private readonly DockerCli _docker = fixture.Docker;

    [Fact]
    public async Task Containers_on_a_macvlan_network_reach_each_other_and_their_links_go_with_them()
    {
        string suffix = Guid.NewGuid().ToString("N")[..6];
        string parent = "bmvp" + suffix, peer = "bmvq" + suffix;
        string net = Names.Unique("mvlan"), c1 = Names.Unique("mv1"), c2 = Names.Unique("mv2");
        string prefix = $"10.{Random.Shared.Next(100, 200)}.{Random.Shared.Next(0, 250)}";
        try
        {
            await Ip("link", "add", parent, "type", "veth", "peer", "name", peer);
            await Ip("link", "set", peer, "up");
            await Ip("link", "set", parent, "up");
            await _docker.SucceedAsync("network", "create", "-d", "macvlan", "--subnet", prefix + ".0/24", "--gateway", prefix + ".1", "--ip-range", prefix + ".64/26", "-o", "parent=" + parent, net);
            Assert.Equal($"macvlan {parent}", (await _docker.SucceedAsync("network", "inspect", "-f", "{{.Driver}} {{.Options.parent}}", net)).Stdout.Trim());

            await _docker.SucceedAsync("run", "-d", "--name", c1, "--network", net, "busybox", "sleep", "300");
            await _docker.SucceedAsync("run", "-d", "--name", c2, "--network", net, "--ip", prefix + ".20", "busybox", "sleep", "300");
            string c1Ip = (await _docker.SucceedAsync("inspect", "-f", $"{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}", c1)).Stdout.Trim();
            Assert.Equal(prefix + ".65", c1Ip); // the first address of --ip-range
            string route = (await _docker.SucceedAsync("exec", c2, "ip", "route")).Stdout;
            Assert.Contains($"default via {prefix}.1 dev eth0", route, StringComparison.Ordinal);

            // No veth on the host: the container's eth0 is a macvlan of the parent, which now has uppers (promiscuous).
            Assert.True(await ParentPromiscuityAsync(parent) > 0);
            await AssertPingsAsync(c1, prefix + ".20");
            await AssertPingsAsync(c2, c1Ip);

            // The embedded DNS serves macvlan networks too, inside the container (127.0.0.11).
            Assert.Contains("nameserver 127.0.0.11", (await _docker.SucceedAsync("exec", c2, "cat", "/etc/resolv.conf")).Stdout, StringComparison.Ordinal);
            Assert.Contains(c1Ip, (await _docker.SucceedAsync("exec", c2, "nslookup", c1)).Stdout, StringComparison.Ordinal);
            await AssertPingsAsync(c2, c1);

            // disconnect deletes the link inside c2's namespace, live.
            await _docker.SucceedAsync("network", "disconnect", net, c2);
            Assert.Equal("lo", (await _docker.SucceedAsync("exec", c2, "ls", "/sys/class/net")).Stdout.Trim());
            CommandResult gone = await _docker.RunAsync("exec", c1, "ping", "-c", "1", "-W", "1", prefix + ".20");
            Assert.True(gone.ExitCode != 0, gone.ToString());

            await _docker.SucceedAsync("rm", "-f", c1, c2);
            await WaitUntilAsync(async () => await ParentPromiscuityAsync(parent) == 0, "the macvlan links on " + parent + " to go");
            await _docker.SucceedAsync("network", "rm", net);
            Assert.True(Directory.Exists("/sys/class/net/" + parent), "a parent the user gave stays");
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(c1, c2);
            await _docker.RunAsync("network", "rm", net);
            await ProcessRunner.RunAsync("ip", ["link", "del", "dev", parent]);
        }
    }

    [Fact]
    public async Task A_private_macvlan_network_keeps_its_containers_apart()
    {
        string suffix = Guid.NewGuid().ToString("N")[..6];
        string parent = "bmvp" + suffix, peer = "bmvq" + suffix;
        string net = Names.Unique("mvpriv"), c1 = Names.Unique("mp1"), c2 = Names.Unique("mp2");
        string prefix = $"10.{Random.Shared.Next(100, 200)}.{Random.Shared.Next(0, 250)}";
        try
        {
            await Ip("link", "add", parent, "type", "veth", "peer", "name", peer);
            await Ip("link", "set", peer, "up");
            await Ip("link", "set", parent, "up");
            await _docker.SucceedAsync("network", "create", "-d", "macvlan", "--subnet", prefix + ".0/24", "-o", "parent=" + parent, "-o", "macvlan_mode=private", net);
            await _docker.SucceedAsync("run", "-d", "--name", c1, "--network", net, "busybox", "sleep", "300");
            await _docker.SucceedAsync("run", "-d", "--name", c2, "--network", net, "busybox", "sleep", "300");
            string c2Ip = (await _docker.SucceedAsync("inspect", "-f", $"{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}", c2)).Stdout.Trim();
            CommandResult ping = await _docker.RunAsync("exec", c1, "ping", "-c", "2", "-W", "1", c2Ip);
            Assert.True(ping.ExitCode != 0, "private mode must not bridge its containers: " + ping);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(c1, c2);
            await _docker.RunAsync("network", "rm", net);
            await ProcessRunner.RunAsync("ip", ["link", "del", "dev", parent]);
        }
    }

    [Fact]
    public async Task Macvlan_create_answers_dockers_errors()
    {
        string missing = "bnop" + Guid.NewGuid().ToString("N")[..6];
        string net = Names.Unique("mvbad");
        try
        {
            CommandResult noSuchParent = await _docker.RunAsync("network", "create", "-d", "macvlan", "-o", "parent=" + missing, net);
            Assert.Contains($"invalid subinterface vlan name {missing}, example formatting is eth0.10", noSuchParent.Stderr, StringComparison.Ordinal);
            CommandResult noSuchLower = await _docker.RunAsync("network", "create", "-d", "macvlan", "-o", $"parent={missing}.10", net);
            Assert.Contains($"-o parent interface was not found on the host: {missing}", noSuchLower.Stderr, StringComparison.Ordinal);
            CommandResult loopback = await _docker.RunAsync("network", "create", "-d", "macvlan", "-o", "parent=lo", net);
            Assert.Contains("loopback interface is not a valid macvlan parent link", loopback.Stderr, StringComparison.Ordinal);
            CommandResult mode = await _docker.RunAsync("network", "create", "-d", "macvlan", "-o", "parent=lo", "-o", "macvlan_mode=hub", net);
            Assert.Contains("requested macvlan mode 'hub' is not valid, 'bridge' mode is the macvlan driver default", mode.Stderr, StringComparison.Ordinal);
            Assert.Equal("", (await _docker.SucceedAsync("network", "ls", "-q", "--filter", "name=" + net)).Stdout.Trim());
            Assert.False(Directory.Exists($"/sys/class/net/{missing}.10"));
        }
        finally
        {
            await _docker.RunAsync("network", "rm", net);
        }
    }

    /// <summary>The parent's promiscuity count: each open macvlan in bridge/private mode on a parent without unicast filtering adds one.</summary>
    private static async Task<int> ParentPromiscuityAsync(string parent)
    {
        CommandResult shown = await ProcessRunner.RunAsync("ip", ["-d", "link", "show", parent]);
        string[] words = shown.Stdout.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        int at = Array.IndexOf(words, "promiscuity");
        Assert.True(at >= 0 && at + 1 < words.Length, shown.ToString());
        return int.Parse(words[at + 1], System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task AssertPingsAsync(string container, string target)
    {
        CommandResult last = default!;
        for (int attempt = 0; attempt < 5; attempt++)
        {
            last = await _docker.RunAsync("exec", container, "ping", "-c", "1", "-W", "1", target);
            if (last.ExitCode == 0)
            {
                return;
            }
        }

        Assert.Fail($"{container} cannot ping {target}: {last}");
    }

    private static async Task Ip(params string[] args)
    {
        CommandResult result = await ProcessRunner.RunAsync("ip", args);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(10))
            {
                Assert.Fail("timed out waiting for " + what);
            }

            await Task.Delay(50);
        }
    }
}
