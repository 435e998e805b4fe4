using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>
/// Networking with the real docker CLI against the real kernel: user networks, isolation, connect/disconnect, modes,
/// published ports, NAT, links, and that nothing stays on the host afterwards. Every test uses its own names and
/// removes what it made, even when it fails.
/// </summary>
public sealed partial class DockerNetworkTests(DaemonFixture fixture)
{
    private readonly DockerCli _docker = fixture.Docker;

    [Fact]
    public async Task Containers_on_a_user_network_reach_each_other_and_a_container_on_another_network_does_not()
    {
        string netA = Names.Unique("neta"), netB = Names.Unique("netb");
        string a1 = Names.Unique("a1"), a2 = Names.Unique("a2"), b1 = Names.Unique("b1");
        try
        {
            await _docker.SucceedAsync("network", "create", netA);
            await _docker.SucceedAsync("network", "create", netB);
            await _docker.SucceedAsync("run", "-d", "--name", a1, "--network", netA, "--network-alias", "alpha", "busybox", "sleep", "300");
            await _docker.SucceedAsync("run", "-d", "--name", a2, "--network", netA, "busybox", "sleep", "300");
            await _docker.SucceedAsync("run", "-d", "--name", b1, "--network", netB, "busybox", "sleep", "300");
            string a1Ip = (await _docker.SucceedAsync("inspect", "-f", $"{{{{(index .NetworkSettings.Networks \"{netA}\").IPAddress}}}}", a1)).Stdout.Trim();
            Assert.True(IPAddress.TryParse(a1Ip, out _), a1Ip);

            await AssertPingsAsync(a2, a1Ip);
            await AssertPingsAsync(a2, a1);
            await AssertPingsAsync(a2, "alpha");
            CommandResult wget = await _docker.RunAsync("exec", a2, "sh", "-c", $"wget -q -T 2 -O - http://{a1}:80/ 2>&1 || true");
            Assert.DoesNotContain("bad address", wget.Stdout, StringComparison.Ordinal);
            await AssertDoesNotPingAsync(b1, a1Ip);

            // connect: b1 gets a second interface on A and reaches a1; disconnect takes it away again.
            await _docker.SucceedAsync("network", "connect", "--alias", "beta", netA, b1);
            await AssertPingsAsync(b1, a1Ip);
            await AssertPingsAsync(a1, "beta");
            string inspect = (await _docker.SucceedAsync("network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{end}}", netA)).Stdout;
            Assert.Contains(b1, inspect, StringComparison.Ordinal);
            await _docker.SucceedAsync("network", "disconnect", netA, b1);
            await AssertDoesNotPingAsync(b1, a1Ip);

            CommandResult busy = await _docker.RunAsync("network", "rm", netA);
            Assert.True(busy.ExitCode != 0, busy.ToString());
            Assert.Contains("has active endpoints", busy.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(a1, a2, b1);
            await _docker.RunAsync("network", "rm", netA, netB);
        }
    }

    [Fact]
    public async Task A_static_address_and_a_subnet_are_honoured()
    {
        string net = Names.Unique("static"), c = Names.Unique("c");
        string subnet = $"10.{Random.Shared.Next(100, 200)}.{Random.Shared.Next(0, 250)}.0/24";
        string ip = subnet.Replace(".0/24", ".77", StringComparison.Ordinal);
        try
        {
            await _docker.SucceedAsync("network", "create", "--subnet", subnet, net);
            CommandResult run = await _docker.SucceedAsync("run", "--rm", "--name", c, "--network", net, "--ip", ip, "busybox", "ip", "-4", "addr", "show", "eth0");
            Assert.Contains($"inet {ip}/24", run.Stdout, StringComparison.Ordinal);
            string listed = (await _docker.SucceedAsync("network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", net)).Stdout.Trim();
            Assert.Equal(subnet, listed);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(c);
            await _docker.RunAsync("network", "rm", net);
        }
    }

    [Fact]
    public async Task An_internal_network_has_no_way_out()
    {
        string net = Names.Unique("internal");
        try
        {
            await _docker.SucceedAsync("network", "create", "--internal", net);
            CommandResult routes = await _docker.SucceedAsync("run", "--rm", "--network", net, "busybox", "ip", "route");
            Assert.DoesNotContain("default", routes.Stdout, StringComparison.Ordinal);
            Assert.Contains("dev eth0", routes.Stdout, StringComparison.Ordinal);
            Assert.Equal("true", (await _docker.SucceedAsync("network", "inspect", "-f", "{{.Internal}}", net)).Stdout.Trim());
        }
        finally
        {
            await _docker.RunAsync("network", "rm", net);
        }
    }

    [Fact]
    public async Task Network_none_has_only_loopback()
    {
        CommandResult result = await _docker.SucceedAsync("run", "--rm", "--network", "none", "busybox", "ls", "/sys/class/net");
        Assert.Equal("lo", result.Stdout.Trim());
    }

    [Fact]
    public async Task The_default_bridge_gives_an_address_a_route_and_hosts_entries()
    {
        CommandResult result = await _docker.SucceedAsync("run", "--rm", "--add-host", "gw:host-gateway", "--dns-search", "example.test", "busybox", "sh", "-c",
            "ls /sys/class/net | tr '\\n' ' '; echo; ip route | grep default; grep gw /etc/hosts; grep search /etc/resolv.conf");
        string[] lines = result.Stdout.Split('\n');
        Assert.Equal("eth0 lo ", lines[0]);
        Assert.StartsWith("default via ", lines[1], StringComparison.Ordinal);
        string gateway = lines[1].Split(' ')[2];
        Assert.Equal($"{gateway}\tgw", lines[2]);
        Assert.Equal("search example.test", lines[3]);
    }

    [Fact]
    public async Task Container_mode_shares_the_other_containers_namespace()
    {
        string owner = Names.Unique("owner");
        try
        {
            await _docker.SucceedAsync("run", "-d", "--name", owner, "busybox", "sleep", "300");
            string mac = (await _docker.SucceedAsync("exec", owner, "cat", "/sys/class/net/eth0/address")).Stdout.Trim();
            CommandResult joined = await _docker.SucceedAsync("run", "--rm", "--network", "container:" + owner, "busybox", "cat", "/sys/class/net/eth0/address");
            Assert.Equal(mac, joined.Stdout.Trim());
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(owner);
        }
    }

    [Fact]
    public async Task Host_mode_sees_the_hosts_interfaces()
    {
        CommandResult result = await _docker.SucceedAsync("run", "--rm", "--network", "host", "busybox", "ls", "/sys/class/net");
        Assert.Contains(fixture.Daemon.BridgeName, result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Published_ports_answer_from_the_host_on_loopback_and_on_a_fixed_port()
    {
        string web = Names.Unique("web"), clash = Names.Unique("clash");
        int fixedPort = LoopbackPort.Free();
        try
        {
            await _docker.SucceedAsync("run", "-d", "--name", web, "-p", "127.0.0.1:0:80", "-p", $"0.0.0.0:{fixedPort}:80", "busybox", "sh", "-c", "echo hello-from-berth > /tmp/index.html; httpd -f -p 80 -h /tmp");
            string ports = (await _docker.SucceedAsync("port", web)).Stdout;
            Assert.Contains($"80/tcp -> 0.0.0.0:{fixedPort}", ports, StringComparison.Ordinal);
            string loopback = (await _docker.SucceedAsync("port", web, "80")).Stdout.Split('\n').First(l => l.StartsWith("127.0.0.1:", StringComparison.Ordinal));
            int ephemeral = int.Parse(loopback.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);
            Assert.NotEqual(0, ephemeral);

            Assert.Contains("hello-from-berth", await GetAsync($"http://127.0.0.1:{ephemeral}/index.html"), StringComparison.Ordinal);
            Assert.Contains("hello-from-berth", await GetAsync($"http://127.0.0.1:{fixedPort}/index.html"), StringComparison.Ordinal);
            string hostAddress = HostAddress();
            Assert.Contains("hello-from-berth", await GetAsync($"http://{hostAddress}:{fixedPort}/index.html"), StringComparison.Ordinal);

            string table = (await _docker.SucceedAsync("ps", "--filter", "name=" + web, "--format", "{{.Ports}}")).Stdout;
            Assert.Contains($"0.0.0.0:{fixedPort}->80/tcp", table, StringComparison.Ordinal);

            // The port is held (a host server cannot bind it, SO_REUSEADDR or not), yet nothing on the host listens on
            // it: a connection that reached the host past the DNAT is refused, not left unanswered in a backlog.
            using (var rival = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
            {
                rival.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                SocketException taken = Assert.Throws<SocketException>(() => rival.Bind(new IPEndPoint(IPAddress.Loopback, fixedPort)));
                Assert.Equal(SocketError.AddressAlreadyInUse, taken.SocketErrorCode);
            }

            Assert.DoesNotContain(fixedPort, HostListeningTcpPorts());

            CommandResult conflict = await _docker.RunAsync("run", "-d", "--name", clash, "-p", $"{fixedPort}:80", "busybox", "sleep", "30");
            Assert.True(conflict.ExitCode != 0, conflict.ToString());
            Assert.Contains($"Bind for 0.0.0.0:{fixedPort} failed: port is already allocated", conflict.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(web, clash);
        }

        // The container's rules went with it.
        string nat = (await ProcessRunner.RunAsync("iptables-save", ["-t", "nat"])).Stdout;
        Assert.DoesNotContain($"--dport {fixedPort} ", nat, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Publish_all_maps_exposed_ports_to_ephemeral_host_ports()
    {
        string web = Names.Unique("pall");
        try
        {
            await _docker.SucceedAsync("run", "-d", "--name", web, "-P", "--expose", "8080", "busybox", "sh", "-c", "echo exposed-ok > /tmp/index.html; httpd -f -p 8080 -h /tmp");
            string mapping = (await _docker.SucceedAsync("port", web, "8080/tcp")).Stdout.Split('\n')[0].Trim();
            int port = int.Parse(mapping.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(port, 1024, 65535);
            Assert.Contains("exposed-ok", await GetAsync($"http://127.0.0.1:{port}/index.html"), StringComparison.Ordinal);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(web);
        }
    }

    [Fact]
    public async Task Outbound_nat_lets_a_container_reach_an_address_that_has_no_route_back()
    {
        // A test-made namespace behind a veth, with no route to the containers' subnet: only MASQUERADE makes replies come back.
        string suffix = Guid.NewGuid().ToString("N")[..6];
        string ns = "btn-" + suffix, hostEnd = "btn" + suffix, farEnd = "btf" + suffix;
        int octet = Random.Shared.Next(2, 250);
        string hostIp = $"198.18.{octet}.1", farIp = $"198.18.{octet}.2";
        try
        {
            await Ip("netns", "add", ns);
            await Ip("link", "add", hostEnd, "type", "veth", "peer", "name", farEnd, "netns", ns);
            await Ip("addr", "add", hostIp + "/30", "dev", hostEnd);
            await Ip("link", "set", hostEnd, "up");
            await Ip("-n", ns, "addr", "add", farIp + "/30", "dev", farEnd);
            await Ip("-n", ns, "link", "set", farEnd, "up");

            CommandResult ping = await _docker.RunAsync("run", "--rm", "busybox", "ping", "-c", "1", "-W", "2", farIp);
            Assert.True(ping.ExitCode == 0, ping.ToString());
        }
        finally
        {
            await ProcessRunner.RunAsync("ip", ["link", "del", "dev", hostEnd]);
            await ProcessRunner.RunAsync("ip", ["netns", "del", ns]);
        }
    }

    [Fact]
    public async Task Link_on_the_default_bridge_resolves_the_alias()
    {
        string server = Names.Unique("srv");
        try
        {
            await _docker.SucceedAsync("run", "-d", "--name", server, "busybox", "sleep", "300");
            CommandResult ping = await _docker.RunAsync("run", "--rm", "--link", server + ":db", "busybox", "ping", "-c", "1", "-W", "2", "db");
            Assert.True(ping.ExitCode == 0, ping.ToString());
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(server);
        }
    }

    [Fact]
    public async Task Nothing_stays_on_the_host_after_the_containers_and_the_network_are_removed()
    {
        string net = Names.Unique("gone"), c = Names.Unique("c");
        string id = "";
        try
        {
            id = (await _docker.SucceedAsync("network", "create", "--label", "purpose=test", net)).Stdout.Trim();
            string bridge = "br-" + id[..12];
            Assert.True(Directory.Exists("/sys/class/net/" + bridge));
            await _docker.SucceedAsync("run", "-d", "--name", c, "--network", net, "-p", "127.0.0.1:0:80", "busybox", "sleep", "300");
            Assert.Single(Directory.GetFileSystemEntries($"/sys/class/net/{bridge}/brif"));
            await _docker.SucceedAsync("rm", "-f", c);
            await WaitUntilAsync(() => Directory.GetFileSystemEntries($"/sys/class/net/{bridge}/brif").Length == 0, "the container's veth to go");
            await _docker.SucceedAsync("network", "rm", net);

            Assert.False(Directory.Exists("/sys/class/net/" + bridge));
            string rules = (await ProcessRunner.RunAsync("iptables-save", [])).Stdout;
            Assert.DoesNotContain(id[..12], rules, StringComparison.Ordinal);
            Assert.DoesNotContain(bridge, rules, StringComparison.Ordinal);
            CommandResult listed = await _docker.SucceedAsync("network", "ls", "-q", "--filter", "name=" + net);
            Assert.Equal("", listed.Stdout.Trim());
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(c);
            await _docker.RunAsync("network", "rm", net);
        }
    }

    [Fact]
    public async Task Network_ls_lists_the_predefined_networks_and_filters()
    {
        string net = Names.Unique("ls");
        try
        {
            await _docker.SucceedAsync("network", "create", "--label", "team=berth", net);
            string table = (await _docker.SucceedAsync("network", "ls")).Stdout;
            Assert.StartsWith("NETWORK ID", table, StringComparison.Ordinal);
            foreach (string builtin in new[] { "bridge", "host", "none", net })
            {
                Assert.Contains(" " + builtin + " ", table, StringComparison.Ordinal);
            }

            string custom = (await _docker.SucceedAsync("network", "ls", "--filter", "label=team=berth", "--format", "{{.Name}} {{.Driver}}")).Stdout;
            Assert.Equal($"{net} bridge\n", custom);
            CommandResult missing = await _docker.RunAsync("network", "inspect", Names.Unique("missing"));
            Assert.True(missing.ExitCode != 0, missing.ToString());
            CommandResult predefined = await _docker.RunAsync("network", "rm", "bridge");
            Assert.Contains("pre-defined network", predefined.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await _docker.RunAsync("network", "rm", net);
        }
    }

    [Fact]
    public async Task Prune_removes_unused_networks_matching_the_filter_and_names_are_unique()
    {
        string label = "prune-" + Guid.NewGuid().ToString("N")[..8];
        string unused = Names.Unique("unused"), used = Names.Unique("used"), c = Names.Unique("c");
        try
        {
            await _docker.SucceedAsync("network", "create", "--label", label, unused);
            await _docker.SucceedAsync("network", "create", "--label", label, used);
            CommandResult duplicate = await _docker.RunAsync("network", "create", unused);
            Assert.Contains($"network with name {unused} already exists", duplicate.Stderr, StringComparison.Ordinal);
            await _docker.SucceedAsync("run", "-d", "--name", c, "--network", used, "busybox", "sleep", "300");

            CommandResult pruned = await _docker.SucceedAsync("network", "prune", "-f", "--filter", "label=" + label);
            Assert.Equal($"Deleted Networks:\n{unused}", pruned.Stdout.TrimEnd('\n'));
            string left = (await _docker.SucceedAsync("network", "ls", "--filter", "label=" + label, "--format", "{{.Name}}")).Stdout;
            Assert.Equal(used + "\n", left);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(c);
            await _docker.RunAsync("network", "rm", unused, used);
        }
    }

    [Fact]
    public async Task The_berth_cli_manages_networks_and_ports()
    {
        string net = Names.Unique("bcli"), web = Names.Unique("bweb");
        try
        {
            CommandResult created = await Berth("network", "create", "--subnet", $"10.{Random.Shared.Next(200, 250)}.{Random.Shared.Next(0, 250)}.0/24", net);
            Assert.True(created.ExitCode == 0, created.ToString());
            CommandResult listed = await Berth("network", "ls", "--filter", "name=" + net, "--format", "{{.Name}}");
            Assert.Equal(net + "\n", listed.Stdout);
            CommandResult run = await Berth("run", "-d", "--name", web, "--network", net, "-p", "127.0.0.1::80", "busybox", "sh", "-c", "echo via-berth > /tmp/index.html; httpd -f -p 80 -h /tmp");
            Assert.True(run.ExitCode == 0, run.ToString());
            CommandResult port = await Berth("port", web, "80");
            Assert.StartsWith("127.0.0.1:", port.Stdout, StringComparison.Ordinal);
            Assert.Contains("via-berth", await GetAsync("http://" + port.Stdout.Trim() + "/index.html"), StringComparison.Ordinal);
            CommandResult inspect = await Berth("network", "inspect", "--format", "{{range .Containers}}{{.Name}}{{end}}", net);
            Assert.Equal(web + "\n", inspect.Stdout);
            CommandResult busy = await Berth("network", "rm", net);
            Assert.Equal(1, busy.ExitCode);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(web);
            await _docker.RunAsync("network", "rm", net);
        }
    }

    private Task<CommandResult> Berth(params string[] args) =>
        ProcessRunner.RunAsync(Binaries.Cli, ["-H", "unix://" + fixture.Daemon.SocketPath, .. args]);

    private async Task AssertPingsAsync(string container, string target)
    {
        // Bounded retries: a fresh veth may take a moment to forward (duplicate address detection, ARP).
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

    private async Task AssertDoesNotPingAsync(string container, string target)
    {
        CommandResult result = await _docker.RunAsync("exec", container, "ping", "-c", "1", "-W", "1", target);
        Assert.True(result.ExitCode != 0, $"{container} unexpectedly reaches {target}: {result}");
    }

    private static async Task Ip(params string[] args)
    {
        CommandResult result = await ProcessRunner.RunAsync("ip", args);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    private static readonly string[] TcpTables = ["/proc/net/tcp", "/proc/net/tcp6"];

    /// <summary>The TCP ports something listens on in the host's network namespace (IPv4 and IPv6), from /proc/net/tcp*.</summary>
    private static HashSet<int> HostListeningTcpPorts()
    {
        var ports = new HashSet<int>();
        foreach (string table in TcpTables.Where(File.Exists))
        {
            // "  sl  local_address rem_address   st ...": the local address ends in :PORT (hex); state 0A is LISTEN.
            foreach (string[] fields in File.ReadLines(table).Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(f => f.Length > 3 && f[3] == "0A"))
            {
                ports.Add(int.Parse(fields[1][(fields[1].LastIndexOf(':') + 1)..], System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return ports;
    }

    /// <summary>The host's address on its default route's interface (reached from "another host" through DNAT in OUTPUT).</summary>
    private static string HostAddress()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Connect(IPAddress.Parse("8.8.8.8"), 53);
        return ((IPEndPoint)probe.LocalEndPoint!).Address.ToString();
    }

    /// <summary>GET with a bounded retry loop: the server in the container may not listen yet.</summary>
    internal static async Task<string> GetAsync(string url)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            try
            {
                return await client.GetStringAsync(url);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e;
                await Task.Delay(100);
            }
        }

        throw new TimeoutException($"GET {url} kept failing: {last}");
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(10))
            {
                Assert.Fail("timed out waiting for " + what);
            }

            await Task.Delay(20);
        }
    }
}
