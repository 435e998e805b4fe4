namespace Berth.Engine;

/// <summary>Where the engine keeps its state.</summary>
public sealed record EngineOptions
{
    /// <summary>Persistent state: metadata, content, layers, container files (default /var/lib/berth).</summary>
    public required string DataRoot { get; init; }

    /// <summary>Runtime state that dies with the machine: monitor sockets, runc state (default /run/berth).</summary>
    public required string ExecRoot { get; init; }

    /// <summary>The Linux bridge of the default <c>bridge</c> network (berthd <c>--bridge-name</c>; unique per daemon on a host).</summary>
    public string DefaultBridgeName { get; init; } = "berth0";

    /// <summary>Traffic between containers on the default bridge (berthd <c>--icc</c>).</summary>
    public bool InterContainerCommunication { get; init; } = true;

    public string ContainersDirectory => Path.Combine(DataRoot, "containers");

    /// <summary>A container's monitor state (short on purpose: its socket path must fit a unix address).</summary>
    public string ContainerStateDirectory(string id) => Path.Combine(ExecRoot, "c", id);

    /// <summary>The longest exec root for which every monitor socket path fits in sun_path (107 bytes).</summary>
    public const int MaxExecRootLength = 107 - 3 - 64 - 13;

    /// <summary>Refuses an exec root too long for the monitor sockets under it, with a clear message.</summary>
    public void Validate()
    {
        string full = Path.GetFullPath(ExecRoot).TrimEnd('/');
        if (full.Length > MaxExecRootLength)
        {
            throw new ArgumentException($"--exec-root {full} is too long: at most {MaxExecRootLength} characters, so the monitor sockets under it fit a unix socket address");
        }
    }
}
