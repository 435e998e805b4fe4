using Berth.Runtime;

namespace Berth.UnitTests;

public class OciSpecBuilderTests
{
    private static readonly HostFacts HybridHost = new() { CgroupVersion = 1, CgroupHybrid = true, NoFileHardLimit = 20000 };

    private static ContainerRunSpec Run(IReadOnlyList<string>? env = null, bool tty = false) => new()
    {
        Id = new string('a', 64),
        Args = ["sh", "-c", "echo hi"],
        Env = env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "FOO=bar"],
        Hostname = "abcdef012345",
        Tty = tty,
    };

    [Fact]
    public void CapabilitiesAreDockersDefaultsExactly()
    {
        // moby oci/caps/defaults.go DefaultCapabilities(), in its order.
        string[] docker =
        [
            "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
            "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
        ];

        OciSpec spec = OciSpecBuilder.Build(Run(), HybridHost);

        OciCapabilities caps = spec.Process.Capabilities!;
        Assert.Equal(docker, caps.Bounding);
        Assert.Equal(docker, caps.Effective);
        Assert.Equal(docker, caps.Permitted);
        Assert.Equal(docker, OciSpecBuilder.DefaultCapabilities);
        Assert.DoesNotContain("CAP_SYS_ADMIN", caps.Bounding);
        Assert.DoesNotContain("CAP_SYS_RESOURCE", caps.Bounding);
    }

    [Fact]
    public void MaskedAndReadonlyPathsHideTheHost()
    {
        OciLinux linux = OciSpecBuilder.Build(Run(), HybridHost).Linux;

        Assert.Contains("/proc/kcore", linux.MaskedPaths!);
        Assert.Contains("/proc/keys", linux.MaskedPaths!);
        Assert.Contains("/proc/timer_list", linux.MaskedPaths!);
        Assert.Contains("/proc/sched_debug", linux.MaskedPaths!);
        Assert.Contains("/sys/firmware", linux.MaskedPaths!);
        Assert.Equal(["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"], linux.ReadonlyPaths!.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void PrivateNamespacesWithoutCgroupOnV1OrHybrid()
    {
        OciSpec spec = OciSpecBuilder.Build(Run(), HybridHost);

        Assert.Equal(["ipc", "mount", "network", "pid", "uts"], spec.Linux.Namespaces.Select(n => n.Type).Order(StringComparer.Ordinal));
        Assert.All(spec.Linux.Namespaces, n => Assert.Null(n.Path));
        Assert.DoesNotContain(OciSpecBuilder.Build(Run(), HybridHost with { CgroupHybrid = false }).Linux.Namespaces, n => n.Type == "cgroup");
    }

    [Fact]
    public void CgroupNamespaceOnlyOnV2()
    {
        OciSpec spec = OciSpecBuilder.Build(Run(), HybridHost with { CgroupVersion = 2, CgroupHybrid = false });

        Assert.Equal(["cgroup", "ipc", "mount", "network", "pid", "uts"], spec.Linux.Namespaces.Select(n => n.Type).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(20000UL, 20000UL)]
    [InlineData(1024UL, 1024UL)]
    [InlineData(1048576UL, 1048576UL)]
    [InlineData(4194304UL, 1048576UL)]
    public void NoFileLimitNeverExceedsTheHostHardLimit(ulong hostHard, ulong expected)
    {
        OciSpec spec = OciSpecBuilder.Build(Run(), HybridHost with { NoFileHardLimit = hostHard });

        OciRlimit nofile = Assert.Single(spec.Process.Rlimits!, r => r.Type == "RLIMIT_NOFILE");
        Assert.Equal(expected, nofile.Hard);
        Assert.Equal(expected, nofile.Soft);
        Assert.All(spec.Process.Rlimits!, r => Assert.True(r.Hard <= hostHard && r.Soft <= r.Hard));
    }

    [Fact]
    public void HostnameEnvIsInsertedAfterPath()
    {
        OciSpec spec = OciSpecBuilder.Build(Run(["FOO=bar", "PATH=/bin", "BAZ=1"]), HybridHost);

        Assert.Equal(["FOO=bar", "PATH=/bin", "HOSTNAME=abcdef012345", "BAZ=1"], spec.Process.Env);
        Assert.Equal("abcdef012345", spec.Hostname);
    }

    [Fact]
    public void AnExplicitHostnameEnvIsKept()
    {
        OciSpec spec = OciSpecBuilder.Build(Run(["PATH=/bin", "HOSTNAME=mine"]), HybridHost);

        Assert.Equal(["PATH=/bin", "HOSTNAME=mine"], spec.Process.Env);
    }

    [Fact]
    public void TtyAddsTermUnlessSet()
    {
        Assert.Contains("TERM=xterm", OciSpecBuilder.Build(Run(tty: true), HybridHost).Process.Env);
        Assert.DoesNotContain("TERM=xterm", OciSpecBuilder.Build(Run(tty: false), HybridHost).Process.Env);
        Assert.Equal(
            ["PATH=/bin", "HOSTNAME=abcdef012345", "TERM=dumb"],
            OciSpecBuilder.Build(Run(["PATH=/bin", "TERM=dumb"], tty: true), HybridHost).Process.Env);
    }

    [Fact]
    public void ProcessRootAndMounts()
    {
        ContainerRunSpec run = Run() with
        {
            Uid = 1000,
            Gid = 1001,
            WorkingDir = "",
            ReadonlyRootfs = true,
            EtcFiles = [("/var/lib/berth/c/hosts", "/etc/hosts")],
        };

        OciSpec spec = OciSpecBuilder.Build(run, HybridHost);

        Assert.Equal(["sh", "-c", "echo hi"], spec.Process.Args);
        Assert.Equal((1000u, 1001u), (spec.Process.User.Uid, spec.Process.User.Gid));
        Assert.Equal("/", spec.Process.Cwd);
        Assert.Equal(new OciRoot { Path = "rootfs", Readonly = true }, spec.Root);
        Assert.Equal($"/berth/{run.Id}", spec.Linux.CgroupsPath);
        string[] destinations = [.. spec.Mounts.Select(m => m.Destination)];
        Assert.Equal(["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm", "/etc/hosts"], destinations);
        OciMount hosts = spec.Mounts[^1];
        Assert.Equal(("bind", "/var/lib/berth/c/hosts"), (hosts.Type, hosts.Source));
        Assert.Contains("size=67108864", spec.Mounts.Single(m => m.Destination == "/dev/shm").Options!);
        Assert.Contains("ro", spec.Mounts.Single(m => m.Destination == "/sys").Options!);
    }

    [Fact]
    public void DevicesDenyAllThenAllowDockersDefaults()
    {
        IReadOnlyList<OciDeviceRule> devices = OciSpecBuilder.Build(Run(), HybridHost).Linux.Resources!.Devices!;

        Assert.Equal(new OciDeviceRule { Allow = false, Access = "rwm" }, devices[0]);
        Assert.Contains(devices, d => d is { Allow: true, Type: "c", Major: 1, Minor: 3 }); // /dev/null
        Assert.Contains(devices, d => d is { Allow: true, Type: "c", Major: 5, Minor: 2 }); // /dev/ptmx
        Assert.Contains(devices, d => d is { Allow: true, Type: "c", Major: 136, Minor: null }); // /dev/pts/*
    }

    [Fact]
    public void ResourcesOnlyWhenAsked()
    {
        OciResources none = OciSpecBuilder.Build(Run(), HybridHost).Linux.Resources!;
        Assert.Null(none.Memory);
        Assert.Null(none.Cpu);
        Assert.Null(none.Pids);

        OciResources some = OciSpecBuilder.Build(Run() with { Limits = new ContainerLimits { Memory = 64 << 20, NanoCpus = 1_500_000_000, CpuShares = 512, PidsLimit = 100 } }, HybridHost).Linux.Resources!;
        Assert.Equal(64L << 20, some.Memory!.Limit);
        Assert.Equal(new OciCpu { Shares = 512, Period = 100_000, Quota = 150_000 }, some.Cpu);
        Assert.Equal(100, some.Pids!.Limit);
    }
}

public class RuncDriverTests
{
    [Fact]
    public void JsonLogLineGivesItsMessage()
    {
        string log = """
            {"level":"warning","msg":"something earlier","time":"2024-05-01T10:00:00Z"}
            {"level":"error","msg":"runc create failed: unable to start container process: exec: \"nope\": executable file not found in $PATH","time":"2024-05-01T10:00:01Z"}

            """;

        Assert.Equal("runc create failed: unable to start container process: exec: \"nope\": executable file not found in $PATH", RuncDriver.LastMessage(log));
    }

    [Fact]
    public void TextLogLineGivesItsMessage()
    {
        string log = "time=\"2024-05-01T10:00:00Z\" level=error msg=\"container does not exist\"\n";

        Assert.Equal("container does not exist", RuncDriver.LastMessage(log));
    }

    [Fact]
    public void TextLogLineUnescapesQuotes()
    {
        string log = "time=\"2024-05-01T10:00:00Z\" level=error msg=\"exec: \\\"nope\\\": executable file not found in $PATH\"\n";

        Assert.Equal("exec: \"nope\": executable file not found in $PATH", RuncDriver.LastMessage(log));
    }

    [Fact]
    public void TextLogLineStopsAtTheEndOfTheQuotedMessage()
    {
        Assert.Equal("unable to start", RuncDriver.LastMessage("time=\"2024-05-01T10:00:00Z\" level=fatal msg=\"unable to start\" func=main.fatal"));
        Assert.Equal("bare", RuncDriver.LastMessage("time=\"2024-05-01T10:00:00Z\" level=error msg=bare pid=1"));
    }

    [Fact]
    public void PlainTextIsTheLastNonEmptyLine()
    {
        Assert.Equal("container \"abc\" does not exist", RuncDriver.LastMessage("first line\ncontainer \"abc\" does not exist\n\n  \n"));
    }

    [Fact]
    public void BrokenJsonIsReturnedAsItIs()
    {
        Assert.Equal("{not json", RuncDriver.LastMessage("{not json"));
        Assert.Equal("{\"level\":\"error\"}", RuncDriver.LastMessage("{\"level\":\"error\"}"));
    }

    [Fact]
    public void EmptyOutputIsEmpty()
    {
        Assert.Equal("", RuncDriver.LastMessage(""));
        Assert.Equal("", RuncDriver.LastMessage("\n \n"));
    }
}
