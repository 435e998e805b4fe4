namespace Berth.Runtime;

/// <summary>Where the runtime's binaries and state live.</summary>
public sealed record RuntimeOptions
{
    /// <summary>The OCI runtime binary (runc).</summary>
    public required string RuntimePath { get; init; }

    /// <summary>The runtimes registered by name besides <c>runc</c> (which is <see cref="RuntimePath"/>).</summary>
    public IReadOnlyDictionary<string, OciRuntimeEntry> Runtimes { get; init; } = new Dictionary<string, OciRuntimeEntry>(StringComparer.Ordinal);

    /// <summary>The runtime of a container that names none (daemon.json's <c>default-runtime</c>).</summary>
    public string DefaultRuntime { get; init; } = OciRuntimeEntry.Runc;

    /// <summary>Every runtime by name, <c>runc</c> included.</summary>
    public IReadOnlyDictionary<string, OciRuntimeEntry> AllRuntimes =>
        new Dictionary<string, OciRuntimeEntry>(Runtimes, StringComparer.Ordinal) { [OciRuntimeEntry.Runc] = new OciRuntimeEntry(RuntimePath, []) };

    /// <summary>The runtime called <paramref name="name"/> (the default when empty), or null when there is none.</summary>
    public OciRuntimeEntry? Find(string? name)
    {
        name = string.IsNullOrEmpty(name) ? DefaultRuntime : name;
        return name == OciRuntimeEntry.Runc ? new OciRuntimeEntry(RuntimePath, []) : Runtimes.GetValueOrDefault(name);
    }

    /// <summary>The name a new container's <c>HostConfig.Runtime</c> records: the requested one, or the default; Docker's 400 for an unknown one.</summary>
    public string ResolveName(string? requested)
    {
        string name = string.IsNullOrEmpty(requested) ? DefaultRuntime : requested;
        return Find(name) is null ? throw Primitives.EngineException.Invalid($"unknown or invalid runtime name: {name}") : name;
    }

    /// <summary>The runtime's <c>--root</c> (its state directory, on tmpfs under the exec root).</summary>
    public required string RuntimeRoot { get; init; }

    /// <summary>The berth-monitor binary (or a .dll run through dotnet in development).</summary>
    public required string MonitorPath { get; init; }

    /// <summary>
    /// Whether execs in runc containers go through berth-exec (daemon.json <c>"exec-path": "native"</c>, the default)
    /// rather than <c>runc exec</c> (<c>"runtime"</c>).
    /// </summary>
    public bool NativeExec { get; init; } = true;

    /// <summary>berth-exec, what the monitor runs for a native exec (shipped beside the monitor).</summary>
    public string ExecHelperPath => BesideMonitor("berth-exec");

    /// <summary>The init process of <c>run --init</c> (berth-init, shipped beside the monitor).</summary>
    public string InitPath => BesideMonitor("berth-init");

    private string BesideMonitor(string name) => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(MonitorPath)) ?? "/", name);
}
