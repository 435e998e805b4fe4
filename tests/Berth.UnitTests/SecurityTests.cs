using Berth.Api.Types;
using Berth.Engine.Containers;
using Berth.Primitives;
using Berth.Runtime;

namespace Berth.UnitTests;

public class CapabilitySetTests
{
    private static readonly HostFacts Host = new() { LastCapability = 40 };

    [Fact]
    public void Names_are_normalised_and_unknown_ones_refused()
    {
        Assert.Equal("CAP_NET_ADMIN", CapabilitySet.Normalize("net_admin"));
        Assert.Equal("CAP_NET_ADMIN", CapabilitySet.Normalize("CAP_NET_ADMIN"));
        Assert.Equal("ALL", CapabilitySet.Normalize("all"));
        ArgumentException e = Assert.Throws<ArgumentException>(() => CapabilitySet.Normalize("FOO"));
        Assert.Equal("unknown capability: \"CAP_FOO\"", e.Message);
    }

    [Fact]
    public void Adds_and_drops_follow_dockers_rules()
    {
        Assert.Same(OciSpecBuilder.DefaultCapabilities, CapabilitySet.Compute(null, null, privileged: false, Host));
        IReadOnlyList<string> tweaked = CapabilitySet.Compute(["NET_ADMIN"], ["CHOWN"], privileged: false, Host);
        Assert.Contains("CAP_NET_ADMIN", tweaked);
        Assert.DoesNotContain("CAP_CHOWN", tweaked);
        Assert.Equal(["CAP_KILL"], CapabilitySet.Compute(["kill"], ["ALL"], privileged: false, Host));
        IReadOnlyList<string> allButOne = CapabilitySet.Compute(["ALL"], ["SYS_ADMIN"], privileged: false, Host);
        Assert.Equal(40, allButOne.Count);
        Assert.DoesNotContain("CAP_SYS_ADMIN", allButOne);
        // An add beats a drop of the same capability, as Docker appends adds after dropping.
        Assert.Contains("CAP_CHOWN", CapabilitySet.Compute(["CHOWN"], ["CHOWN"], privileged: false, Host));
    }

    [Fact]
    public void Privileged_gets_what_the_kernel_knows()
    {
        Assert.Equal(41, CapabilitySet.Compute(null, null, privileged: true, Host).Count);
        Assert.Equal(38, CapabilitySet.Compute(null, null, privileged: true, new HostFacts { LastCapability = 37 }).Count);
        // A daemon without CAP_SYS_RESOURCE (bit 24) in its bounding set cannot hand it out.
        IReadOnlyList<string> bounded = CapabilitySet.All(new HostFacts { LastCapability = 40, BoundingCapabilities = 0x1fffeffffff });
        Assert.Equal(40, bounded.Count);
        Assert.DoesNotContain("CAP_SYS_RESOURCE", bounded);
    }
}

public class SeccompProfileTests
{
    private static OciSyscall? RuleFor(OciSeccomp profile, string name) => profile.Syscalls!.FirstOrDefault(s => s.Names.Contains(name));

    [Fact]
    public void The_default_profile_denies_with_eperm_and_allows_the_common_calls()
    {
        OciSeccomp profile = SeccompProfile.ForDefault(OciSpecBuilder.DefaultCapabilities, new HostFacts { KernelVersion = "6.1.0", X32Abi = true });

        Assert.Equal("SCMP_ACT_ERRNO", profile.DefaultAction);
        Assert.Equal(1u, profile.DefaultErrnoRet);
        Assert.Equal(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], profile.Architectures);
        Assert.NotNull(RuleFor(profile, "read"));
        Assert.NotNull(RuleFor(profile, "execve"));
        Assert.NotNull(RuleFor(profile, "chroot")); // CAP_SYS_CHROOT is a default capability
        Assert.NotNull(RuleFor(profile, "arch_prctl"));
        Assert.Null(RuleFor(profile, "mount"));
        Assert.Null(RuleFor(profile, "reboot"));
        Assert.Null(RuleFor(profile, "kexec_load"));
    }

    [Fact]
    public void A_kernel_built_without_the_x32_abi_gets_no_x32_rules_unless_a_profile_names_it()
    {
        Assert.Equal(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], SeccompProfile.ForDefault(OciSpecBuilder.DefaultCapabilities, new HostFacts { KernelVersion = "6.1.0", X32Abi = false }).Architectures);
        OciSeccomp named = SeccompProfile.FromJson("""{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X32"],"syscalls":[]}""", OciSpecBuilder.DefaultCapabilities, new HostFacts { KernelVersion = "6.1.0", X32Abi = false });
        Assert.Equal(["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"], named.Architectures);
    }

    [Theory]
    [InlineData("CONFIG_SECCOMP=y\nCONFIG_X86_X32_ABI=y\n", true)]
    [InlineData("CONFIG_SECCOMP=y\n# CONFIG_X86_X32_ABI is not set\n", false)]
    [InlineData("CONFIG_X86_X32=y\n", true)]
    [InlineData("# CONFIG_X86_X32 is not set\n", false)]
    [InlineData("CONFIG_X86_X32_ABI_EXTRA=y\nCONFIG_SECCOMP=y\n", null)]
    public void The_kernel_configuration_says_whether_x32_runs(string config, bool? expected) =>
        Assert.Equal(expected, HostFacts.ConfigEnablesX32Abi(new StringReader(config)));

    [Fact]
    public void Clone_is_filtered_by_flags_without_sys_admin_and_free_with_it()
    {
        OciSeccomp confined = SeccompProfile.ForDefault(OciSpecBuilder.DefaultCapabilities, new HostFacts { KernelVersion = "6.1.0" });
        OciSyscall clone = Assert.Single(confined.Syscalls!, s => s.Names.SequenceEqual(["clone"]));
        Assert.Equal(new OciSyscallArg { Index = 0, Value = 0x7E020000, ValueTwo = 0, Op = "SCMP_CMP_MASKED_EQ" }, Assert.Single(clone.Args!));
        Assert.Equal(38u, Assert.Single(confined.Syscalls!, s => s.Names.SequenceEqual(["clone3"])).ErrnoRet);

        OciSeccomp admin = SeccompProfile.ForDefault([.. OciSpecBuilder.DefaultCapabilities, "CAP_SYS_ADMIN"], new HostFacts { KernelVersion = "6.1.0" });
        Assert.Contains(admin.Syscalls!, s => s.Names.Contains("mount") && s.Args is null);
        Assert.DoesNotContain(admin.Syscalls!, s => s.Names.SequenceEqual(["clone3"]) && s.Action == "SCMP_ACT_ERRNO");
    }

    [Fact]
    public void Old_kernels_lose_rules_that_need_newer_ones()
    {
        Assert.True(SeccompProfile.KernelBelow("4.4.0-210-generic", "4.8"));
        Assert.False(SeccompProfile.KernelBelow("6.1.0-13-amd64", "4.8"));
        OciSeccomp old = SeccompProfile.ForDefault(OciSpecBuilder.DefaultCapabilities, new HostFacts { KernelVersion = "4.4.0" });
        Assert.Null(RuleFor(old, "ptrace"));
    }

    [Fact]
    public void A_users_profile_is_read_and_a_broken_one_refused()
    {
        OciSeccomp custom = SeccompProfile.FromJson("""{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}""", OciSpecBuilder.DefaultCapabilities, new HostFacts { KernelVersion = "6.1.0" });
        Assert.Equal("SCMP_ACT_ALLOW", custom.DefaultAction);
        Assert.Equal("SCMP_ACT_ERRNO", Assert.Single(custom.Syscalls!).Action);
        Assert.Throws<FormatException>(() => SeccompProfile.FromJson("{not json", OciSpecBuilder.DefaultCapabilities, new HostFacts { KernelVersion = "6.1.0" }));
        Assert.Throws<FormatException>(() => SeccompProfile.FromJson("{}", OciSpecBuilder.DefaultCapabilities, new HostFacts { KernelVersion = "6.1.0" }));
    }
}

public class PrivilegedSpecTests
{
    private static readonly HostFacts Host = new() { CgroupVersion = 1, NoFileHardLimit = 20000, LastCapability = 40, KernelVersion = "6.1.0" };

    private static ContainerRunSpec Run(ContainerSecurity security) => new() { Id = new string('b', 64), Args = ["true"], Env = ["PATH=/bin"], Security = security };

    [Fact]
    public void A_confined_container_has_seccomp_masked_paths_and_a_read_only_sys()
    {
        OciSpec spec = OciSpecBuilder.Build(Run(new ContainerSecurity()), Host);
        Assert.NotNull(spec.Linux.Seccomp);
        Assert.Contains("/proc/kcore", spec.Linux.MaskedPaths!);
        Assert.Contains("ro", spec.Mounts.Single(m => m.Destination == "/sys").Options!);
        Assert.Equal(OciSpecBuilder.DefaultCapabilities, spec.Process.Capabilities!.Bounding);
    }

    [Fact]
    public void A_privileged_container_has_every_capability_and_device_and_no_seccomp_or_masks()
    {
        var security = new ContainerSecurity { Privileged = true, Capabilities = CapabilitySet.All(Host), Devices = [new OciDevice { Path = "/dev/loop0", Type = "b", Major = 7 }] };
        OciSpec spec = OciSpecBuilder.Build(Run(security), Host);
        Assert.Null(spec.Linux.Seccomp);
        Assert.Null(spec.Linux.MaskedPaths);
        Assert.Null(spec.Linux.ReadonlyPaths);
        Assert.Contains("rw", spec.Mounts.Single(m => m.Destination == "/sys").Options!);
        Assert.Equal(41, spec.Process.Capabilities!.Effective.Count);
        Assert.Equal([new OciDeviceRule { Allow = true, Access = "rwm" }], spec.Linux.Resources!.Devices);
        Assert.Equal("/dev/loop0", Assert.Single(spec.Linux.Devices!).Path);
    }

    [Fact]
    public void Seccomp_unconfined_and_no_new_privileges_reach_the_spec()
    {
        OciSpec spec = OciSpecBuilder.Build(Run(new ContainerSecurity { SeccompProfile = "unconfined", NoNewPrivileges = true }), Host);
        Assert.Null(spec.Linux.Seccomp);
        Assert.True(spec.Process.NoNewPrivileges);
    }

    [Fact]
    public void Ulimits_become_rlimits_and_the_default_nofile_stays_under_the_host_limit()
    {
        OciSpec plain = OciSpecBuilder.Build(Run(new ContainerSecurity()), Host);
        Assert.Equal(new OciRlimit { Type = "RLIMIT_NOFILE", Soft = 20000, Hard = 20000 }, Assert.Single(plain.Process.Rlimits!));
        OciSpec limited = OciSpecBuilder.Build(Run(new ContainerSecurity()) with { Limits = new ContainerLimits { Ulimits = [("nproc", 10, 20), ("nofile", 100, 200)] } }, Host);
        Assert.Equal([new OciRlimit { Type = "RLIMIT_NPROC", Soft = 10, Hard = 20 }, new OciRlimit { Type = "RLIMIT_NOFILE", Soft = 100, Hard = 200 }], limited.Process.Rlimits);
    }
}

public class RuntimeSettingsTests
{
    private static readonly HostFacts Host = new()
    {
        Cpus = 2, CpusetCpus = "0-1", SwapLimit = true, BlkioWeight = false, LastCapability = 40, KernelVersion = "6.1.0",
        HardLimits = new Dictionary<string, ulong> { ["nofile"] = 20000 },
    };

    private static string Error(HostConfig hostConfig) => Assert.Throws<EngineException>(() => RuntimeSettings.Validate(hostConfig, Host)).Message;

    [Fact]
    public void Memory_settings_are_checked_with_dockers_messages()
    {
        Assert.Equal("Minimum memory limit allowed is 6MB", Error(new HostConfig { Memory = 1024 }));
        Assert.Equal("Minimum memoryswap limit should be larger than memory limit, see usage", Error(new HostConfig { Memory = 64 << 20, MemorySwap = 32 << 20 }));
        Assert.Equal("You should always set the Memory limit when using Memoryswap limit, see usage", Error(new HostConfig { MemorySwap = 64 << 20 }));
        Assert.Equal("Minimum memory limit can not be less than memory reservation limit, see usage", Error(new HostConfig { Memory = 64 << 20, MemoryReservation = 128 << 20 }));
        Assert.Equal("Invalid value: 200, valid memory swappiness range is 0-100", Error(new HostConfig { MemorySwappiness = 200 }));
    }

    [Fact]
    public void Cpu_settings_are_checked_against_the_host()
    {
        Assert.Equal("Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available", Error(new HostConfig { NanoCpus = 3_000_000_000 }));
        Assert.Equal("Conflicting options: Nano CPUs and CPU Period cannot both be set", Error(new HostConfig { NanoCpus = 1_000_000_000, CpuPeriod = 50_000 }));
        Assert.Equal("Requested CPUs are not available - requested 0-5, available: 0-1", Error(new HostConfig { CpusetCpus = "0-5" }));
        Assert.Equal("Invalid value x for cpuset cpus", Error(new HostConfig { CpusetCpus = "x" }));
        Assert.Equal(new HashSet<int> { 0, 2, 3, 4 }, RuntimeSettings.ParseCpuList("0,2-4"));
    }

    [Fact]
    public void What_the_host_cannot_do_is_dropped_with_a_warning()
    {
        (HostConfig adjusted, IReadOnlyList<string> warnings) = RuntimeSettings.Validate(new HostConfig { BlkioWeight = 300, Ulimits = [new Ulimit { Name = "nofile", Soft = 100, Hard = 50000 }] }, Host);
        Assert.Null(adjusted.BlkioWeight);
        Assert.Contains("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.", warnings);
        Assert.Contains(warnings, w => w.Contains("above the host's hard limit", StringComparison.Ordinal));
        Assert.Equal(("nofile", 100UL, 20000UL), Assert.Single(RuntimeSettings.LimitsFor(adjusted, Host).Ulimits));
    }

    [Fact]
    public void Security_options_are_parsed_and_bad_ones_refused()
    {
        Assert.True(RuntimeSettings.ParseSecurityOptions(["no-new-privileges"]).NoNewPrivileges);
        Assert.True(RuntimeSettings.ParseSecurityOptions(["no-new-privileges:true"]).NoNewPrivileges);
        Assert.Equal("unconfined", RuntimeSettings.ParseSecurityOptions(["seccomp=unconfined"]).Seccomp);
        Assert.True(RuntimeSettings.ParseSecurityOptions(["systempaths=unconfined"]).UnmaskedPaths);
        Assert.Equal("invalid --security-opt 2: \"foo=bar\"", Error(new HostConfig { SecurityOpt = ["foo=bar"] }));
        Assert.Equal("invalid --security-opt 1: \"nonsense\"", Error(new HostConfig { SecurityOpt = ["nonsense"] }));
        Assert.StartsWith("decoding seccomp profile failed", Error(new HostConfig { SecurityOpt = ["seccomp={broken"] }), StringComparison.Ordinal);
        Assert.Equal("invalid CapAdd: unknown capability: \"CAP_BOGUS\"", Error(new HostConfig { CapAdd = ["BOGUS"] }));
    }

    [Fact]
    public void Memory_swap_defaults_to_twice_the_memory_where_swap_is_accounted()
    {
        Assert.Equal(128L << 20, RuntimeSettings.LimitsFor(new HostConfig { Memory = 64 << 20 }, Host).MemorySwap);
        Assert.Equal(-1, RuntimeSettings.LimitsFor(new HostConfig { Memory = 64 << 20, MemorySwap = -1 }, Host).MemorySwap);
        Assert.Equal(0, RuntimeSettings.LimitsFor(new HostConfig { Memory = 64 << 20 }, Host with { SwapLimit = false }).MemorySwap);
    }
}

public class TopParsingTests
{
    [Fact]
    public void Only_the_containers_processes_are_kept_and_the_command_keeps_its_spaces()
    {
        const string ps = "UID          PID    PPID  C STIME TTY          TIME CMD\nroot           1       0  0 10:00 ?        00:00:01 /sbin/init\nroot        4242    4240  0 10:01 ?        00:00:00 sleep 300 now\n";
        (IReadOnlyList<string> titles, IReadOnlyList<IReadOnlyList<string>> processes) = ContainerService.ParsePs(ps, new HashSet<int> { 4242 });
        Assert.Equal(["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"], titles);
        Assert.Equal(["root", "4242", "4240", "0", "10:01", "?", "00:00:00", "sleep 300 now"], Assert.Single(processes));
        Assert.Throws<EngineException>(() => ContainerService.ParsePs("USER COMMAND\nroot x\n", new HashSet<int>()));
    }
}

public class DaemonDefaultsTests
{
    [Fact]
    public void Daemon_json_keys_become_container_defaults_that_a_containers_own_settings_override()
    {
        var stored = new Dictionary<string, string>
        {
            ["dns"] = "[\"10.0.0.53\"]",
            ["default-ulimits"] = "{\"nofile\": {\"Name\": \"nofile\", \"Hard\": 64000, \"Soft\": 32000}, \"core\": {\"Name\": \"core\", \"Hard\": 0, \"Soft\": 0}}",
            ["log-opts"] = "{\"max-size\": \"10m\"}",
        };
        Berth.Engine.DaemonDefaults defaults = Berth.Engine.DaemonDefaults.Parse(stored);
        Assert.Equal(["10.0.0.53"], defaults.Dns);
        Assert.Equal("json-file", defaults.Log!.Type);

        HostConfig applied = defaults.Apply(new HostConfig { Ulimits = [new Ulimit { Name = "nofile", Soft = 1, Hard = 2 }] });
        Assert.Equal([("nofile", 1L, 2L), ("core", 0L, 0L)], applied.Ulimits!.Select(u => (u.Name, u.Soft, u.Hard)));
        Assert.Equal("10m", applied.LogConfig!.Config!["max-size"]);
        Assert.Equal("none", defaults.Apply(new HostConfig { LogConfig = new LogConfig { Type = "none" } }).LogConfig!.Type);
        Assert.Throws<FormatException>(() => Berth.Engine.DaemonDefaults.Parse(new Dictionary<string, string> { ["default-ulimits"] = "{\"nofile\": {}}" }));
    }
}
