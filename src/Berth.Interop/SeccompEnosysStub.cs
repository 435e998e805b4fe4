using System.Buffers.Binary;

namespace Berth.Interop;

/// <summary>
/// The classic-BPF prologue runc puts before a container's seccomp filter: per architecture, a syscall numbered above
/// the last one the profile names returns ENOSYS, as on a kernel that predates it; every other call falls through to
/// the filter unchanged. (Without it a syscall newer than the profile gets the default action, EPERM in Docker's
/// profile, and a program probing it does not fall back.)
/// </summary>
public static class SeccompEnosysStub
{
    public const uint ArchX86_64 = 0xc000003e;   // AUDIT_ARCH_X86_64, also libseccomp's token for it
    public const uint ArchX32 = 0x4000003e;      // libseccomp's x32 token; its syscalls arrive as x86_64 with this bit
    public const uint X32SyscallBit = 0x40000000;
    public const uint ReturnEnosys = 0x00050000 | 38; // SECCOMP_RET_ERRNO | ENOSYS

    private const ushort LoadAbsolute = 0x20;     // BPF_LD | BPF_W | BPF_ABS
    private const ushort JumpAlways = 0x05;       // BPF_JMP | BPF_JA
    private const ushort JumpEqual = 0x15;        // BPF_JMP | BPF_JEQ | BPF_K
    private const ushort JumpGreater = 0x25;      // BPF_JMP | BPF_JGT | BPF_K
    private const ushort JumpSet = 0x45;          // BPF_JMP | BPF_JSET | BPF_K
    private const ushort Return = 0x06;           // BPF_RET | BPF_K
    private const uint NumberOffset = 0;          // offsetof(struct seccomp_data, nr)
    private const uint ArchOffset = 4;            // offsetof(struct seccomp_data, arch)

    /// <summary>
    /// The stub's instructions (struct sock_filter, 8 bytes each), to put in front of the filter, for the last syscall
    /// number the profile names per architecture (libseccomp tokens; x32 numbers carry <see cref="X32SyscallBit"/>).
    /// </summary>
    public static byte[] Build(IReadOnlyDictionary<uint, uint> lastSyscalls)
    {
        ArgumentNullException.ThrowIfNull(lastSyscalls);
        // Instructions with symbolic targets: Next, Enosys, Filter, or the index of another instruction.
        var program = new List<(ushort Code, Target True, Target False, uint K)>();
        var arches = lastSyscalls.Keys.Select(t => t == ArchX32 ? ArchX86_64 : t).Distinct().Order().ToList();
        program.Add((LoadAbsolute, Target.Next, Target.Next, ArchOffset));
        foreach (uint arch in arches)
        {
            int check = program.Count;
            program.Add((JumpEqual, Target.Next, Target.Next /* patched below to the next arch */, arch));
            program.Add((LoadAbsolute, Target.Next, Target.Next, NumberOffset));
            if (arch == ArchX86_64)
            {
                // x32 calls come in as x86_64 with a bit set in the number: each ABI against its own last number.
                int split = program.Count;
                program.Add((JumpSet, Target.Next /* patched to the x32 test */, Target.Next, X32SyscallBit));
                AddLimit(program, lastSyscalls.TryGetValue(ArchX86_64, out uint native) ? native : null);
                program[split] = program[split] with { True = Target.At(program.Count) };
                AddLimit(program, lastSyscalls.TryGetValue(ArchX32, out uint x32) ? x32 : null);
            }
            else
            {
                AddLimit(program, lastSyscalls[arch]);
            }

            program[check] = program[check] with { False = Target.At(program.Count) };
        }

        program.Add((JumpAlways, Target.Next, Target.Next, 0)); // no architecture matched: the filter decides
        int enosys = program.Count;
        program.Add((Return, Target.Next, Target.Next, ReturnEnosys));
        int filter = program.Count;

        byte[] bytes = new byte[program.Count * 8];
        for (int i = 0; i < program.Count; i++)
        {
            (ushort code, Target jt, Target jf, uint k) = program[i];
            if (code == JumpAlways)
            {
                k = (uint)(filter - i - 1);
            }

            Span<byte> instruction = bytes.AsSpan(i * 8, 8);
            BinaryPrimitives.WriteUInt16LittleEndian(instruction, code);
            instruction[2] = Offset(jt, i, enosys, filter);
            instruction[3] = Offset(jf, i, enosys, filter);
            BinaryPrimitives.WriteUInt32LittleEndian(instruction[4..], k);
        }

        return bytes;
    }

    // Above the last known number: ENOSYS; otherwise (or with no number known for that ABI) on to the filter.
    private static void AddLimit(List<(ushort Code, Target True, Target False, uint K)> program, uint? last)
    {
        if (last is uint number)
        {
            program.Add((JumpGreater, Target.Enosys, Target.Filter, number));
        }
        else
        {
            program.Add((JumpAlways, Target.Next, Target.Next, 0));
        }
    }

    private static byte Offset(Target target, int from, int enosys, int filter)
    {
        int to = target.Kind switch
        {
            TargetKind.Next => from + 1,
            TargetKind.Enosys => enosys,
            TargetKind.Filter => filter,
            _ => target.Index,
        };
        int offset = to - from - 1;
        return offset is >= 0 and <= byte.MaxValue
            ? (byte)offset
            : throw new InvalidOperationException($"seccomp stub jump of {offset} instructions");
    }

    private enum TargetKind { Next, Enosys, Filter, Index }

    private readonly record struct Target(TargetKind Kind, int Index)
    {
        public static Target Next => new(TargetKind.Next, 0);
        public static Target Enosys => new(TargetKind.Enosys, 0);
        public static Target Filter => new(TargetKind.Filter, 0);
        public static Target At(int index) => new(TargetKind.Index, index);
    }
}
