using Berth.Api.Types;

namespace Berth.Engine.Build;

/// <summary>What POST /build asks for (the query parameters the docker CLI sends).</summary>
public sealed record BuildRequest
{
    public IReadOnlyList<string> Tags { get; init; } = [];
    public string Dockerfile { get; init; } = "Dockerfile";
    public IReadOnlyDictionary<string, string?> BuildArgs { get; init; } = new Dictionary<string, string?>();
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    public bool NoCache { get; init; }
    public string? Target { get; init; }
    public bool Quiet { get; init; }
}

/// <summary>The build use case the API exposes: a context tar in, the classic builder's JSON message stream out.</summary>
public interface IBuildBackend
{
    /// <summary>Builds; each progress message goes to <paramref name="emit"/>. Returns the image id, or null when the build failed (the error was emitted).</summary>
    Task<string?> BuildAsync(BuildRequest request, Stream context, Func<ProgressMessage, Task> emit, CancellationToken cancellationToken);
}
