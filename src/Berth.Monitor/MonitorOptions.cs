namespace Berth.Monitor;

/// <summary>The command line of <c>berth-monitor</c> (see docs/monitor-protocol.md), with every path made absolute.</summary>
internal sealed record MonitorOptions(
    string Id,
    string Bundle,
    string State,
    string Runtime,
    string RuntimeRoot,
    string? Log,
    bool Stdin,
    bool Foreground,
    bool Tty = false,
    long LogMaxSize = 0,
    int LogMaxFiles = 1)
{
    /// <summary>Arguments that go before every runtime command (Docker's <c>runtimeArgs</c>), from <c>--runtime-arg</c>.</summary>
    public IReadOnlyList<string> RuntimeArgs { get; init; } = [];

    /// <summary>The runtime's argv up to its command: the binary, its configured arguments and <c>--root</c>.</summary>
    public List<string> RuntimeCommand() => [Runtime, .. RuntimeArgs, "--root", RuntimeRoot];

    public const string Usage =
        "usage: berth-monitor --id ID --bundle DIR --state DIR --runtime PATH [--runtime-arg ARG]... --runtime-root DIR [--log FILE [--log-max-size BYTES] [--log-max-file N]] [--stdin] [--tty] [--foreground]";

    public string SocketPath => Path.Combine(State, "monitor.sock");

    /// <summary>Where the runtime sends the PTY master of a <c>--tty</c> container (runc's <c>--console-socket</c>).</summary>
    public string ConsoleSocketPath => Path.Combine(State, "console.sock");

    public string InitPidPath => Path.Combine(State, "init.pid");

    public string RuntimeLogPath => Path.Combine(State, "runtime.log");

    public string ExitPath => Path.Combine(State, "exit.json");

    /// <summary>
    /// What this monitor serves beyond the first protocol, one word a line (docs/monitor-protocol.md, "Features"):
    /// berthd reads it before it asks for anything a monitor started by an older Berth would not understand.
    /// </summary>
    public string FeaturesPath => Path.Combine(State, "features");

    /// <summary>Parses the arguments; throws <see cref="ArgumentException"/> naming what is wrong.</summary>
    public static MonitorOptions Parse(IReadOnlyList<string> args)
    {
        string? id = null, bundle = null, state = null, runtime = null, runtimeRoot = null, log = null;
        bool stdin = false, foreground = false, tty = false;
        long maxSize = 0;
        int maxFiles = 1;
        var runtimeArgs = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--id": id = Value(args, ref i); break;
                case "--bundle": bundle = Value(args, ref i); break;
                case "--state": state = Value(args, ref i); break;
                case "--runtime": runtime = Value(args, ref i); break;
                case "--runtime-root": runtimeRoot = Value(args, ref i); break;
                case "--runtime-arg": runtimeArgs.Add(Value(args, ref i)); break;
                case "--log": log = Value(args, ref i); break;
                case "--log-max-size": maxSize = Positive(Value(args, ref i), "--log-max-size"); break;
                case "--log-max-file": maxFiles = (int)Math.Min(Positive(Value(args, ref i), "--log-max-file"), 1000); break;
                case "--stdin": stdin = true; break;
                case "--foreground": foreground = true; break;
                case "--tty": tty = true; break;
                default: throw new ArgumentException($"unknown argument '{args[i]}'");
            }
        }

        return new MonitorOptions(
            Required(id, "--id"),
            Path.GetFullPath(Required(bundle, "--bundle")),
            Path.GetFullPath(Required(state, "--state")),
            ResolveExecutable(Required(runtime, "--runtime")),
            Path.GetFullPath(Required(runtimeRoot, "--runtime-root")),
            string.IsNullOrEmpty(log) ? null : Path.GetFullPath(log),
            stdin,
            foreground,
            tty,
            maxSize,
            maxFiles)
        {
            RuntimeArgs = runtimeArgs,
        };
    }

    /// <summary>The arguments that reproduce these options (the double fork hands them to the real monitor).</summary>
    public List<string> ToArguments()
    {
        var args = new List<string>
        {
            "--id", Id, "--bundle", Bundle, "--state", State, "--runtime", Runtime,
            "--runtime-root", RuntimeRoot,
        };
        foreach (string arg in RuntimeArgs)
        {
            args.AddRange(["--runtime-arg", arg]);
        }

        if (Log is not null)
        {
            args.AddRange(["--log", Log]);
        }

        if (LogMaxSize > 0)
        {
            args.AddRange(["--log-max-size", LogMaxSize.ToString(System.Globalization.CultureInfo.InvariantCulture), "--log-max-file", LogMaxFiles.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        }

        if (Stdin)
        {
            args.Add("--stdin");
        }

        if (Foreground)
        {
            args.Add("--foreground");
        }

        if (Tty)
        {
            args.Add("--tty");
        }

        return args;
    }

    private static string Value(IReadOnlyList<string> args, ref int i) =>
        ++i < args.Count ? args[i] : throw new ArgumentException($"{args[i - 1]} needs a value");

    private static long Positive(string value, string name) =>
        long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long n) && n > 0
            ? n : throw new ArgumentException($"{name} must be a positive number");

    private static string Required(string? value, string name) =>
        string.IsNullOrEmpty(value) ? throw new ArgumentException($"{name} is required") : value;

    // posix_spawn does not search PATH, so a bare "runc" is resolved here, once.
    private static string ResolveExecutable(string name)
    {
        if (name.Contains('/', StringComparison.Ordinal))
        {
            return Path.GetFullPath(name);
        }

        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").Split(':'))
        {
            string candidate = Path.Combine(dir.Length == 0 ? "." : dir, name);
            if (File.Exists(candidate))
            {
                return Path.GetFullPath(candidate);
            }
        }

        throw new ArgumentException($"--runtime: '{name}' not found in PATH");
    }
}
