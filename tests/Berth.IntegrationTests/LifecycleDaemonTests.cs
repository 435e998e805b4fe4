using System.Diagnostics;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>The lifecycle tests that restart their daemon or prune everything: a berthd of their own, alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LifecycleDaemonCollection : ICollectionFixture<LifecycleDaemon>
{
    public const string Name = "lifecycle (own daemon, alone)";
}

public sealed class LifecycleDaemon : IAsyncLifetime
{
    private BerthDaemon? _daemon;

    public BerthDaemon Daemon => _daemon ?? throw new InvalidOperationException("the lifecycle berthd did not start");

    /// <summary>The daemon.json this berthd was started with.</summary>
    public string ConfigFile { get; private set; } = "";

    /// <summary>daemon.json's defaults for containers, kept in every version of the file the tests write (a restart re-reads it).</summary>
    public const string ContainerDefaults =
        "\"dns\": [\"10.123.0.53\"], \"dns-search\": [\"berth.test\"], \"default-ulimits\": {\"nofile\": {\"Name\": \"nofile\", \"Hard\": 4096, \"Soft\": 2048}}, \"log-opts\": {\"max-size\": \"1m\", \"max-file\": \"2\"}, "
        + "\"insecure-registries\": [\"10.219.0.0/16\", \"registry.berth.test:5000\"], \"default-address-pools\": [{\"base\": \"10.213.0.0/16\", \"size\": 24}]";

    public async Task InitializeAsync()
    {
        _daemon = BerthDaemon.Create("lifecycle");
        ConfigFile = Path.Combine(_daemon.Root, "daemon.json");
        File.WriteAllText(ConfigFile, "{\"labels\": [\"tier=before\"], \"registry-mirrors\": [\"https://mirror.example\"], \"live-restore\": true, " + ContainerDefaults + "}");
        _daemon.ExtraArgs = ["--config-file", ConfigFile];
        // Started as `nohup berthd &` starts it: the SIGHUP test then also proves berthd takes back a signal it started with ignored.
        _daemon.ShellPrelude = "trap '' HUP INT";
        await _daemon.StartAsync();
        await _daemon.BootstrapAsync("busybox");
    }

    public async Task DisposeAsync()
    {
        if (_daemon is not null)
        {
            await _daemon.DisposeAsync();
        }
    }
}

[Collection(LifecycleDaemonCollection.Name)]
public sealed class LifecycleDaemonTests(LifecycleDaemon fixture)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private readonly BerthDaemon _daemon = fixture.Daemon;
    private DockerCli Docker => _daemon.Docker;

    [Fact]
    public async Task After_a_daemon_restart_always_containers_come_back_and_unless_stopped_ones_stopped_by_hand_stay_down()
    {
        string alwaysStopped = Names.Unique("alw-stop");
        string alwaysDied = Names.Unique("alw-died");
        string unlessStopped = Names.Unique("unl-stop");
        string unlessDied = Names.Unique("unl-died");
        string plain = Names.Unique("no-policy");
        string[] all = [alwaysStopped, alwaysDied, unlessStopped, unlessDied, plain];
        await EnsureStartedAsync();
        try
        {
            // A shell that ends at once on SIGTERM, so stops are quick.
            string[] command = ["busybox", "sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"];
            await Docker.SucceedAsync(["run", "-d", "--name", alwaysStopped, "--restart", "always", .. command]);
            await BerthSucceedAsync(["run", "-d", "--name", alwaysDied, "--restart", "always", .. command]);
            await BerthSucceedAsync(["run", "-d", "--name", unlessStopped, "--restart", "unless-stopped", .. command]);
            await Docker.SucceedAsync(["run", "-d", "--name", unlessDied, "--restart", "unless-stopped", .. command]);
            await Docker.SucceedAsync(["run", "-d", "--name", plain, .. command]);
            await Docker.SucceedAsync("stop", alwaysStopped, unlessStopped);
            Assert.Equal("exited", await InspectAsync(alwaysStopped, "{{.State.Status}}")); // a stop by hand is not undone while the daemon runs

            string[] dying = [alwaysDied, unlessDied, plain];
            var ids = new Dictionary<string, string>();
            foreach (string name in dying)
            {
                ids[name] = await InspectAsync(name, "{{.Id}}");
            }

            Assert.Equal(0, await _daemon.StopAsync());
            // While berthd is down, two containers and the policy-less one die (not by the API's hand).
            foreach (string name in dying)
            {
                string id = ids[name];
                CommandResult kill = await ProcessRunner.RunAsync("runc", ["--root", _daemon.RuntimeRoot, "kill", id, "KILL"]);
                Assert.True(kill.ExitCode == 0, kill.ToString());
                string exitFile = Path.Combine(_daemon.ExecRoot, "c", id, "exit.json");
                await WaitUntilAsync(() => Task.FromResult(File.Exists(exitFile)), exitFile);
            }

            await _daemon.StartAsync();

            await WaitUntilAsync(async () => await InspectAsync(alwaysStopped, "{{.State.Status}}") == "running", $"{alwaysStopped} to run again");
            await WaitUntilAsync(async () => await InspectAsync(alwaysDied, "{{.State.Status}}") == "running", $"{alwaysDied} to run again");
            await WaitUntilAsync(async () => await BerthInspectAsync(unlessDied, "{{.State.Status}}") == "running", $"{unlessDied} to run again");
            Assert.Equal("exited", await BerthInspectAsync(unlessStopped, "{{.State.Status}}"));
            Assert.Equal("exited 137", await InspectAsync(plain, "{{.State.Status}} {{.State.ExitCode}}"));
            // The one that died while the daemon was down was restarted by its policy: counted.
            Assert.Equal("1", await InspectAsync(alwaysDied, "{{.RestartCount}}"));

            CommandResult ps = await Docker.SucceedAsync("ps", "--format", "{{.Names}}");
            Assert.Contains(alwaysStopped, ps.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain(unlessStopped, ps.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            await RemoveQuietlyAsync(all);
        }
    }

    [Fact]
    public async Task System_prune_all_frees_what_system_df_said_was_reclaimable()
    {
        string name = Names.Unique("dfprune");
        await EnsureStartedAsync();
        try
        {
            await Docker.SucceedAsync("run", "--name", name, "busybox", "dd", "if=/dev/zero", "of=/filler", "bs=1024", "count=2048");

            // Containers: df's reclaimable is the stopped container's writable layer; container prune frees exactly that.
            CommandResult df = await Docker.SucceedAsync("system", "df", "--format", "{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}|{{.Reclaimable}}");
            string containers = Line(df.Stdout, "Containers|");
            Assert.StartsWith("Containers|1|0|2.097MB|2.097MB (100%)", containers, StringComparison.Ordinal);
            string containerReclaimable = containers.Split('|')[4].Split(' ')[0];
            CommandResult berthDf = await BerthSucceedAsync("system", "df");
            CommandResult dockerDf = await Docker.SucceedAsync("system", "df");
            Assert.Equal(dockerDf.Stdout, berthDf.Stdout);

            CommandResult containerPrune = await Docker.SucceedAsync("container", "prune", "-f");
            Assert.EndsWith($"Total reclaimed space: {containerReclaimable}\n", containerPrune.Stdout, StringComparison.Ordinal);

            // Images: with no container left, busybox is unused; prune -a frees what df called reclaimable.
            CommandResult images = await Docker.SucceedAsync("system", "df", "--format", "{{.Type}}|{{.Reclaimable}}");
            string imageReclaimable = Line(images.Stdout, "Images|").Split('|')[1];
            Assert.EndsWith("(100%)", imageReclaimable, StringComparison.Ordinal);
            CommandResult prune = await BerthSucceedAsync("system", "prune", "-a", "-f");
            Assert.Contains("Deleted Images:\nuntagged: busybox:latest\n", prune.Stdout, StringComparison.Ordinal);
            Assert.EndsWith($"Total reclaimed space: {imageReclaimable.Split(' ')[0]}\n", prune.Stdout, StringComparison.Ordinal);

            CommandResult after = await BerthSucceedAsync("system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Size}}");
            Assert.Contains("Images 0 0B", after.Stdout, StringComparison.Ordinal);
            Assert.Contains("Containers 0 0B", after.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            await RemoveQuietlyAsync([name]);
            await _daemon.BootstrapAsync("busybox"); // for the other tests of this daemon
        }
    }

    [Fact]
    public async Task Daemon_json_defaults_apply_to_containers_that_set_nothing_themselves()
    {
        await EnsureStartedAsync();
        string name = Names.Unique("defaults");
        try
        {
            CommandResult run = await Docker.SucceedAsync("run", "--name", name, "busybox", "sh", "-c", "grep -E '^(nameserver|search)' /etc/resolv.conf; ulimit -n; ulimit -Hn");
            Assert.Equal("nameserver 10.123.0.53\nsearch berth.test\n2048\n4096\n", run.Stdout);
            Assert.Equal("json-file map[max-file:2 max-size:1m]\n", (await Docker.SucceedAsync("inspect", "-f", "{{.HostConfig.LogConfig.Type}} {{.HostConfig.LogConfig.Config}}", name)).Stdout);

            // A container's own settings win.
            CommandResult own = await BerthSucceedAsync("run", "--rm", "--dns", "10.9.9.9", "--ulimit", "nofile=100:200", "busybox", "sh", "-c", "grep ^nameserver /etc/resolv.conf; ulimit -n");
            Assert.Equal("nameserver 10.9.9.9\n100\n", own.Stdout);
        }
        finally
        {
            await Docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task Daemon_json_labels_registries_and_address_pools_show_in_info_and_networks()
    {
        await EnsureStartedAsync();
        CommandResult info = await Docker.SucceedAsync("info", "--format", "{{json .Labels}}|{{json .RegistryConfig.Mirrors}}|{{json .RegistryConfig.InsecureRegistryCIDRs}}|{{(index .RegistryConfig.IndexConfigs \"registry.berth.test:5000\").Secure}}");
        string[] parts = info.Stdout.Trim().Split('|');
        Assert.Contains(parts[0], (string[])["[\"tier=before\"]", "[\"tier=after\"]"]); // the SIGHUP test may have run first
        Assert.Equal("[\"https://mirror.example/\"]", parts[1]);
        Assert.Equal("[\"10.219.0.0/16\",\"127.0.0.0/8\",\"::1/128\"]", parts[2]);
        Assert.Equal("false", parts[3]);
        CommandResult berthInfo = await BerthSucceedAsync("info");
        Assert.Contains("registry.berth.test:5000", berthInfo.Stdout, StringComparison.Ordinal);
        Assert.Contains("https://mirror.example/", berthInfo.Stdout, StringComparison.Ordinal);

        // Networks without --subnet come from the pool: the default bridge took a /24 of it, this one the next free.
        string network = Names.Unique("pooled");
        try
        {
            await Docker.SucceedAsync("network", "create", network);
            string subnet = (await Docker.SucceedAsync("network", "inspect", "--format", "{{(index .IPAM.Config 0).Subnet}}", network)).Stdout.Trim();
            Assert.Matches(@"^10\.213\.\d{1,3}\.0/24$", subnet);
            Assert.StartsWith("10.213.", (await Docker.SucceedAsync("network", "inspect", "--format", "{{(index .IPAM.Config 0).Subnet}}", "bridge")).Stdout.Trim(), StringComparison.Ordinal);
        }
        finally
        {
            await Docker.RunAsync("network", "rm", network);
        }
    }

    [Fact]
    public async Task Sighup_reloads_the_labels_from_daemon_json_and_reports_a_daemon_reload_event()
    {
        await EnsureStartedAsync();
        string since = LifecycleTests.UnixNow();
        await File.WriteAllTextAsync(fixture.ConfigFile, "{\"labels\": [\"tier=after\"], \"registry-mirrors\": [\"https://mirror.example\"], " + LifecycleDaemon.ContainerDefaults + "}");
        CommandResult hup = await ProcessRunner.RunAsync("kill", ["-HUP", _daemon.Pid!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        Assert.True(hup.ExitCode == 0, hup.ToString());

        await WaitUntilAsync(async () => (await Docker.SucceedAsync("events", "--since", since, "--until", LifecycleTests.UnixNow(), "--filter", "type=daemon", "--format", "{{.Action}}")).Stdout.Contains("reload", StringComparison.Ordinal), "the reload event");
        CommandResult events = await BerthSucceedAsync("events", "--since", since, "--until", LifecycleTests.UnixNow(), "--filter", "type=daemon", "--format", "{{.Action}} {{.Actor.Attributes.labels}}");
        Assert.Equal("reload [tier=after]\n", events.Stdout);
        Assert.NotNull(_daemon.Pid); // a reload, not an exit
        Assert.Contains("configuration reloaded: log-level debug, labels [tier=after]", _daemon.LogTail(200), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_checks_daemon_json_as_dockerd_does()
    {
        string directory = Path.Combine(_daemon.Root, "validate");
        Directory.CreateDirectory(directory);
        string good = Path.Combine(directory, "good.json");
        await File.WriteAllTextAsync(good, "{\"data-root\": \"/tmp/none\", \"debug\": true, \"insecure-registries\": [\"10.0.0.0/8\"], \"default-address-pools\": [{\"base\": \"10.10.0.0/16\", \"size\": 24}]}");
        CommandResult ok = await ProcessRunner.RunAsync(Binaries.Current.Daemon, ["--validate", "--config-file", good]);
        Assert.True(ok.ExitCode == 0, ok.ToString());
        Assert.Equal("configuration OK\n", ok.Stdout);

        CommandResult both = await ProcessRunner.RunAsync(Binaries.Current.Daemon, ["--validate", "--config-file", good, "--data-root", "/tmp/other"]);
        Assert.True(both.ExitCode == 1, both.ToString());
        Assert.Contains("the following directives are specified both as a flag and in the configuration file: data-root: (from flag: /tmp/other, from file: /tmp/none)", both.Stderr, StringComparison.Ordinal);

        string unknown = Path.Combine(directory, "unknown.json");
        await File.WriteAllTextAsync(unknown, "{\"colour\": \"red\"}");
        CommandResult bad = await ProcessRunner.RunAsync(Binaries.Current.Daemon, ["--validate", "--config-file", unknown]);
        Assert.True(bad.ExitCode == 1, bad.ToString());
        Assert.Contains("the following directives don't match any configuration option: colour", bad.Stderr, StringComparison.Ordinal);

        string mirror = Path.Combine(directory, "mirror.json");
        await File.WriteAllTextAsync(mirror, "{\"registry-mirrors\": [\"ftp://mirror.example/path\"]}");
        CommandResult badMirror = await ProcessRunner.RunAsync(Binaries.Current.Daemon, ["--validate", "--config-file", mirror]);
        Assert.True(badMirror.ExitCode == 1, badMirror.ToString());
        Assert.Contains("invalid mirror", badMirror.Stderr, StringComparison.Ordinal);

        string pools = Path.Combine(directory, "pools.json");
        await File.WriteAllTextAsync(pools, "{\"default-address-pools\": [{\"base\": \"10.10.0.0/16\", \"size\": 8}]}");
        CommandResult badPool = await ProcessRunner.RunAsync(Binaries.Current.Daemon, ["--validate", "--config-file", pools]);
        Assert.True(badPool.ExitCode == 1, badPool.ToString());
        Assert.Contains("invalid default address pool 10.10.0.0/16", badPool.Stderr, StringComparison.Ordinal);

        CommandResult missing = await ProcessRunner.RunAsync(Binaries.Current.Daemon, ["--validate", "--config-file", Path.Combine(directory, "missing.json")]);
        Assert.True(missing.ExitCode == 1, missing.ToString());
        Assert.Contains("no such file or directory", missing.Stderr, StringComparison.Ordinal);
    }

    private static string Line(string text, string prefix) =>
        text.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) ?? throw new InvalidOperationException($"no line {prefix} in\n{text}");

    private async Task<string> InspectAsync(string name, string format) =>
        (await Docker.SucceedAsync("inspect", "--format", format, name)).Stdout.Trim();

    private async Task<string> BerthInspectAsync(string name, string format) =>
        (await BerthSucceedAsync("inspect", "--format", format, name)).Stdout.Trim();

    private async Task<CommandResult> BerthSucceedAsync(params string[] args)
    {
        CommandResult result = await ProcessRunner.RunAsync(Binaries.Cli, ["-H", "unix://" + _daemon.SocketPath, .. args]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    private async Task EnsureStartedAsync()
    {
        if (_daemon.Pid is null)
        {
            await _daemon.StartAsync();
        }
    }

    private async Task RemoveQuietlyAsync(string[] names)
    {
        if (_daemon.Pid is not null)
        {
            await Docker.RemoveQuietlyAsync(names);
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < Bound, $"timed out after {Bound.TotalSeconds:F0} s waiting for {what}");
            await Task.Delay(50); // state written by other processes: poll, bounded
        }
    }
}
