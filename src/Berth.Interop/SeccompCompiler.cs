using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>One argument condition of a seccomp rule, in libseccomp's terms (op: SCMP_CMP_NE=1 ... SCMP_CMP_MASKED_EQ=7).</summary>
public readonly record struct SeccompCondition(uint Index, int Op, ulong ValueA, ulong ValueB);

/// <summary>One rule: a syscall by name, the action (libseccomp's encoding, SCMP_ACT_*), and conditions ANDed together.</summary>
public sealed record SeccompRule(string Syscall, uint Action, IReadOnlyList<SeccompCondition> Conditions);

/// <summary>
/// Compiles a seccomp filter to classic BPF with libseccomp (libseccomp.so.2, what runc links): the program
/// berth-exec loads with PR_SET_SECCOMP, so an exec'd process gets the filter the container's processes got from runc.
/// </summary>
public static unsafe partial class SeccompCompiler
{
    private const string Library = "libseccomp.so.2";

    // libseccomp's action encodings (seccomp.h).
    public const uint ActKillThread = 0x00000000;
    public const uint ActKillProcess = 0x80000000;
    public const uint ActTrap = 0x00030000;
    public const uint ActLog = 0x7ffc0000;
    public const uint ActAllow = 0x7fff0000;
    public const uint ActNotify = 0x7fc00000;

    public static uint ActErrno(uint errno) => 0x00050000 | (errno & 0xffff);

    public static uint ActTrace(uint message) => 0x7ff00000 | (message & 0xffff);

    /// <summary>
    /// Writes the BPF program (an array of struct sock_filter) for <paramref name="defaultAction"/>, the architectures
    /// named as libseccomp names them ("x86_64", "x86", "x32"; the native one is always in) and the rules, to
    /// <paramref name="path"/>. Syscalls this libseccomp does not know are skipped, as runc skips them; a rule whose
    /// action is the default one is redundant and skipped too. Like runc, unless the default action lets calls through,
    /// a syscall numbered above every one the rules name (per architecture) fails with ENOSYS rather than the default
    /// action: a program probing a syscall newer than the profile (glibc's fchmodat2, clone3 fallbacks) then falls back
    /// as it would on an older kernel, in an exec'd process as in the container's own.
    /// </summary>
    public static void Compile(uint defaultAction, IEnumerable<string> architectures, IEnumerable<SeccompRule> rules, string path)
    {
        ArgumentNullException.ThrowIfNull(architectures);
        ArgumentNullException.ThrowIfNull(rules);
        IReadOnlyList<SeccompRule> ruleList = [.. rules];
        var tokens = new List<uint>();
        nint context = SeccompInit(defaultAction);
        if (context == 0)
        {
            throw new NativeException("seccomp_init", NativeError.EINVAL);
        }

        try
        {
            foreach (string architecture in architectures)
            {
                uint token = SeccompArchResolveName(architecture);
                if (token == 0)
                {
                    continue; // an architecture this libseccomp does not know: it cannot run here either
                }

                int result = SeccompArchAdd(context, token);
                if (result != 0 && result != -NativeError.EEXIST)
                {
                    throw new NativeException($"seccomp_arch_add {architecture}", -result);
                }

                tokens.Add(token);
            }

            tokens.Add(SeccompArchNative());
            foreach (SeccompRule rule in ruleList)
            {
                if (rule.Action == defaultAction)
                {
                    continue;
                }

                int number = SeccompSyscallResolveName(rule.Syscall);
                if (number == -1)
                {
                    continue; // __NR_SCMP_ERROR: unknown here
                }

                SeccompCondition[] conditions = [.. rule.Conditions];
                int result;
                fixed (SeccompCondition* array = conditions)
                {
                    result = SeccompRuleAddArray(context, rule.Action, number, (uint)conditions.Length, array);
                }

                if (result != 0)
                {
                    throw new NativeException($"seccomp_rule_add {rule.Syscall}", -result);
                }
            }

            using (Microsoft.Win32.SafeHandles.SafeFileHandle file = File.OpenHandle(path, FileMode.Create, FileAccess.Write))
            {
                int exported = SeccompExportBpf(context, (int)file.DangerousGetHandle());
                if (exported != 0)
                {
                    throw new NativeException("seccomp_export_bpf", -exported);
                }
            }

            if (!LetsCallsThrough(defaultAction))
            {
                byte[] stub = SeccompEnosysStub.Build(LastSyscalls(tokens.Distinct(), ruleList));
                File.WriteAllBytes(path, [.. stub, .. File.ReadAllBytes(path)]);
            }
        }
        finally
        {
            SeccompRelease(context);
        }
    }

    // runc's rule: no stub when unknown syscalls pass anyway (allow, log) or go to a tracer that handles them.
    private static bool LetsCallsThrough(uint action) =>
        action is ActAllow or ActLog || (action & 0xffff0000) == ActTrace(0);

    /// <summary>Per architecture (libseccomp token), the highest syscall number any rule names there.</summary>
    private static Dictionary<uint, uint> LastSyscalls(IEnumerable<uint> tokens, IReadOnlyList<SeccompRule> rules)
    {
        var last = new Dictionary<uint, uint>();
        string[] names = [.. rules.Select(r => r.Syscall).Distinct(StringComparer.Ordinal)];
        foreach (uint token in tokens)
        {
            foreach (string name in names)
            {
                // Negative: unknown to libseccomp, or a pseudo-number for a syscall this architecture lacks.
                int number = SeccompSyscallResolveNameArch(token, name);
                if (number >= 0 && (!last.TryGetValue(token, out uint known) || (uint)number > known))
                {
                    last[token] = (uint)number;
                }
            }
        }

        return last;
    }

    [LibraryImport(Library, EntryPoint = "seccomp_init")]
    private static partial nint SeccompInit(uint defaultAction);

    [LibraryImport(Library, EntryPoint = "seccomp_release")]
    private static partial void SeccompRelease(nint context);

    [LibraryImport(Library, EntryPoint = "seccomp_arch_resolve_name", StringMarshalling = StringMarshalling.Utf8)]
    private static partial uint SeccompArchResolveName(string name);

    [LibraryImport(Library, EntryPoint = "seccomp_arch_native")]
    private static partial uint SeccompArchNative();

    [LibraryImport(Library, EntryPoint = "seccomp_syscall_resolve_name_arch", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SeccompSyscallResolveNameArch(uint token, string name);

    [LibraryImport(Library, EntryPoint = "seccomp_arch_add")]
    private static partial int SeccompArchAdd(nint context, uint token);

    [LibraryImport(Library, EntryPoint = "seccomp_syscall_resolve_name", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SeccompSyscallResolveName(string name);

    [LibraryImport(Library, EntryPoint = "seccomp_rule_add_array")]
    private static partial int SeccompRuleAddArray(nint context, uint action, int syscall, uint count, SeccompCondition* conditions);

    [LibraryImport(Library, EntryPoint = "seccomp_export_bpf")]
    private static partial int SeccompExportBpf(nint context, int fd);
}
