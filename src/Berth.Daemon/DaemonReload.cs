using Berth.Engine.Events;

namespace Berth.Daemon;

/// <summary>The log level berthd filters by; SIGHUP may change it while the daemon runs.</summary>
internal static class LogLevelSwitch
{
    private static int _level = (int)LogLevel.Information;

    public static LogLevel Current => (LogLevel)Volatile.Read(ref _level);

    public static void Set(string name) => Volatile.Write(ref _level, (int)Parse(name));

    public static LogLevel Parse(string name) => name switch
    {
        "debug" => LogLevel.Debug,
        "warn" or "warning" => LogLevel.Warning,
        "error" => LogLevel.Error,
        "fatal" => LogLevel.Critical,
        _ => LogLevel.Information,
    };
}

/// <summary>
/// SIGHUP, as dockerd: reads daemon.json again and applies what can change while running (the log level and debug,
/// the labels); the rest needs a restart. The outcome is logged and published as a <c>daemon reload</c> event.
/// </summary>
internal static partial class DaemonReload
{
    public static void Run(DaemonOptions current, EventLog events, ILogger logger)
    {
        var fresh = new DaemonOptions { ConfigFile = current.ConfigFile };
        try
        {
            DaemonConfigFile.Apply(fresh, reload: true);
        }
        catch (ArgumentException e)
        {
            ReloadFailed(logger, e.Message);
            return;
        }

        if (!current.FlagsSet.Contains("log-level") && !current.FlagsSet.Contains("debug"))
        {
            current.LogLevel = fresh.LogLevel;
            LogLevelSwitch.Set(fresh.LogLevel);
        }

        current.Labels = fresh.Labels;
        current.LiveRestore = fresh.LiveRestore;
        string labels = "[" + string.Join(" ", current.Labels) + "]";
        Reloaded(logger, current.LogLevel, labels);
        string id = File.Exists("/etc/machine-id") ? File.ReadAllText("/etc/machine-id").Trim() : Environment.MachineName;
        events.Publish("daemon", "reload", id, new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["name"] = Environment.MachineName,
            ["debug"] = (current.LogLevel == "debug").ToString().ToLowerInvariant(),
            ["log-level"] = current.LogLevel,
            ["labels"] = labels,
            ["live-restore"] = current.LiveRestore.ToString().ToLowerInvariant(),
        });
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "configuration reloaded: log-level {Level}, labels {Labels}")]
    private static partial void Reloaded(ILogger logger, string level, string labels);

    [LoggerMessage(EventId = 11, Level = LogLevel.Error, Message = "configuration reload failed: {Reason}")]
    private static partial void ReloadFailed(ILogger logger, string reason);
}
