namespace Berth.Runtime;

/// <summary>Where the runtime's binaries and state live.</summary>
public sealed record RuntimeOptions
{
    /// <summary>The OCI runtime binary (runc).</summary>
    public required string RuntimePath { get; init; }

    /// <summary>The runtime's <c>--root</c> (its state directory, on tmpfs under the exec root).</summary>
    public required string RuntimeRoot { get; init; }

    /// <summary>The berth-monitor binary (or a .dll run through dotnet in development).</summary>
    public required string MonitorPath { get; init; }

    /// <summary>The init process of <c>run --init</c> (berth-init, shipped beside the monitor).</summary>
    public string InitPath => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(MonitorPath)) ?? "/", "berth-init");
}
