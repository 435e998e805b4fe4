using Berth.Api.Types;
using Berth.Engine.Containers;
using Berth.Primitives;

namespace Berth.Engine.Networking;

/// <summary>Shapes network records into Docker's network views and evaluates list and prune filters.</summary>
internal static class NetworkViews
{
    public static NetworkInspect Inspect(NetworkRecord network, bool withContainers) => new()
    {
        Name = network.Name,
        Id = network.Id,
        Created = ContainerViews.Time(network.Created),
        Scope = "local",
        Driver = network.Driver,
        IPAM = new NetworkIpam
        {
            Driver = "default",
            Config = network.Subnet.Length == 0 ? [] :
            [
                new NetworkIpamConfig { Subnet = network.Subnet, Gateway = network.Gateway, IPRange = network.IPRange, AuxiliaryAddresses = network.AuxAddresses },
                .. network.EnableIPv6 ? [new NetworkIpamConfig { Subnet = network.SubnetV6, Gateway = network.GatewayV6 }] : Array.Empty<NetworkIpamConfig>(),
            ],
        },
        EnableIPv6 = network.EnableIPv6,
        Internal = network.Internal,
        Attachable = network.Attachable,
        Containers = withContainers
            ? network.Endpoints.Values.ToDictionary(e => e.ContainerId, e => new NetworkContainer
            {
                Name = e.ContainerName,
                EndpointID = e.EndpointId,
                MacAddress = e.MacAddress,
                IPv4Address = $"{e.IPAddress}/{network.PrefixLength}",
                IPv6Address = e.IPv6Address.Length > 0 ? $"{e.IPv6Address}/{System.Net.IPNetwork.Parse(network.SubnetV6).PrefixLength}" : "",
            })
            : [],
        Options = network.Options,
        Labels = network.Labels,
    };

    public static bool Matches(NetworkRecord network, IReadOnlyDictionary<string, IReadOnlyList<string>> filters)
    {
        foreach ((string key, IReadOnlyList<string> values) in filters)
        {
            bool ok = key switch
            {
                "name" => values.Any(v => network.Name.Contains(v, StringComparison.Ordinal)),
                "id" => values.Any(v => network.Id.StartsWith(v, StringComparison.Ordinal)),
                "driver" => values.Contains(network.Driver),
                "label" => values.All(v => LabelMatches(network.Labels, v)),
                "type" => values.Any(v => v == (network.IsPredefined ? "builtin" : "custom")),
                "scope" => values.Contains("local"),
                "dangling" => values.Any(v => (v is "true" or "1") == (!network.IsPredefined && network.Endpoints.Count == 0)),
                _ => throw EngineException.Invalid($"invalid filter '{key}'"),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    public static bool MatchesPrune(NetworkRecord network, IReadOnlyDictionary<string, IReadOnlyList<string>> filters)
    {
        foreach ((string key, IReadOnlyList<string> values) in filters)
        {
            bool ok = key switch
            {
                "label" => values.All(v => LabelMatches(network.Labels, v)),
                "label!" => !values.Any(v => LabelMatches(network.Labels, v)),
                "until" => values.All(v => Until(v) is not { } until || network.Created < until),
                _ => throw EngineException.Invalid($"invalid filter '{key}'"),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static DateTimeOffset? Until(string value) =>
        long.TryParse(value, out long seconds) ? DateTimeOffset.FromUnixTimeSeconds(seconds)
        : DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out DateTimeOffset at) ? at
        : null;

    private static bool LabelMatches(Dictionary<string, string> labels, string filter)
    {
        string[] parts = filter.Split('=', 2);
        return labels.TryGetValue(parts[0], out string? value) && (parts.Length == 1 || value == parts[1]);
    }
}
