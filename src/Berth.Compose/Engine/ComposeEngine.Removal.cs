using Berth.Api.Client;
using Berth.Api.Types;
using Berth.Compose.Loading;

namespace Berth.Compose.Engine;

public sealed partial class ComposeEngine
{
    public async Task RemoveContainerAsync(ContainerSummary container, bool stop, int? timeout, bool removeVolumes, CancellationToken cancellationToken)
    {
        string name = NameOf(container);
        if (stop && container.State is "running" or "restarting" or "paused")
        {
            reporter.Report("Container", name, "Stopping");
            await client.StopContainerAsync(container.Id, timeout, null, cancellationToken).ConfigureAwait(false);
            reporter.Report("Container", name, "Stopped");
        }

        reporter.Report("Container", name, "Removing");
        try
        {
            await client.RemoveContainerAsync(container.Id, force: true, removeVolumes, removeLink: false, cancellationToken).ConfigureAwait(false);
        }
        catch (BerthApiException e) when (e.IsNotFound)
        {
            // Gone already (auto-removed): the goal is met.
        }

        reporter.Report("Container", name, "Removed");
    }

    /// <summary>Applies <paramref name="action"/> to the project's containers per dependency level, dependents first when <paramref name="reverse"/>.</summary>
    public async Task ForEachContainerAsync(ComposeProject? project, string projectName, IReadOnlyCollection<string> services, bool all, bool reverse, Func<ContainerSummary, Task> action, CancellationToken cancellationToken)
    {
        List<ContainerSummary> containers = await ContainersAsync(projectName, all, includeOneOff: false, services, cancellationToken).ConfigureAwait(false);
        List<List<string>> order = project is null ? [[.. containers.Select(ServiceOf).Distinct()]] : [.. Levels(project.Services).Select(l => l.Select(s => s.Name).ToList())];
        var placed = order.SelectMany(l => l).ToHashSet(StringComparer.Ordinal);
        order.Add([.. containers.Select(ServiceOf).Where(s => !placed.Contains(s)).Distinct()]);
        if (reverse)
        {
            order.Reverse();
        }

        foreach (List<string> level in order)
        {
            await Task.WhenAll(containers.Where(c => level.Contains(ServiceOf(c))).Select(action)).ConfigureAwait(false);
        }
    }

    public async Task DownAsync(string projectName, ComposeProject? project, DownOptions options, CancellationToken cancellationToken)
    {
        List<ContainerSummary> containers = await ContainersAsync(projectName, all: true, includeOneOff: true, null, cancellationToken).ConfigureAwait(false);
        if (project is not null && !options.RemoveOrphans)
        {
            var known = project.Services.Select(s => s.Name).Concat(project.DisabledServices).ToHashSet(StringComparer.Ordinal);
            List<ContainerSummary> orphans = [.. containers.Where(c => !known.Contains(ServiceOf(c)))];
            if (orphans.Count > 0)
            {
                reporter.Warn($"Found orphan containers ([{string.Join(" ", orphans.Select(NameOf))}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.");
                containers.RemoveAll(orphans.Contains);
            }
        }

        List<List<string>> order = project is null ? [] : [.. Levels(project.Services).Select(l => l.Select(s => s.Name).ToList())];
        order.Reverse();
        var placed = order.SelectMany(l => l).ToHashSet(StringComparer.Ordinal);
        order.Insert(0, [.. containers.Select(ServiceOf).Where(s => !placed.Contains(s)).Distinct()]);
        foreach (List<string> level in order)
        {
            await Task.WhenAll(containers.Where(c => level.Contains(ServiceOf(c))).Select(c => RemoveContainerAsync(c, stop: true, options.Timeout, removeVolumes: false, cancellationToken))).ConfigureAwait(false);
        }

        var projectFilter = new ApiFilters().Add("label", $"{ComposeLabels.Project}={projectName}");
        IReadOnlyList<NetworkInspect> networks = await client.ListNetworksAsync(projectFilter, cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(networks.Select(async n =>
        {
            reporter.Report("Network", n.Name, "Removing");
            try
            {
                await client.RemoveNetworkAsync(n.Id, cancellationToken).ConfigureAwait(false);
            }
            catch (BerthApiException e) when (e.IsNotFound)
            {
            }

            reporter.Report("Network", n.Name, "Removed");
        })).ConfigureAwait(false);

        if (options.Volumes)
        {
            VolumeListResponse volumes = await client.ListVolumesAsync(projectFilter, cancellationToken).ConfigureAwait(false);
            await Task.WhenAll(volumes.Volumes.Select(async v =>
            {
                reporter.Report("Volume", v.Name, "Removing");
                try
                {
                    await client.RemoveVolumeAsync(v.Name, force: false, cancellationToken).ConfigureAwait(false);
                }
                catch (BerthApiException e) when (e.IsNotFound)
                {
                }

                reporter.Report("Volume", v.Name, "Removed");
            })).ConfigureAwait(false);
        }

        if (options.RemoveImages is { } rmi && project is not null)
        {
            IEnumerable<string> images = project.Services
                .Where(s => rmi == "all" || s.Image is null)
                .Select(s => s.ImageName(project.Name))
                .Distinct(StringComparer.Ordinal);
            foreach (string image in images)
            {
                try
                {
                    reporter.Report("Image", image, "Removing");
                    await client.RemoveImageAsync(image, force: false, noPrune: false, cancellationToken).ConfigureAwait(false);
                    reporter.Report("Image", image, "Removed");
                }
                catch (BerthApiException e) when (e.IsNotFound || e.IsConflict)
                {
                    reporter.Warn(e.DaemonMessage);
                }
            }
        }
    }
}
