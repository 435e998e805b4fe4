using System.Text.Json.Serialization;

namespace Berth.Images;

/// <summary>Media types of the OCI image spec and their Docker schema2 equivalents.</summary>
public static class MediaTypes
{
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string OciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
    public const string OciLayer = "application/vnd.oci.image.layer.v1.tar";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
}

/// <summary>An OCI content descriptor.</summary>
public sealed record OciDescriptor
{
    [JsonPropertyName("mediaType")] public string MediaType { get; init; } = "";
    [JsonPropertyName("digest")] public string Digest { get; init; } = "";
    [JsonPropertyName("size")] public long Size { get; init; }
    [JsonPropertyName("annotations")] public Dictionary<string, string>? Annotations { get; init; }
    [JsonPropertyName("platform")] public OciPlatform? Platform { get; init; }
}

public sealed record OciPlatform
{
    [JsonPropertyName("architecture")] public string Architecture { get; init; } = "amd64";
    [JsonPropertyName("os")] public string Os { get; init; } = "linux";
    [JsonPropertyName("variant")] public string? Variant { get; init; }
}

/// <summary>An image manifest (OCI, or Docker schema2 which has the same shape).</summary>
public sealed record OciManifest
{
    [JsonPropertyName("schemaVersion")] public int SchemaVersion { get; init; } = 2;
    [JsonPropertyName("mediaType")] public string MediaType { get; init; } = MediaTypes.OciManifest;
    [JsonPropertyName("config")] public OciDescriptor Config { get; init; } = new();
    [JsonPropertyName("layers")] public IReadOnlyList<OciDescriptor> Layers { get; init; } = [];
    [JsonPropertyName("annotations")] public Dictionary<string, string>? Annotations { get; init; }
}

/// <summary>An OCI image index (also a layout's <c>index.json</c>).</summary>
public sealed record OciIndex
{
    [JsonPropertyName("schemaVersion")] public int SchemaVersion { get; init; } = 2;
    [JsonPropertyName("mediaType")] public string MediaType { get; init; } = MediaTypes.OciIndex;
    [JsonPropertyName("manifests")] public IReadOnlyList<OciDescriptor> Manifests { get; init; } = [];
    [JsonPropertyName("annotations")] public Dictionary<string, string>? Annotations { get; init; }
}

/// <summary>One entry of a docker-archive's <c>manifest.json</c>: paths inside the archive.</summary>
public sealed record DockerArchiveManifest
{
    public string Config { get; init; } = "";
    public IReadOnlyList<string>? RepoTags { get; init; }
    public IReadOnlyList<string> Layers { get; init; } = [];
}

/// <summary>The image configuration blob; its digest is the image id.</summary>
public sealed record OciImageConfig
{
    [JsonPropertyName("created")] public DateTimeOffset? Created { get; init; }
    [JsonPropertyName("author")] public string? Author { get; init; }
    [JsonPropertyName("architecture")] public string Architecture { get; init; } = "amd64";
    [JsonPropertyName("os")] public string Os { get; init; } = "linux";
    [JsonPropertyName("config")] public ImageRuntimeConfig Config { get; init; } = new();
    [JsonPropertyName("rootfs")] public OciRootFs RootFs { get; init; } = new();
    [JsonPropertyName("history")] public IReadOnlyList<OciHistory> History { get; init; } = [];
}

/// <summary>The execution defaults in an image config (same keys as Docker's container config).</summary>
public sealed record ImageRuntimeConfig
{
    public string? User { get; init; }
    public Dictionary<string, Dictionary<string, string>>? ExposedPorts { get; init; }
    public IReadOnlyList<string>? Env { get; init; }
    public IReadOnlyList<string>? Entrypoint { get; init; }
    public IReadOnlyList<string>? Cmd { get; init; }
    public Dictionary<string, Dictionary<string, string>>? Volumes { get; init; }
    public string? WorkingDir { get; init; }
    public Dictionary<string, string>? Labels { get; init; }
    public string? StopSignal { get; init; }
    public bool? ArgsEscaped { get; init; }
    public IReadOnlyList<string>? Shell { get; init; }
    public IReadOnlyList<string>? OnBuild { get; init; }
    public ImageHealthConfig? Healthcheck { get; init; }
}

/// <summary>An image's HEALTHCHECK (durations in nanoseconds, as Docker writes them).</summary>
public sealed record ImageHealthConfig
{
    public IReadOnlyList<string>? Test { get; init; }
    public long Interval { get; init; }
    public long Timeout { get; init; }
    public int Retries { get; init; }
    public long StartPeriod { get; init; }
    public long StartInterval { get; init; }
}

public sealed record OciRootFs
{
    [JsonPropertyName("type")] public string Type { get; init; } = "layers";
    [JsonPropertyName("diff_ids")] public IReadOnlyList<string> DiffIds { get; init; } = [];
}

public sealed record OciHistory
{
    [JsonPropertyName("created")] public DateTimeOffset? Created { get; init; }
    [JsonPropertyName("created_by")] public string? CreatedBy { get; init; }
    [JsonPropertyName("comment")] public string? Comment { get; init; }
    [JsonPropertyName("empty_layer")] public bool? EmptyLayer { get; init; }
}

/// <summary>What the metadata store keeps per image.</summary>
public sealed record ImageRecord
{
    /// <summary>The config digest, which is the image id.</summary>
    public string Id { get; init; } = "";
    public string? ManifestDigest { get; init; }
    public OciImageConfig Config { get; init; } = new();

    /// <summary>Chain ids of the layers, bottom first.</summary>
    public IReadOnlyList<string> ChainIds { get; init; } = [];

    /// <summary>Unpacked size of all layers in bytes.</summary>
    public long Size { get; init; }
    public IReadOnlyList<string> RepoDigests { get; init; } = [];
    public DateTimeOffset? LastTagTime { get; init; }
}

/// <summary>What the metadata store keeps per unpacked layer.</summary>
public sealed record LayerRecord
{
    public string ChainId { get; init; } = "";
    public string DiffId { get; init; } = "";
    public string? Parent { get; init; }
    public long Size { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(OciManifest))]
[JsonSerializable(typeof(OciImageConfig))]
[JsonSerializable(typeof(ImageRecord))]
[JsonSerializable(typeof(LayerRecord))]
[JsonSerializable(typeof(OciIndex))]
[JsonSerializable(typeof(List<DockerArchiveManifest>))]
[JsonSerializable(typeof(Dictionary<string, Dictionary<string, string>>))]
[JsonSerializable(typeof(List<string>))]
public sealed partial class ImageJsonContext : JsonSerializerContext;
