using System.Text;
using Berth.Runtime;

namespace Berth.UnitTests;

public class NativeExecSpecTests
{
    private static readonly OciSpec Container = new()
    {
        Process = new OciProcess
        {
            Capabilities = new OciCapabilities
            {
                Bounding = OciSpecBuilder.DefaultCapabilities,
                Effective = OciSpecBuilder.DefaultCapabilities,
                Permitted = OciSpecBuilder.DefaultCapabilities,
            },
            Rlimits = [new OciRlimit { Type = "RLIMIT_NOFILE", Soft = 1024, Hard = 4096 }],
            NoNewPrivileges = true,
            OomScoreAdj = 300,
        },
    };

    private static string[] Records(byte[] spec)
    {
        string text = Encoding.UTF8.GetString(spec);
        Assert.EndsWith("\0", text, StringComparison.Ordinal);
        return text[..^1].Split('\0');
    }

    [Fact]
    public void The_spec_carries_the_exec_and_the_containers_confinement_as_records()
    {
        var spec = new NativeExecSpec
        {
            Args = ["sh", "-c", "echo a\nb"],
            Env = ["PATH=/bin", "A=x y"],
            Cwd = "/tmp",
            Uid = 1000,
            Gid = 100,
            AdditionalGids = [10, 20],
            Terminal = true,
            ConsoleSize = (33, 99),
            SeccompPath = "/run/x/seccomp.bpf",
        };

        string[] records = Records(spec.Serialize(Container));

        Assert.Equal(
            [
                "arg sh", "arg -c", "arg echo a\nb", "env PATH=/bin", "env A=x y", "cwd /tmp", "uid 1000", "gid 100", "group 10", "group 20",
                "capb a80425fb", "cape a80425fb", "capp a80425fb", "capi 0", "capa 0", "rlimit 7 1024 4096", "nnp 1", "oom 300",
                "seccomp /run/x/seccomp.bpf", "terminal 1", "winsize 33 99",
            ],
            records);
    }

    [Fact]
    public void A_privileged_exec_gets_every_capability_given_and_a_nul_is_refused()
    {
        var spec = new NativeExecSpec { Args = ["true"], Env = [], Cwd = "/", Uid = 0, Gid = 0, PrivilegedCapabilities = CapabilitySet.Known };

        string[] records = Records(spec.Serialize(Container));

        Assert.Contains("capb 1ffffffffff", records);
        Assert.Contains("cape 1ffffffffff", records);
        Assert.DoesNotContain(records, r => r.StartsWith("seccomp ", StringComparison.Ordinal));
        Assert.Throws<ArgumentException>(() => (spec with { Args = ["a\0b"] }).Serialize(Container));
    }

    [Fact]
    public void The_default_profile_compiles_to_a_bpf_program_once()
    {
        using var directory = new TempDirectory();
        string path = directory.Combine("seccomp.bpf");
        OciSeccomp profile = SeccompProfile.ForDefault(OciSpecBuilder.DefaultCapabilities, new HostFacts { KernelVersion = "6.1.0" });

        NativeExecSpec.EnsureSeccompCompiled(profile, path);
        byte[] program = File.ReadAllBytes(path);
        DateTime written = File.GetLastWriteTimeUtc(path);
        NativeExecSpec.EnsureSeccompCompiled(profile, path);

        // struct sock_filter is 8 bytes; the default profile takes hundreds of instructions, far under BPF_MAXINSNS.
        Assert.Equal(0, program.Length % 8);
        Assert.InRange(program.Length / 8, 100, 4096);
        Assert.Equal(written, File.GetLastWriteTimeUtc(path));
        Assert.Equal(["seccomp.bpf"], directory.Entries());
    }

    [Fact]
    public void An_unknown_action_is_refused_and_leaves_nothing_behind()
    {
        using var directory = new TempDirectory();
        var profile = new OciSeccomp { DefaultAction = "SCMP_ACT_ALLOW", Syscalls = [new OciSyscall { Names = ["unshare"], Action = "SCMP_ACT_BOGUS" }] };

        Assert.Throws<ArgumentException>(() => NativeExecSpec.EnsureSeccompCompiled(profile, directory.Combine("seccomp.bpf")));
        Assert.Empty(directory.Entries());
    }
}
