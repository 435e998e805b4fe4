namespace Berth.Daemon;

/// <summary>berthd's command line: Docker's dockerd flags where they mean the same thing.</summary>
public sealed record DaemonOptions
{
    public List<string> Hosts { get; } = [];
    public string DataRoot { get; set; } = "/var/lib/berth";
    public string ExecRoot { get; set; } = "/run/berth";
    public string? PidFile { get; set; }
    public string RuntimePath { get; set; } = "";
    public string? MonitorPath { get; set; }
    public string Group { get; set; } = "berth";
    public string LogLevel { get; set; } = "info";
    public string BridgeName { get; set; } = "berth0";
    public bool InterContainerCommunication { get; set; } = true;

    /// <summary>--config-file: null means the default path, where a missing file is no error.</summary>
    public string? ConfigFile { get; set; }

    /// <summary>--validate: check the configuration, print "configuration OK" and exit.</summary>
    public bool ValidateOnly { get; set; }

    public List<string> Labels { get; set; } = [];
    public bool LiveRestore { get; set; } = true;
    public string? DefaultRuntime { get; set; }

    /// <summary>How execs run in runc containers: "native" (berth-exec, the default) or "runtime" (<c>runc exec</c>).</summary>
    public string ExecPath { get; set; } = "native";
    /// <summary>Runtimes by name from daemon.json's <c>runtimes</c> and <c>--add-runtime</c> (runc is built in).</summary>
    public Dictionary<string, Berth.Runtime.OciRuntimeEntry> Runtimes { get; } = new(StringComparer.Ordinal);

    /// <summary>daemon.json keys Berth keeps for the features that will use them (dns, registries, address pools...), as raw JSON.</summary>
    public Dictionary<string, string> Stored { get; } = new(StringComparer.Ordinal);

    /// <summary>The directives given as flags (their long names), to refuse the same directive in the file.</summary>
    public HashSet<string> FlagsSet { get; } = new(StringComparer.Ordinal);

    public string FlagValue(string flag) => flag switch
    {
        "host" => string.Join(", ", Hosts),
        "data-root" => DataRoot,
        "exec-root" => ExecRoot,
        "pidfile" => PidFile ?? "",
        "group" => Group,
        "debug" => "true",
        _ => LogLevel,
    };

    public const string Usage = """
        Usage:  berthd [OPTIONS]

        A container engine serving the Docker Engine API.

        Options:
          -H, --host list          Daemon socket(s) to listen on (unix:///path or tcp://127.0.0.1:PORT)
                                   (default unix:///run/berth/berth.sock)
              --data-root string   Root of persistent state (default "/var/lib/berth")
              --exec-root string   Root of runtime state (default "/run/berth")
          -p, --pidfile string     Path to the pid file (default EXEC-ROOT/berthd.pid)
              --runtime string     OCI runtime binary (default: runc from PATH)
              --add-runtime runtime  Register an additional OCI compatible runtime (name=path)
              --monitor string     berth-monitor binary (default: next to berthd)
          -G, --group string       Group for the unix socket (default "berth"; root only if it does not exist)
          -l, --log-level string   debug, info, warn, error (default "info")
          -D, --debug              Same as --log-level debug
              --config-file string Daemon configuration file (default "/etc/berth/daemon.json")
              --validate           Validate the configuration and exit
              --bridge-name string Linux bridge of the default network (default "berth0")
              --icc                Inter-container traffic on the default bridge (default true; --icc=false)
          -h, --help               Print usage
        """;

    public static DaemonOptions Parse(string[] args)
    {
        var options = new DaemonOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string? inline = null;
            int eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                inline = arg[(eq + 1)..];
                arg = arg[..eq];
            }

            string Value() => inline ?? (i + 1 < args.Length ? args[++i] : throw new ArgumentException($"flag needs an argument: {arg}"));
            switch (arg)
            {
                case "-H" or "--host": options.Hosts.Add(Value()); options.FlagsSet.Add("host"); break;
                case "--data-root" or "-g" or "--graph": options.DataRoot = Value(); options.FlagsSet.Add("data-root"); break;
                case "--exec-root": options.ExecRoot = Value(); options.FlagsSet.Add("exec-root"); break;
                case "-p" or "--pidfile": options.PidFile = Value(); options.FlagsSet.Add("pidfile"); break;
                case "--runtime": options.RuntimePath = Value(); break;
                case "--add-runtime": AddRuntime(options, Value()); break;
                case "--monitor": options.MonitorPath = Value(); break;
                case "-G" or "--group": options.Group = Value(); options.FlagsSet.Add("group"); break;
                case "-l" or "--log-level": options.LogLevel = Value(); options.FlagsSet.Add("log-level"); break;
                case "-D" or "--debug": options.LogLevel = "debug"; options.FlagsSet.Add("debug"); break;
                case "--config-file": options.ConfigFile = Value(); break;
                case "--validate": options.ValidateOnly = true; break;
                case "--bridge-name": options.BridgeName = Value(); break;
                case "--icc": options.InterContainerCommunication = inline is null || inline is "true" or "1"; break;
                default: throw new ArgumentException($"unknown flag: {arg}");
            }
        }

        DaemonConfigFile.Apply(options);

        if (options.Hosts.Count == 0)
        {
            options.Hosts.Add($"unix://{Path.Combine(options.ExecRoot, "berth.sock")}");
        }

        options.PidFile ??= Path.Combine(options.ExecRoot, "berthd.pid");
        if (string.IsNullOrEmpty(options.RuntimePath))
        {
            options.RuntimePath = FindOnPath("runc") ?? "/usr/sbin/runc";
        }

        options.MonitorPath ??= FindMonitor();
        return options;
    }

    /// <summary><c>--add-runtime NAME=PATH</c>, as dockerd takes it.</summary>
    private static void AddRuntime(DaemonOptions options, string value)
    {
        int eq = value.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0 || eq == value.Length - 1)
        {
            throw new ArgumentException($"invalid runtime argument: {value}");
        }

        string name = value[..eq];
        if (name == Berth.Runtime.OciRuntimeEntry.Runc)
        {
            throw new ArgumentException($"runtime name '{name}' is reserved");
        }

        options.Runtimes[name] = new Berth.Runtime.OciRuntimeEntry(value[(eq + 1)..], []);
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/sbin").Append("/sbin")
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    /// <summary>The installed native monitor next to berthd, else one on PATH, else the development build's dll.</summary>
    private static string FindMonitor()
    {
        string here = AppContext.BaseDirectory;
        string[] candidates = [Path.Combine(here, "berth-monitor"), "/usr/local/lib/berth/berth-monitor"];
        return candidates.FirstOrDefault(File.Exists) ?? FindOnPath("berth-monitor") ?? Path.Combine(here, "berth-monitor.dll");
    }
}
