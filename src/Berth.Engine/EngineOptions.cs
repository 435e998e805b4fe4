namespace Berth.Engine;

/// <summary>Where the engine keeps its state.</summary>
public sealed record EngineOptions
{
    /// <summary>Persistent state: metadata, content, layers, container files (default /var/lib/berth).</summary>
    public required string DataRoot { get; init; }

    /// <summary>Runtime state that dies with the machine: monitor sockets, runc state (default /run/berth).</summary>
    public required string ExecRoot { get; init; }

    public string ContainersDirectory => Path.Combine(DataRoot, "containers");

    public string ContainerStateDirectory(string id) => Path.Combine(ExecRoot, "containers", id);
}
