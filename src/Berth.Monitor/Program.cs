using Berth.Interop;
using Berth.Monitor;

// berth-monitor: the per-container monitor; the contract with berthd is docs/monitor-protocol.md.
MonitorOptions options;
try
{
    options = MonitorOptions.Parse(args);
}
catch (ArgumentException e)
{
    await Console.Error.WriteLineAsync($"berth-monitor: {e.Message}\n{MonitorOptions.Usage}");
    SyncPipe.TryReportEarlyError(e.Message);
    return 2;
}

if (!options.Foreground)
{
    return Detach(options);
}

// Hold no directory of berthd's busy (an unmount of it would fail for the container's lifetime).
Directory.SetCurrentDirectory("/");
return await new ContainerMonitor(options, SyncPipe.Open()).RunAsync();

// The double fork: re-spawn ourselves with --foreground in a new session and exit at once, so berthd
// reaps only this short-lived process and the real monitor is re-parented away from berthd.
static int Detach(MonitorOptions options)
{
    var argv = new List<string>();
    string self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
    argv.Add(self);
    if (Path.GetFileNameWithoutExtension(self) == "dotnet")
    {
        // Run as `dotnet berth-monitor.dll` (the JIT build the tests use): the host needs the dll.
        argv.Add(Path.Combine(AppContext.BaseDirectory, "berth-monitor.dll"));
    }

    argv.AddRange((options with { Foreground = true }).ToArguments());
    try
    {
        List<(int, int)> fds = FileDescriptorFlags.IsOpen(SyncPipe.Fd) ? [(SyncPipe.Fd, SyncPipe.Fd)] : [];
        _ = Spawn.Start(self, argv, environment: null, fds, newSession: true);
        return 0;
    }
    catch (NativeException e)
    {
        Console.Error.WriteLine($"berth-monitor: {e.Message}");
        SyncPipe.TryReportEarlyError(e.Message);
        return 1;
    }
}
