namespace Berth.Api.Types;

/// <summary>POST /networks/create body.</summary>
public sealed record NetworkCreateRequest
{
    public string Name { get; init; } = "";
    public string? Driver { get; init; }
    public string? Scope { get; init; }
    public bool Internal { get; init; }
    public bool Attachable { get; init; }
    public bool Ingress { get; init; }
    public bool? EnableIPv4 { get; init; }
    public bool? EnableIPv6 { get; init; }
    public bool ConfigOnly { get; init; }
    public NetworkIpam? IPAM { get; init; }
    public Dictionary<string, string>? Options { get; init; }
    public Dictionary<string, string>? Labels { get; init; }
}

public sealed record NetworkIpam
{
    public string Driver { get; init; } = "default";
    public IReadOnlyList<NetworkIpamConfig>? Config { get; init; }
    public Dictionary<string, string>? Options { get; init; }
}

public sealed record NetworkIpamConfig
{
    public string? Subnet { get; init; }
    public string? IPRange { get; init; }
    public string? Gateway { get; init; }
    public Dictionary<string, string>? AuxiliaryAddresses { get; init; }
}

/// <summary>POST /networks/create answer.</summary>
public sealed record NetworkCreateResponse
{
    public string Id { get; init; } = "";
    public string Warning { get; init; } = "";
}

/// <summary>GET /networks and GET /networks/{id} (Docker's NetworkResource / network.Inspect).</summary>
public sealed record NetworkInspect
{
    public string Name { get; init; } = "";
    public string Id { get; init; } = "";
    public string Created { get; init; } = "";
    public string Scope { get; init; } = "local";
    public string Driver { get; init; } = "";
    public bool EnableIPv4 { get; init; } = true;
    public bool EnableIPv6 { get; init; }
    public NetworkIpam IPAM { get; init; } = new();
    public bool Internal { get; init; }
    public bool Attachable { get; init; }
    public bool Ingress { get; init; }
    public NetworkConfigReference ConfigFrom { get; init; } = new();
    public bool ConfigOnly { get; init; }
    public Dictionary<string, NetworkContainer> Containers { get; init; } = [];
    public Dictionary<string, string> Options { get; init; } = [];
    public Dictionary<string, string> Labels { get; init; } = [];
}

public sealed record NetworkConfigReference
{
    public string Network { get; init; } = "";
}

public sealed record NetworkContainer
{
    public string Name { get; init; } = "";
    public string EndpointID { get; init; } = "";
    public string MacAddress { get; init; } = "";
    public string IPv4Address { get; init; } = "";
    public string IPv6Address { get; init; } = "";
}

/// <summary>POST /networks/{id}/connect body.</summary>
public sealed record NetworkConnectRequest
{
    public string Container { get; init; } = "";
    public EndpointSettings? EndpointConfig { get; init; }
}

/// <summary>POST /networks/{id}/disconnect body.</summary>
public sealed record NetworkDisconnectRequest
{
    public string Container { get; init; } = "";
    public bool Force { get; init; }
}

/// <summary>POST /networks/prune answer.</summary>
public sealed record NetworkPruneResponse
{
    public IReadOnlyList<string> NetworksDeleted { get; init; } = [];
}

/// <summary>An endpoint's requested addresses (EndpointSettings.IPAMConfig).</summary>
public sealed record EndpointIpamConfig
{
    public string? IPv4Address { get; init; }
    public string? IPv6Address { get; init; }
    public IReadOnlyList<string>? LinkLocalIPs { get; init; }
}
