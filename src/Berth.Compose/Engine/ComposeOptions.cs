namespace Berth.Compose.Engine;

/// <summary>Where the engine tells what it does (<c>Container proj-web-1  Started</c>) and what it warns about.</summary>
public interface IComposeReporter
{
    void Report(string kind, string name, string status);

    void Warn(string message);

    /// <summary>Builder and pull output lines.</summary>
    void Output(string text);
}

public sealed record UpOptions
{
    public IReadOnlyList<string> Services { get; init; } = [];

    public bool Build { get; init; }

    public bool NoBuild { get; init; }

    public bool ForceRecreate { get; init; }

    public bool NoRecreate { get; init; }

    public bool RemoveOrphans { get; init; }

    public bool NoDeps { get; init; }

    public bool NoStart { get; init; }

    public bool Wait { get; init; }

    public TimeSpan WaitTimeout { get; init; } = TimeSpan.FromMinutes(5);

    public IReadOnlyDictionary<string, int> Scale { get; init; } = new Dictionary<string, int>();

    /// <summary>How long a depends_on condition may take before up fails.</summary>
    public TimeSpan DependencyTimeout { get; init; } = TimeSpan.FromMinutes(5);
}

public sealed record DownOptions
{
    public bool Volumes { get; init; }

    /// <summary>"local" (images built for the project) or "all"; null keeps images.</summary>
    public string? RemoveImages { get; init; }

    public bool RemoveOrphans { get; init; }

    public int? Timeout { get; init; }
}
