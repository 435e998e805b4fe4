using System.Text.Json.Serialization;

namespace Berth.Api.Types;

/// <summary>One row of GET /images/json.</summary>
public sealed record ImageSummary
{
    public string Id { get; init; } = "";
    public string ParentId { get; init; } = "";
    public IReadOnlyList<string> RepoTags { get; init; } = [];
    public IReadOnlyList<string> RepoDigests { get; init; } = [];
    public long Created { get; init; }
    public long Size { get; init; }
    public long SharedSize { get; init; } = -1;
    public long VirtualSize { get; init; }
    public Dictionary<string, string> Labels { get; init; } = [];
    public int Containers { get; init; } = -1;
}

/// <summary>GET /images/{name}/json (grows with the images issue).</summary>
public sealed record ImageInspect
{
    public string Id { get; init; } = "";
    public IReadOnlyList<string> RepoTags { get; init; } = [];
    public IReadOnlyList<string> RepoDigests { get; init; } = [];
    public string Parent { get; init; } = "";
    public string Comment { get; init; } = "";
    public string Created { get; init; } = "";
    public string DockerVersion { get; init; } = "";
    public string Author { get; init; } = "";
    public ContainerConfig Config { get; init; } = new();
    public string Architecture { get; init; } = "amd64";
    public string Os { get; init; } = "linux";
    public long Size { get; init; }
    public long VirtualSize { get; init; }
    public GraphDriverData GraphDriver { get; init; } = new();
    public RootFs RootFS { get; init; } = new();
    public ImageMetadata Metadata { get; init; } = new();

    /// <summary>Only for API versions before 1.45, which still have it (docker-compose 1.29 reads its Volumes); omitted from newer answers.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ContainerConfig? ContainerConfig { get; init; }

    /// <inheritdoc cref="ContainerConfig"/>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Container { get; init; }
}

public sealed record RootFs
{
    public string Type { get; init; } = "layers";
    public IReadOnlyList<string> Layers { get; init; } = [];
}

public sealed record ImageMetadata
{
    public string LastTagTime { get; init; } = "0001-01-01T00:00:00Z";
}

/// <summary>One line of a JSON progress stream (image pull, load, bootstrap).</summary>
public sealed record ProgressMessage
{
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    [System.Text.Json.Serialization.JsonPropertyName("status")]
    public string? Status { get; init; }

    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    [System.Text.Json.Serialization.JsonPropertyName("id")]
    public string? Id { get; init; }

    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    [System.Text.Json.Serialization.JsonPropertyName("progress")]
    public string? Progress { get; init; }

    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    [System.Text.Json.Serialization.JsonPropertyName("progressDetail")]
    public ProgressDetail? ProgressDetail { get; init; }

    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    [System.Text.Json.Serialization.JsonPropertyName("stream")]
    public string? Stream { get; init; }

    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    [System.Text.Json.Serialization.JsonPropertyName("error")]
    public string? Error { get; init; }

    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    [System.Text.Json.Serialization.JsonPropertyName("errorDetail")]
    public ErrorResponse? ErrorDetail { get; init; }

    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    [System.Text.Json.Serialization.JsonPropertyName("aux")]
    public Dictionary<string, string>? Aux { get; init; }
}

/// <summary>DELETE /images/{name} answer rows: each names one thing, <c>{"Untagged": ...}</c> or <c>{"Deleted": ...}</c>,
/// as Docker writes them (clients that read the rows as maps count the keys).</summary>
public sealed record ImageDeleteResponseItem
{
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Untagged { get; init; }

    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Deleted { get; init; }
}

/// <summary>One row of GET /images/{name}/history, newest first.</summary>
public sealed record HistoryResponseItem
{
    public string Id { get; init; } = "";
    public long Created { get; init; }
    public string CreatedBy { get; init; } = "";
    public IReadOnlyList<string> Tags { get; init; } = [];
    public long Size { get; init; }
    public string Comment { get; init; } = "";
}

/// <summary>POST /images/prune answer.</summary>
public sealed record ImagePruneResponse
{
    public IReadOnlyList<ImageDeleteResponseItem> ImagesDeleted { get; init; } = [];
    public long SpaceReclaimed { get; init; }
}

/// <summary>One row of GET /images/search.</summary>
public sealed record ImageSearchResult
{
    [JsonPropertyName("description")]
    public string Description { get; init; } = "";

    [JsonPropertyName("is_official")]
    public bool IsOfficial { get; init; }

    [JsonPropertyName("is_automated")]
    public bool IsAutomated { get; init; }

    [JsonPropertyName("name")]
    public string Name { get; init; } = "";

    [JsonPropertyName("star_count")]
    public int StarCount { get; init; }
}
