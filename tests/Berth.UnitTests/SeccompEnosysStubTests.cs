using System.Buffers.Binary;
using Berth.Interop;
using Berth.Runtime;

namespace Berth.UnitTests;

/// <summary>
/// The filter berth-exec loads (Docker's default profile compiled with libseccomp) behind runc's ENOSYS stub, run
/// through a small classic-BPF interpreter: calls the profile knows get exactly the filter's answer, calls numbered
/// above everything it names get ENOSYS, per ABI (x86_64, i386, x32).
/// </summary>
public sealed class SeccompEnosysStubTests
{
    private const uint Allow = 0x7fff0000;
    private const uint Eperm = 0x00050001;
    private const uint KillThread = 0; // SECCOMP_RET_KILL_THREAD, libseccomp's default for an unlisted architecture
    private const uint ArchI386 = 0x40000003;
    private const uint ArchAarch64 = 0xc00000b7;

    /// <summary>Docker's default profile as berth-exec loads it (stub and filter), on a kernel with or without the x32 ABI.</summary>
    private static uint[][] CompiledDefaultProfile(bool x32Abi)
    {
        using var directory = new TempDirectory();
        string path = directory.Combine("seccomp.bpf");
        NativeExecSpec.EnsureSeccompCompiled(SeccompProfile.ForDefault(OciSpecBuilder.DefaultCapabilities, new HostFacts { KernelVersion = "6.1.0", X32Abi = x32Abi }), path);
        return Decode(File.ReadAllBytes(path));
    }

    [Fact]
    public void SyscallsNewerThanTheProfileGetEnosysAndTheRestTheFiltersAnswer()
    {
        uint[][] stubbed = CompiledDefaultProfile(x32Abi: true);
        // The stub ends at its one `ret ENOSYS`; libseccomp's filter follows unchanged.
        int end = Array.FindIndex(stubbed, i => i[0] == 0x06 && i[3] == SeccompEnosysStub.ReturnEnosys);
        Assert.InRange(end, 1, 20);
        uint[][] filter = stubbed[(end + 1)..];

        Assert.Equal(Allow, Run(stubbed, SeccompEnosysStub.ArchX86_64, 0));                  // read
        Assert.Equal(Eperm, Run(stubbed, SeccompEnosysStub.ArchX86_64, 246));                // kexec_load
        Assert.Equal(SeccompEnosysStub.ReturnEnosys, Run(stubbed, SeccompEnosysStub.ArchX86_64, 1000));
        Assert.Equal(Allow, Run(stubbed, ArchI386, 3));                                       // read on i386
        Assert.Equal(SeccompEnosysStub.ReturnEnosys, Run(stubbed, ArchI386, 1000));
        Assert.Equal(Allow, Run(stubbed, SeccompEnosysStub.ArchX86_64, SeccompEnosysStub.X32SyscallBit | 0)); // read on x32
        Assert.Equal(SeccompEnosysStub.ReturnEnosys, Run(stubbed, SeccompEnosysStub.ArchX86_64, SeccompEnosysStub.X32SyscallBit | 1000));
        // An architecture the profile does not list is the filter's business (killed), never ENOSYS.
        Assert.Equal(Run(filter, ArchAarch64, 0), Run(stubbed, ArchAarch64, 0));
        Assert.NotEqual(SeccompEnosysStub.ReturnEnosys, Run(stubbed, ArchAarch64, 1000));

        foreach ((uint arch, uint bit) in new[] { (SeccompEnosysStub.ArchX86_64, 0u), (ArchI386, 0u), (SeccompEnosysStub.ArchX86_64, SeccompEnosysStub.X32SyscallBit) })
        {
            uint lastNamed = Enumerable.Range(0, 1024).Select(n => (uint)n).Where(n => Run(filter, arch, bit | n) != Eperm).Max();
            for (uint number = 0; number < 1024; number++)
            {
                uint expected = number > lastNamed ? SeccompEnosysStub.ReturnEnosys : Run(filter, arch, bit | number);
                Assert.True(expected == Run(stubbed, arch, bit | number), $"arch {arch:x8} syscall {bit | number:x}");
            }
        }
    }

    [Fact]
    public void WithoutTheX32AbiAnX32CallIsKilledAsAnUnlistedArchitecture()
    {
        uint[][] stubbed = CompiledDefaultProfile(x32Abi: false);

        Assert.Equal(Allow, Run(stubbed, SeccompEnosysStub.ArchX86_64, 0));
        Assert.Equal(Allow, Run(stubbed, ArchI386, 3));
        Assert.Equal(KillThread, Run(stubbed, SeccompEnosysStub.ArchX86_64, SeccompEnosysStub.X32SyscallBit | 0));
        Assert.Equal(KillThread, Run(stubbed, SeccompEnosysStub.ArchX86_64, SeccompEnosysStub.X32SyscallBit | 1000));
    }

    [Fact]
    public void APermissiveDefaultGetsNoStub()
    {
        using var directory = new TempDirectory();
        string path = directory.Combine("allow.bpf");
        SeccompCompiler.Compile(SeccompCompiler.ActAllow, ["x86_64"], [new SeccompRule("kexec_load", SeccompCompiler.ActErrno(1), [])], path);
        uint[][] program = Decode(File.ReadAllBytes(path));
        Assert.DoesNotContain(program, i => i[0] == 0x06 && i[3] == SeccompEnosysStub.ReturnEnosys);
        Assert.Equal(Allow, Run(program, SeccompEnosysStub.ArchX86_64, 1000));
    }

    private static uint[][] Decode(byte[] bytes) =>
        [.. Enumerable.Range(0, bytes.Length / 8).Select(i => new uint[]
        {
            BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(i * 8)), bytes[(i * 8) + 2], bytes[(i * 8) + 3],
            BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((i * 8) + 4)),
        })];

    /// <summary>The classic-BPF subset libseccomp emits, on a struct seccomp_data with all arguments zero.</summary>
    private static uint Run(uint[][] program, uint arch, uint number)
    {
        uint a = 0, x = 0;
        uint[] memory = new uint[16];
        for (int pc = 0; pc < program.Length; pc++)
        {
            (uint code, uint jt, uint jf, uint k) = (program[pc][0], program[pc][1], program[pc][2], program[pc][3]);
            switch (code)
            {
                case 0x20: a = k == 0 ? number : k == 4 ? arch : 0; break;   // ld [k]: nr, arch, ip and arguments (0)
                case 0x00: a = k; break;                                      // ld #k
                case 0x01: x = k; break;                                      // ldx #k
                case 0x60: a = memory[k]; break;                              // ld M[k]
                case 0x61: x = memory[k]; break;                              // ldx M[k]
                case 0x02: memory[k] = a; break;                              // st M[k]
                case 0x03: memory[k] = x; break;                              // stx M[k]
                case 0x07: x = a; break;                                      // tax
                case 0x87: a = x; break;                                      // txa
                case 0x54: a &= k; break;                                     // and #k
                case 0x05: pc += (int)k; break;                               // ja
                case 0x15: pc += (int)(a == k ? jt : jf); break;              // jeq #k
                case 0x25: pc += (int)(a > k ? jt : jf); break;               // jgt #k
                case 0x35: pc += (int)(a >= k ? jt : jf); break;              // jge #k
                case 0x45: pc += (int)((a & k) != 0 ? jt : jf); break;        // jset #k
                case 0x06: return k;                                          // ret #k
                case 0x16: return a;                                          // ret a
                default: throw new InvalidOperationException($"instruction {code:x4} at {pc} not interpreted");
            }
        }

        throw new InvalidOperationException("the program ran off its end");
    }
}
