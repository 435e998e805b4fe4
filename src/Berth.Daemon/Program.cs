using Berth.Api.Server;
using Berth.Daemon;
using Berth.Engine;
using Berth.Engine.Containers;
using Berth.Engine.Host;
using Berth.Engine.Images;
using Berth.Images;
using Berth.Runtime;
using Berth.Storage.Content;
using Berth.Storage.Metadata;
using Berth.Storage.Snapshots;

// `nohup berthd &` starts it with SIGHUP ignored, a script's `berthd &` with SIGINT ignored: take both back before
// anything registers for them, so a reload (SIGHUP) and an interrupt (SIGINT) work as they do for dockerd.
Berth.Interop.ProcessControl.StopIgnoring(Signals.SIGHUP);
Berth.Interop.ProcessControl.StopIgnoring(Signals.SIGINT);

DaemonOptions options;
try
{
    if (args.Contains("-h") || args.Contains("--help"))
    {
        Console.WriteLine(DaemonOptions.Usage);
        return 0;
    }

    options = DaemonOptions.Parse(args);
}
catch (ArgumentException e)
{
    await Console.Error.WriteLineAsync($"berthd: {e.Message}\nSee 'berthd --help'.").ConfigureAwait(false);
    return args.Contains("--validate") ? 1 : 125;
}

DaemonDefaults defaults;
Berth.Distribution.DistributionOptions distribution;
try
{
    defaults = DaemonDefaults.Parse(options.Stored);
    distribution = Berth.Engine.Images.RegistrySettings.Parse(options.Stored);
    // Per-registry CAs as dockerd reads them (certs.d/HOST:PORT/ca.crt), first beside our daemon.json, then Docker's.
    distribution = distribution with { CertsDirectories = [Path.Combine(Path.GetDirectoryName(Path.GetFullPath(options.ConfigFile ?? DaemonConfigFile.DefaultPath))!, "certs.d"), Berth.Distribution.RegistryTls.DockerCertsDirectory] };
}
catch (FormatException e)
{
    await Console.Error.WriteLineAsync($"berthd: {e.Message}").ConfigureAwait(false);
    return 1;
}

if (options.ValidateOnly)
{
    Console.WriteLine("configuration OK");
    return 0;
}

if (Environment.UserName != "root" && Environment.GetEnvironmentVariable("USER") != "root" && !IsRoot())
{
    await Console.Error.WriteLineAsync("berthd needs to be started with root privileges").ConfigureAwait(false);
    return 1;
}

Directory.CreateDirectory(options.DataRoot);
Directory.CreateDirectory(options.ExecRoot);
using var pidFile = PidFile.Acquire(options.PidFile!);
if (pidFile is null)
{
    await Console.Error.WriteLineAsync($"berthd: pid file found, ensure berthd is not running or delete {options.PidFile}").ConfigureAwait(false);
    return 1;
}

// berthd reads no appsettings.json; without this the host watches for one in the working directory with a
// FileSystemWatcher (an inotify instance and a thread of its own for the daemon's lifetime).
WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o =>
{
    o.SingleLine = true;
    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
    o.UseUtcTimestamp = true;
});
// The level is a switch, not a fixed minimum: SIGHUP may change it (daemon.json's log-level or debug).
LogLevelSwitch.Set(options.LogLevel);
builder.Logging.SetMinimumLevel(LogLevel.Trace);
builder.Logging.AddFilter((_, level) => level >= LogLevelSwitch.Current);
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);

List<string> unixSockets = DaemonListeners.Configure(builder.WebHost, options.Hosts);


var engineOptions = new EngineOptions { DataRoot = options.DataRoot, ExecRoot = options.ExecRoot, DefaultBridgeName = options.BridgeName, InterContainerCommunication = options.InterContainerCommunication, Defaults = defaults, Distribution = distribution };
try
{
    engineOptions.Validate();
}
catch (ArgumentException e)
{
    await Console.Error.WriteLineAsync($"berthd: {e.Message}").ConfigureAwait(false);
    return 125;
}

var runtimeOptions = new RuntimeOptions
{
    RuntimePath = options.RuntimePath,
    Runtimes = options.Runtimes,
    DefaultRuntime = options.DefaultRuntime ?? OciRuntimeEntry.Runc,
    RuntimeRoot = Path.Combine(options.ExecRoot, "runc"),
    MonitorPath = options.MonitorPath!,
    NativeExec = options.ExecPath == "native",
};
builder.Services.AddSingleton(engineOptions);
builder.Services.AddSingleton(new Berth.Engine.Host.DaemonLabels { Current = options.Labels });
builder.Services.AddSingleton(runtimeOptions);
builder.Services.AddSingleton(HostFacts.Read());
builder.Services.AddSingleton(new MetadataStore(Path.Combine(options.DataRoot, "metadata", "berth.db")));
builder.Services.AddSingleton(new ContentStore(Path.Combine(options.DataRoot, "content")));
builder.Services.AddSingleton(new OverlaySnapshotter(Path.Combine(options.DataRoot, "overlay2")));
builder.Services.AddHostedService<Berth.Daemon.IdleMemoryTrimmer>();
builder.Services.AddSingleton<Berth.Engine.Events.EventLog>();
builder.Services.AddSingleton<ImageStore>();
builder.Services.AddSingleton<RuncDriver>();
builder.Services.AddSingleton<MonitorLauncher>();
builder.Services.AddSingleton<Berth.Engine.Volumes.VolumeService>();
builder.Services.AddSingleton<Berth.Engine.Volumes.IVolumeBackend>(sp => sp.GetRequiredService<Berth.Engine.Volumes.VolumeService>());
builder.Services.AddSingleton<Berth.Engine.Networking.Firewall>();
builder.Services.AddSingleton<Berth.Engine.Networking.EmbeddedDns>();
builder.Services.AddSingleton<Berth.Engine.Networking.NetworkService>();
builder.Services.AddSingleton<Berth.Engine.Networking.INetworkBackend, Berth.Engine.Networking.NetworkBackend>();
builder.Services.AddSingleton<ContainerService>();
builder.Services.AddSingleton<IContainerBackend>(sp => sp.GetRequiredService<ContainerService>());
builder.Services.AddSingleton<IContainerStatsBackend>(sp => sp.GetRequiredService<ContainerService>());
builder.Services.AddSingleton<ExecService>();
builder.Services.AddSingleton<IExecBackend>(sp => sp.GetRequiredService<ExecService>());
builder.Services.AddSingleton<IImageBackend, ImageService>();
builder.Services.AddSingleton<Berth.Engine.Build.BuildCache>();
builder.Services.AddSingleton<Berth.Engine.Build.IBuildBackend, Berth.Engine.Build.BuildService>();
builder.Services.AddSingleton<IRegistryBackend, RegistryService>();
builder.Services.AddSingleton<ISystemBackend, SystemService>();
builder.Services.AddSingleton<IContainerLifecycleBackend>(sp => sp.GetRequiredService<ContainerService>());
builder.Services.AddSingleton<Berth.Engine.Events.EventService>();
builder.Services.AddSingleton<Berth.Engine.Events.IEventBackend>(sp => sp.GetRequiredService<Berth.Engine.Events.EventService>());
builder.Services.AddSingleton<IDiskUsageBackend, DiskUsageService>();
builder.Services.AddSingleton<HealthMonitor>();
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));

WebApplication app = builder.Build();
app.UseEngineApi(new ApiServerOptions(SystemService.MinApiVersion, SystemService.ApiVersion, SystemService.EngineVersion));

ILogger logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("berthd");
ContainerService containers = app.Services.GetRequiredService<ContainerService>();
Berth.Engine.Networking.NetworkService networks = app.Services.GetRequiredService<Berth.Engine.Networking.NetworkService>();
await networks.InitializeAsync(CancellationToken.None).ConfigureAwait(false);
app.Services.GetRequiredService<HealthMonitor>().Start(); // before restore: it follows the starts restart policies make
await containers.RestoreAsync(CancellationToken.None).ConfigureAwait(false);
await networks.RestoreEndpointsAsync(containers.Records.Where(r => r.IsRunning).Select(r => r.Id).ToHashSet(StringComparer.Ordinal), CancellationToken.None).ConfigureAwait(false);

app.Lifetime.ApplicationStopping.Register(containers.BeginShutdown);
app.Lifetime.ApplicationStopping.Register(app.Services.GetRequiredService<Berth.Engine.Events.EventService>().BeginShutdown);
app.Lifetime.ApplicationStarted.Register(() =>
{
    DaemonListeners.SecureSockets(unixSockets, options.Group);
    DaemonLog.Listening(logger, string.Join(", ", options.Hosts), options.DataRoot);
});

using System.Runtime.InteropServices.PosixSignalRegistration hangup = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGHUP, context =>
{
    context.Cancel = true; // a reload, not an exit
    DaemonReload.Run(options, app.Services.GetRequiredService<Berth.Engine.Events.EventLog>(), logger);
    app.Services.GetRequiredService<Berth.Engine.Host.DaemonLabels>().Current = options.Labels;
});
await app.RunAsync().ConfigureAwait(false);
DaemonLog.Stopped(logger);
foreach (string socket in unixSockets)
{
    File.Delete(socket);
}

return 0;

static bool IsRoot() => File.Exists("/proc/self/status") && File.ReadLines("/proc/self/status").Any(l => l.StartsWith("Uid:", StringComparison.Ordinal) && l.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1] == "0");
