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
              --monitor string     berth-monitor binary (default: next to berthd)
          -G, --group string       Group for the unix socket (default "berth"; root only if it does not exist)
          -l, --log-level string   debug, info, warn, error (default "info")
          -D, --debug              Same as --log-level debug
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
                case "-H" or "--host": options.Hosts.Add(Value()); break;
                case "--data-root" or "-g" or "--graph": options.DataRoot = Value(); break;
                case "--exec-root": options.ExecRoot = Value(); break;
                case "-p" or "--pidfile": options.PidFile = Value(); break;
                case "--runtime": options.RuntimePath = Value(); break;
                case "--monitor": options.MonitorPath = Value(); break;
                case "-G" or "--group": options.Group = Value(); break;
                case "-l" or "--log-level": options.LogLevel = Value(); break;
                case "-D" or "--debug": options.LogLevel = "debug"; break;
                case "--bridge-name": options.BridgeName = Value(); break;
                case "--icc": options.InterContainerCommunication = inline is null || inline is "true" or "1"; break;
                default: throw new ArgumentException($"unknown flag: {arg}");
            }
        }

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
