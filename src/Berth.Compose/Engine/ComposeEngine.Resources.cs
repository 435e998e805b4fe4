using Berth.Api.Client;
using Berth.Api.Types;
using Berth.Compose.Loading;

namespace Berth.Compose.Engine;

public sealed partial class ComposeEngine
{
    private async Task EnsureNetworksAsync(ComposeProject project, CancellationToken cancellationToken)
    {
        IReadOnlyList<NetworkInspect> networks = await client.ListNetworksAsync(null, cancellationToken).ConfigureAwait(false);
        var byName = networks.GroupBy(n => n.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        await Task.WhenAll(project.Networks.Select(async entry =>
        {
            (string key, MapNode definition) = (entry.Key, entry.Value);
            string name = project.NetworkName(key);
            if (ComposeProject.IsExternal(definition))
            {
                if (!byName.ContainsKey(name))
                {
                    throw new ComposeException($"network {name} declared as external, but could not be found");
                }

                return;
            }

            if (byName.TryGetValue(name, out NetworkInspect? found))
            {
                if (found.Labels.GetValueOrDefault(ComposeLabels.Project) is { } owner && owner != project.Name)
                {
                    reporter.Warn($"a network with name {name} exists but was not created for project \"{project.Name}\"");
                }

                return;
            }

            var labels = Labels(definition["labels"] as MapNode);
            labels[ComposeLabels.Project] = project.Name;
            labels[ComposeLabels.Network] = key;
            labels[ComposeLabels.Version] = ComposeLabels.ComposeVersion;
            List<NetworkIpamConfig>? ipamConfig = null;
            string ipamDriver = "default";
            if (definition["ipam"] is MapNode ipam)
            {
                ipamDriver = ServicePort.Text(ipam["driver"]) ?? "default";
                if (ipam["config"] is SeqNode configs)
                {
                    ipamConfig = [.. configs.Items.OfType<MapNode>().Select(c => new NetworkIpamConfig
                    {
                        Subnet = ServicePort.Text(c["subnet"]),
                        IPRange = ServicePort.Text(c["ip_range"]),
                        Gateway = ServicePort.Text(c["gateway"]),
                    })];
                }
            }

            reporter.Report("Network", name, "Creating");
            try
            {
                await client.CreateNetworkAsync(new NetworkCreateRequest
                {
                    Name = name,
                    Driver = ServicePort.Text(definition["driver"]) ?? "bridge",
                    Internal = ServicePort.Text(definition["internal"]) is "true",
                    Attachable = ServicePort.Text(definition["attachable"]) is "true",
                    EnableIPv6 = ServicePort.Text(definition["enable_ipv6"]) is "true" ? true : null,
                    IPAM = ipamConfig is null && ipamDriver == "default" ? null : new NetworkIpam { Driver = ipamDriver, Config = ipamConfig },
                    Options = Labels(definition["driver_opts"] as MapNode),
                    Labels = labels,
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (BerthApiException e) when (e.IsConflict)
            {
                // Created meanwhile by a concurrent up of the same project: fine.
            }

            reporter.Report("Network", name, "Created");
        })).ConfigureAwait(false);
    }

    private async Task EnsureVolumesAsync(ComposeProject project, CancellationToken cancellationToken)
    {
        if (project.Volumes.Count == 0)
        {
            return;
        }

        VolumeListResponse list = await client.ListVolumesAsync(null, cancellationToken).ConfigureAwait(false);
        var names = list.Volumes.Select(v => v.Name).ToHashSet(StringComparer.Ordinal);
        await Task.WhenAll(project.Volumes.Select(async entry =>
        {
            (string key, MapNode definition) = (entry.Key, entry.Value);
            string name = project.VolumeName(key);
            if (ComposeProject.IsExternal(definition))
            {
                if (!names.Contains(name))
                {
                    throw new ComposeException($"external volume \"{name}\" not found");
                }

                return;
            }

            if (names.Contains(name))
            {
                return;
            }

            var labels = Labels(definition["labels"] as MapNode);
            labels[ComposeLabels.Project] = project.Name;
            labels[ComposeLabels.Volume] = key;
            labels[ComposeLabels.Version] = ComposeLabels.ComposeVersion;
            reporter.Report("Volume", $"\"{name}\"", "Creating");
            await client.CreateVolumeAsync(new VolumeCreateOptions
            {
                Name = name,
                Driver = ServicePort.Text(definition["driver"]),
                DriverOpts = Labels(definition["driver_opts"] as MapNode),
                Labels = labels,
            }, cancellationToken).ConfigureAwait(false);
            reporter.Report("Volume", $"\"{name}\"", "Created");
        })).ConfigureAwait(false);
    }

    private static Dictionary<string, string> Labels(MapNode? map) =>
        map?.Entries.ToDictionary(e => e.Key, e => ServicePort.Text(e.Value) ?? "", StringComparer.Ordinal) ?? new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Builds what must be built and pulls what is missing; returns each service's image ID (when known).</summary>
}
