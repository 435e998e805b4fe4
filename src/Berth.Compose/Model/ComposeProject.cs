using Berth.Compose.Loading;

namespace Berth.Compose;

/// <summary>A loaded, merged, interpolated and validated compose project.</summary>
public sealed class ComposeProject
{
    public required string Name { get; init; }

    public required string WorkingDirectory { get; init; }

    public required IReadOnlyList<string> ConfigFiles { get; init; }

    /// <summary>The merged document (services filtered by profile), what <c>config</c> prints.</summary>
    public required MapNode Root { get; init; }

    /// <summary>Enabled services, in file order.</summary>
    public required IReadOnlyList<ComposeService> Services { get; init; }

    /// <summary>Services switched off by their profiles (down still removes their containers).</summary>
    public IReadOnlyList<string> DisabledServices { get; init; } = [];

    public IReadOnlyDictionary<string, MapNode> Networks { get; init; } = new Dictionary<string, MapNode>();

    public IReadOnlyDictionary<string, MapNode> Volumes { get; init; } = new Dictionary<string, MapNode>();

    public IReadOnlyDictionary<string, MapNode> Secrets { get; init; } = new Dictionary<string, MapNode>();

    public IReadOnlyDictionary<string, MapNode> Configs { get; init; } = new Dictionary<string, MapNode>();

    /// <summary>The variables the project was interpolated with: the process environment over the .env file.</summary>
    public required Func<string, string?> Lookup { get; init; }

    public List<string> Warnings { get; } = [];

    public ComposeService Service(string name) =>
        Services.FirstOrDefault(s => s.Name == name) ?? throw new ComposeException($"no such service: {name}");

    /// <summary>The daemon name of a project network (<c>PROJECT_default</c>, or its <c>name:</c>).</summary>
    public string NetworkName(string key) =>
        Networks.TryGetValue(key, out MapNode? n) && ServicePort.Text(n["name"]) is { } name ? name : $"{Name}_{key}";

    /// <summary>The daemon name of a project volume (<c>PROJECT_data</c>, or its <c>name:</c>).</summary>
    public string VolumeName(string key) =>
        Volumes.TryGetValue(key, out MapNode? v) && ServicePort.Text(v["name"]) is { } name ? name : $"{Name}_{key}";

    public static bool IsExternal(MapNode resource) => ServicePort.Text(resource["external"]) is "true" or "True";
}

/// <summary>How a service waits for one it depends on.</summary>
public sealed record ServiceDependency(string Service, string Condition, bool Restart, bool Required);

/// <summary>One service of the project: its name, its (normalised) definition and the facts the engine needs often.</summary>
public sealed class ComposeService
{
    public required string Name { get; init; }

    public required MapNode Definition { get; init; }

    public IReadOnlyList<ServiceDependency> DependsOn { get; init; } = [];

    /// <summary>deploy.replicas or scale (1 by default); <c>up --scale</c> overrides it.</summary>
    public int Replicas { get; set; } = 1;

    public string? Get(string key) => ServicePort.Text(Definition[key]);

    public string? Image => Get("image");

    public MapNode? Build => Definition["build"] as MapNode;

    /// <summary>The image a container of this service runs: image:, or PROJECT-SERVICE for a build without image:.</summary>
    public string ImageName(string project) => Image ?? $"{project}-{Name}";

    public string? ContainerName => Get("container_name");
}
