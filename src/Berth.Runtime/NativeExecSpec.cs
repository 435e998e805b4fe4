using System.Globalization;
using System.Text;
using Berth.Interop;

namespace Berth.Runtime;

/// <summary>
/// What berth-exec (src/berth-exec, spec.c) runs, instead of runc's process.json: NUL-terminated "key value" records,
/// so the C side needs no JSON parser. The container's own settings (capabilities, rlimits, no_new_privs, oom score,
/// seccomp) come from its bundle's config.json, the rest from the exec request, as runc exec merges them.
/// </summary>
public sealed record NativeExecSpec
{
    public required IReadOnlyList<string> Args { get; init; }

    public required IReadOnlyList<string> Env { get; init; }

    public required string Cwd { get; init; }

    public required uint Uid { get; init; }

    public required uint Gid { get; init; }

    public IReadOnlyList<uint> AdditionalGids { get; init; } = [];

    public bool Terminal { get; init; }

    /// <summary>The terminal's size (rows, columns) before the process starts, as runc sets an OCI process's consoleSize.</summary>
    public (uint Rows, uint Columns)? ConsoleSize { get; init; }

    /// <summary>All capabilities in every set but ambient and inheritable (<c>exec --privileged</c>, as Docker does).</summary>
    public IReadOnlyList<string>? PrivilegedCapabilities { get; init; }

    /// <summary>The compiled seccomp filter to load, or null for none (an unconfined or privileged container).</summary>
    public string? SeccompPath { get; init; }

    /// <summary>The spec file path of exec <paramref name="name"/> in a container's state directory; its presence tells the monitor to run berth-exec.</summary>
    public static string PathFor(string stateDirectory, string name) => Path.Combine(stateDirectory, name + ".exec.spec");

    /// <summary>The BPF program of a container's seccomp filter, compiled once (at its first native exec) into its state directory.</summary>
    public static string SeccompPathFor(string stateDirectory) => Path.Combine(stateDirectory, "seccomp.bpf");

    /// <summary>The records for this exec in a container whose bundle spec is <paramref name="container"/>.</summary>
    public byte[] Serialize(OciSpec container)
    {
        ArgumentNullException.ThrowIfNull(container);
        var text = new StringBuilder();
        void Add(string key, string value)
        {
            if (value.Contains('\0', StringComparison.Ordinal))
            {
                throw new ArgumentException($"a NUL byte in the exec's {key}");
            }

            text.Append(key).Append(' ').Append(value).Append('\0');
        }

        foreach (string arg in Args)
        {
            Add("arg", arg);
        }

        foreach (string variable in Env)
        {
            Add("env", variable);
        }

        Add("cwd", Cwd);
        Add("uid", Uid.ToString(CultureInfo.InvariantCulture));
        Add("gid", Gid.ToString(CultureInfo.InvariantCulture));
        foreach (uint group in AdditionalGids)
        {
            Add("group", group.ToString(CultureInfo.InvariantCulture));
        }

        OciProcess process = container.Process;
        OciCapabilities capabilities = PrivilegedCapabilities is { } all
            ? new OciCapabilities { Bounding = all, Effective = all, Permitted = all }
            : process.Capabilities ?? new OciCapabilities();
        Add("capb", Mask(capabilities.Bounding));
        Add("cape", Mask(capabilities.Effective));
        Add("capp", Mask(capabilities.Permitted));
        Add("capi", "0");
        Add("capa", "0");
        foreach (OciRlimit limit in process.Rlimits ?? [])
        {
            int resource = Array.IndexOf(RlimitNames, limit.Type);
            if (resource < 0)
            {
                throw new ArgumentException($"unknown rlimit {limit.Type}");
            }

            Add("rlimit", FormattableString.Invariant($"{resource} {limit.Soft} {limit.Hard}"));
        }

        Add("nnp", process.NoNewPrivileges ? "1" : "0");
        if (process.OomScoreAdj is int oom)
        {
            Add("oom", oom.ToString(CultureInfo.InvariantCulture));
        }

        if (SeccompPath is not null)
        {
            Add("seccomp", SeccompPath);
        }

        Add("terminal", Terminal ? "1" : "0");
        if (Terminal && ConsoleSize is (uint rows, uint columns))
        {
            Add("winsize", FormattableString.Invariant($"{Math.Min(rows, ushort.MaxValue)} {Math.Min(columns, ushort.MaxValue)}"));
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>Compiles <paramref name="seccomp"/> to <paramref name="path"/> unless it is there already (written whole or not at all).</summary>
    public static void EnsureSeccompCompiled(OciSeccomp seccomp, string path)
    {
        ArgumentNullException.ThrowIfNull(seccomp);
        if (File.Exists(path))
        {
            return;
        }

        string temporary = path + ".tmp" + Environment.CurrentManagedThreadId.ToString(CultureInfo.InvariantCulture);
        try
        {
            SeccompCompiler.Compile(
                Action(seccomp.DefaultAction, seccomp.DefaultErrnoRet),
                (seccomp.Architectures ?? []).Select(a => a.StartsWith("SCMP_ARCH_", StringComparison.Ordinal) ? a["SCMP_ARCH_".Length..].ToLowerInvariant() : a.ToLowerInvariant()),
                Rules(seccomp),
                temporary);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>
    /// runc's translation: one libseccomp rule per syscall name, its conditions ANDed; but when two conditions test the same
    /// argument they cannot all hold at once, and runc then adds each as a rule of its own (ORed), and so does this.
    /// </summary>
    private static IEnumerable<SeccompRule> Rules(OciSeccomp seccomp)
    {
        foreach (OciSyscall syscall in seccomp.Syscalls ?? [])
        {
            uint action = Action(syscall.Action, syscall.ErrnoRet);
            SeccompCondition[] conditions = [.. (syscall.Args ?? []).Select(a => new SeccompCondition(a.Index, Operator(a.Op), a.Value, a.ValueTwo ?? 0))];
            bool sameArgumentTwice = conditions.GroupBy(c => c.Index).Any(g => g.Count() > 1);
            foreach (string name in syscall.Names)
            {
                if (sameArgumentTwice)
                {
                    foreach (SeccompCondition condition in conditions)
                    {
                        yield return new SeccompRule(name, action, [condition]);
                    }
                }
                else
                {
                    yield return new SeccompRule(name, action, conditions);
                }
            }
        }
    }

    private const uint EPERM = 1;

    private static uint Action(string name, uint? errno) => name switch
    {
        "SCMP_ACT_KILL" or "SCMP_ACT_KILL_THREAD" => SeccompCompiler.ActKillThread,
        "SCMP_ACT_KILL_PROCESS" => SeccompCompiler.ActKillProcess,
        "SCMP_ACT_TRAP" => SeccompCompiler.ActTrap,
        "SCMP_ACT_ERRNO" => SeccompCompiler.ActErrno(errno ?? EPERM),
        "SCMP_ACT_TRACE" => SeccompCompiler.ActTrace(errno ?? EPERM),
        "SCMP_ACT_LOG" => SeccompCompiler.ActLog,
        "SCMP_ACT_ALLOW" => SeccompCompiler.ActAllow,
        _ => throw new ArgumentException($"unsupported seccomp action {name}"),
    };

    private static int Operator(string name) => name switch
    {
        "SCMP_CMP_NE" => 1,
        "SCMP_CMP_LT" => 2,
        "SCMP_CMP_LE" => 3,
        "SCMP_CMP_EQ" => 4,
        "SCMP_CMP_GE" => 5,
        "SCMP_CMP_GT" => 6,
        "SCMP_CMP_MASKED_EQ" => 7,
        _ => throw new ArgumentException($"unsupported seccomp operator {name}"),
    };

    private static string Mask(IReadOnlyList<string> names)
    {
        ulong mask = 0;
        foreach (string name in names)
        {
            int bit = CapabilitySet.Known.ToList().IndexOf(name);
            if (bit < 0)
            {
                throw new ArgumentException($"unknown capability {name}");
            }

            mask |= 1UL << bit;
        }

        return mask.ToString("x", CultureInfo.InvariantCulture);
    }

    // In the kernel's order (asm-generic/resource.h), so the index is the resource number.
    private static readonly string[] RlimitNames =
    [
        "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS", "RLIMIT_NPROC",
        "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE",
        "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
    ];
}
