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

    /// <summary>daemon.json's defaults for containers.</summary>
    public DaemonDefaults Defaults { get; init; } = new();

    /// <summary>daemon.json's insecure-registries and registry-mirrors.</summary>
    public Distribution.DistributionOptions Distribution { get; init; } = Berth.Distribution.DistributionOptions.Default;

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

/// <summary>
/// What daemon.json sets for every container that does not say otherwise: Docker's <c>dns</c>, <c>dns-search</c>,
/// <c>dns-opts</c>, <c>default-ulimits</c>, <c>log-driver</c> and <c>log-opts</c>; and for every network created without a
/// subnet: <c>default-address-pools</c> (IPv4 pools; Berth has no IPv6 networks yet, so IPv6 pools are skipped).
/// </summary>
public sealed record DaemonDefaults
{
    public IReadOnlyList<string> Dns { get; init; } = [];
    public IReadOnlyList<string> DnsSearch { get; init; } = [];
    public IReadOnlyList<string> DnsOptions { get; init; } = [];
    public IReadOnlyList<Api.Types.Ulimit> Ulimits { get; init; } = [];
    public Api.Types.LogConfig? Log { get; init; }
    public IReadOnlyList<Networking.AddressPool> AddressPools { get; init; } = Networking.AddressPool.DockerDefaults;

    /// <summary>The defaults from daemon.json's keys as the file has them (raw JSON values by key); throws <see cref="FormatException"/> for a malformed one.</summary>
    public static DaemonDefaults Parse(IReadOnlyDictionary<string, string> stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        try
        {
            var ulimits = new List<Api.Types.Ulimit>();
            if (stored.TryGetValue("default-ulimits", out string? ulimitJson))
            {
                using var document = System.Text.Json.JsonDocument.Parse(ulimitJson);
                foreach (System.Text.Json.JsonProperty property in document.RootElement.EnumerateObject())
                {
                    ulimits.Add(new Api.Types.Ulimit
                    {
                        Name = property.Value.TryGetProperty("Name", out var name) ? name.GetString() ?? property.Name : property.Name,
                        Soft = property.Value.GetProperty("Soft").GetInt64(),
                        Hard = property.Value.GetProperty("Hard").GetInt64(),
                    });
                }
            }

            string? driver = stored.TryGetValue("log-driver", out string? driverJson) ? System.Text.Json.JsonDocument.Parse(driverJson).RootElement.GetString() : null;
            Dictionary<string, string>? options = null;
            if (stored.TryGetValue("log-opts", out string? optionsJson))
            {
                using var document = System.Text.Json.JsonDocument.Parse(optionsJson);
                options = document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal);
            }

            return new DaemonDefaults
            {
                Dns = Strings(stored, "dns"),
                DnsSearch = Strings(stored, "dns-search"),
                DnsOptions = Strings(stored, "dns-opts"),
                Ulimits = ulimits,
                Log = driver is null && options is null ? null : new Api.Types.LogConfig { Type = driver ?? "json-file", Config = options },
                AddressPools = stored.TryGetValue("default-address-pools", out string? poolsJson) ? ParsePools(poolsJson) : Networking.AddressPool.DockerDefaults,
            };
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or KeyNotFoundException)
        {
            throw new FormatException($"invalid daemon configuration: {e.Message}", e);
        }
    }

    /// <summary><c>[{"base": "10.10.0.0/16", "size": 24}, ...]</c>: the IPv4 pools in order (IPv6 ones are skipped).</summary>
    private static List<Networking.AddressPool> ParsePools(string json)
    {
        using var document = System.Text.Json.JsonDocument.Parse(json);
        var pools = new List<Networking.AddressPool>();
        foreach (System.Text.Json.JsonElement pool in document.RootElement.EnumerateArray())
        {
            string baseCidr = pool.GetProperty("base").GetString() ?? "";
            if (!baseCidr.Contains(':', StringComparison.Ordinal))
            {
                pools.Add(Networking.AddressPool.Parse(baseCidr, pool.GetProperty("size").GetInt32()));
            }
        }

        return pools.Count > 0 ? pools : throw new FormatException("invalid daemon configuration: default-address-pools has no IPv4 pool");
    }

    private static IReadOnlyList<string> Strings(IReadOnlyDictionary<string, string> stored, string key)
    {
        if (!stored.TryGetValue(key, out string? json))
        {
            return [];
        }

        using var document = System.Text.Json.JsonDocument.Parse(json);
        return [.. document.RootElement.EnumerateArray().Select(e => e.GetString() ?? "")];
    }

    /// <summary>The container's HostConfig with the daemon's log config and ulimits where it has none of its own, as dockerd stores them.</summary>
    public Api.Types.HostConfig Apply(Api.Types.HostConfig hostConfig)
    {
        ArgumentNullException.ThrowIfNull(hostConfig);
        if (Log is not null && string.IsNullOrEmpty(hostConfig.LogConfig?.Type))
        {
            hostConfig = hostConfig with { LogConfig = Log };
        }

        if (Ulimits.Count > 0)
        {
            var merged = new List<Api.Types.Ulimit>(hostConfig.Ulimits ?? []);
            merged.AddRange(Ulimits.Where(d => !merged.Any(u => u.Name == d.Name)));
            hostConfig = hostConfig with { Ulimits = merged };
        }

        return hostConfig;
    }
}
