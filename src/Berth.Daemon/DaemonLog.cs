namespace Berth.Daemon;

internal static partial class DaemonLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "berthd listening on {Hosts} (data root {DataRoot})")]
    public static partial void Listening(ILogger logger, string hosts, string dataRoot);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "berthd stopped; running containers keep running under their monitors")]
    public static partial void Stopped(ILogger logger);
}
