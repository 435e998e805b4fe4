using System.Net;

namespace Berth.Engine.Networking;

/// <summary>
/// What the embedded DNS of a user network answers beyond names: the aliases of the asking container's links and
/// the PTR of its containers' addresses.
/// </summary>
public sealed partial class NetworkService
{
    /// <summary>
    /// A name as the container at <paramref name="client"/> knows it: the alias of one of its links (Docker keeps links
    /// on user networks in the embedded DNS, visible to the linking container only), else a name of the network.
    /// </summary>
    private List<IPAddress> ResolveOn(string networkId, string name, IPAddress client)
    {
        string? target = LinkTarget(networkId, name, client);
        return target is null ? ResolveOn(networkId, name) : ResolveOn(networkId, target);
    }

    /// <summary>The container a link alias names for the asking container, or null.</summary>
    private string? LinkTarget(string networkId, string alias, IPAddress client)
    {
        lock (_gate)
        {
            if (!_networks.TryGetValue(networkId, out NetworkRecord? network))
            {
                return null;
            }

            string asking = client.ToString();
            EndpointRecord? endpoint = network.Endpoints.Values.FirstOrDefault(e => e.IPAddress == asking);
            foreach (string link in endpoint?.Links ?? [])
            {
                string[] parts = link.Split(':', 2);
                string target = parts[0].TrimStart('/');
                string name = parts.Length == 2 ? parts[1].Split('/')[^1] : target;
                if (string.Equals(name, alias, StringComparison.OrdinalIgnoreCase))
                {
                    return target;
                }
            }

            return null;
        }
    }

    /// <summary>The name a PTR query for <paramref name="address"/> answers on a network: Docker's <c>container.network</c>; null when no container has it.</summary>
    private string? ReverseOn(string networkId, IPAddress address)
    {
        lock (_gate)
        {
            if (!_networks.TryGetValue(networkId, out NetworkRecord? network))
            {
                return null;
            }

            string text = address.ToString();
            EndpointRecord? endpoint = network.Endpoints.Values.FirstOrDefault(e => e.IPAddress == text || (e.IPv6Address.Length > 0 && IPAddress.Parse(e.IPv6Address).Equals(address)));
            return endpoint is null ? null : $"{endpoint.ContainerName}.{network.Name}";
        }
    }
}
