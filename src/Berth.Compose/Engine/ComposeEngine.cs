using System.Collections.Concurrent;
using System.Globalization;
using Berth.Api.Client;
using Berth.Api.Types;
using Berth.Compose.Loading;

namespace Berth.Compose.Engine;

/// <summary>
/// Compose's client-side orchestration over the Engine API (as Docker Compose v2 does it): networks and volumes
/// first, then images, then containers per dependency level (the services of one level in parallel), each
/// service converged by comparing the config hash label of its containers with the hash of its definition.
/// </summary>
public sealed partial class ComposeEngine(BerthClient client, IComposeReporter reporter)
{
    public BerthClient Client => client;

    /// <summary>The project's containers (one-off <c>run</c> containers only when asked).</summary>
    public async Task<List<ContainerSummary>> ContainersAsync(string project, bool all, bool includeOneOff, IReadOnlyCollection<string>? services, CancellationToken cancellationToken)
    {
        var filters = new ApiFilters().Add("label", $"{ComposeLabels.Project}={project}");
        if (!includeOneOff)
        {
            filters.Add("label", $"{ComposeLabels.OneOff}=False");
        }

        IReadOnlyList<ContainerSummary> found = await client.ListContainersAsync(new ContainerListOptions { All = all, Filters = filters }, cancellationToken).ConfigureAwait(false);
        return [.. found
            .Where(c => services is null || services.Count == 0 || services.Contains(ServiceOf(c)))
            .OrderBy(ServiceOf, StringComparer.Ordinal)
            .ThenBy(NumberOf)];
    }

    public static string ServiceOf(ContainerSummary c) => c.Labels.GetValueOrDefault(ComposeLabels.Service, "");

    public static int NumberOf(ContainerSummary c) =>
        int.TryParse(c.Labels.GetValueOrDefault(ComposeLabels.ContainerNumber), CultureInfo.InvariantCulture, out int n) ? n : 0;

    public static string NameOf(ContainerSummary c) => c.Names.Count > 0 ? c.Names[0].TrimStart('/') : c.Id[..12];

    /// <summary>The services in dependency levels: level 0 depends on nothing, level N only on levels below.</summary>
    public static List<List<ComposeService>> Levels(IReadOnlyList<ComposeService> services)
    {
        var names = services.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        var level = new Dictionary<string, int>(StringComparer.Ordinal);
        var byName = services.ToDictionary(s => s.Name, StringComparer.Ordinal);
        int LevelOf(ComposeService s)
        {
            if (level.TryGetValue(s.Name, out int known))
            {
                return known;
            }

            int l = s.DependsOn.Where(d => names.Contains(d.Service)).Select(d => LevelOf(byName[d.Service]) + 1).DefaultIfEmpty(0).Max();
            level[s.Name] = l;
            return l;
        }

        foreach (ComposeService s in services)
        {
            LevelOf(s);
        }

        return [.. services.GroupBy(s => level[s.Name]).OrderBy(g => g.Key).Select(g => g.ToList())];
    }

    /// <summary>The named services and (unless <paramref name="noDeps"/>) everything they depend on; all services when none are named.</summary>
    public static List<ComposeService> Select(ComposeProject project, IReadOnlyList<string> names, bool noDeps)
    {
        if (names.Count == 0)
        {
            return [.. project.Services];
        }

        var wanted = new HashSet<string>(StringComparer.Ordinal);
        void Add(string name)
        {
            if (!wanted.Add(name) || noDeps)
            {
                return;
            }

            foreach (ServiceDependency d in project.Service(name).DependsOn)
            {
                Add(d.Service);
            }
        }

        foreach (string name in names)
        {
            Add(name);
        }

        return [.. project.Services.Where(s => wanted.Contains(s.Name))];
    }

    public async Task UpAsync(ComposeProject project, UpOptions options, CancellationToken cancellationToken)
    {
        List<ComposeService> services = Select(project, options.Services, options.NoDeps);
        foreach ((string name, int replicas) in options.Scale)
        {
            project.Service(name).Replicas = replicas;
        }

        foreach (ComposeService s in services.Where(s => s.Replicas > 1 && s.ContainerName is not null))
        {
            throw new ComposeException($"services.{s.Name}: can't set container_name and {s.Name} as container name must be unique: invalid compose project");
        }

        // Networks, volumes, images and the current containers are independent: ask for them all at once.
        Task<Dictionary<string, string?>> images = EnsureImagesAsync(project, services, options.Build, options.NoBuild, cancellationToken);
        Task<List<ContainerSummary>> current = ContainersAsync(project.Name, all: true, includeOneOff: false, null, cancellationToken);
        await Task.WhenAll(EnsureNetworksAsync(project, cancellationToken), EnsureVolumesAsync(project, cancellationToken), images, current).ConfigureAwait(false);
        Dictionary<string, string?> imageIds = await images.ConfigureAwait(false);
        List<ContainerSummary> existing = await current.ConfigureAwait(false);
        await HandleOrphansAsync(project, existing, options.RemoveOrphans, cancellationToken).ConfigureAwait(false);

        var recreated = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        var started = new ConcurrentBag<(ComposeService Service, string Id, string Name)>();
        var containersByService = new ConcurrentDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (List<ComposeService> level in Levels(services))
        {
            await Task.WhenAll(level.Select(async service =>
            {
                if (!options.NoStart)
                {
                    await WaitForDependenciesAsync(project, service, options.DependencyTimeout, cancellationToken).ConfigureAwait(false);
                }

                List<ContainerSummary> mine = [.. existing.Where(c => ServiceOf(c) == service.Name)];
                List<(string Id, string Name)> result = await ConvergeServiceAsync(project, service, mine, imageIds.GetValueOrDefault(service.Name), options, recreated, containersByService, cancellationToken).ConfigureAwait(false);
                containersByService[service.Name] = [.. result.Select(r => r.Id)];
                foreach ((string id, string name) in result)
                {
                    started.Add((service, id, name));
                }
            })).ConfigureAwait(false);
        }

        if (options.Wait && !options.NoStart)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.WaitTimeout);
            try
            {
                await Task.WhenAll(started.Select(s => WaitHealthyAsync(s.Id, s.Name, timeout.Token))).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new ComposeException("timeout waiting for the project's services to be running and healthy");
            }
        }
    }

    /// <summary>What a one-off container needs before it is created: the project's networks and volumes and the service's image.</summary>
    public async Task PrepareAsync(ComposeProject project, IReadOnlyList<ComposeService> services, bool build, CancellationToken cancellationToken)
    {
        await Task.WhenAll(EnsureNetworksAsync(project, cancellationToken), EnsureVolumesAsync(project, cancellationToken)).ConfigureAwait(false);
        await EnsureImagesAsync(project, services, build, noBuild: false, cancellationToken).ConfigureAwait(false);
    }

    private async Task HandleOrphansAsync(ComposeProject project, List<ContainerSummary> existing, bool remove, CancellationToken cancellationToken)
    {
        var known = project.Services.Select(s => s.Name).Concat(project.DisabledServices).ToHashSet(StringComparer.Ordinal);
        List<ContainerSummary> orphans = [.. existing.Where(c => !known.Contains(ServiceOf(c)))];
        if (orphans.Count == 0)
        {
            return;
        }

        if (!remove)
        {
            reporter.Warn($"Found orphan containers ([{string.Join(" ", orphans.Select(NameOf))}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.");
            return;
        }

        await Task.WhenAll(orphans.Select(o => RemoveContainerAsync(o, stop: true, timeout: null, removeVolumes: false, cancellationToken))).ConfigureAwait(false);
        existing.RemoveAll(orphans.Contains);
    }

    private async Task<List<(string Id, string Name)>> ConvergeServiceAsync(
        ComposeProject project, ComposeService service, List<ContainerSummary> existing, string? imageId, UpOptions options,
        ConcurrentDictionary<string, bool> recreated, ConcurrentDictionary<string, List<string>> containersByService, CancellationToken cancellationToken)
    {
        string hash = ServiceSpec.ConfigHash(service);
        int replicas = Math.Max(0, service.Replicas);
        var result = new List<(string Id, string Name)>();

        // Scale down: the highest numbers go first.
        List<ContainerSummary> surplus = [.. existing.OrderByDescending(NumberOf).Take(Math.Max(0, existing.Count - replicas))];
        await Task.WhenAll(surplus.Select(c => RemoveContainerAsync(c, stop: true, timeout: null, removeVolumes: false, cancellationToken))).ConfigureAwait(false);
        List<ContainerSummary> kept = [.. existing.Except(surplus).OrderBy(NumberOf)];

        bool dependencyRecreated = service.DependsOn.Any(d => recreated.ContainsKey(d.Service));
        var tasks = new List<Task<(string, string)>>();
        foreach (ContainerSummary container in kept)
        {
            bool diverged = container.Labels.GetValueOrDefault(ComposeLabels.ConfigHash) != hash
                            || imageId is not null && container.ImageID.Length > 0 && container.ImageID != imageId
                            || dependencyRecreated;
            bool recreate = options.ForceRecreate || !options.NoRecreate && diverged;
            if (recreate)
            {
                recreated[service.Name] = true;
                tasks.Add(RecreateAsync(project, service, container, hash, options.NoStart, containersByService, cancellationToken));
            }
            else
            {
                tasks.Add(EnsureStartedAsync(container, options.NoStart, cancellationToken));
            }
        }

        var used = kept.Select(NumberOf).ToHashSet();
        int next = 1;
        for (int missing = replicas - kept.Count; missing > 0; missing--)
        {
            while (used.Contains(next))
            {
                next++;
            }

            used.Add(next);
            tasks.Add(CreateAndStartAsync(project, service, next, hash, options.NoStart, containersByService, cancellationToken));
        }

        foreach ((string id, string name) in await Task.WhenAll(tasks).ConfigureAwait(false))
        {
            result.Add((id, name));
        }

        return result;
    }

    private async Task<(string, string)> EnsureStartedAsync(ContainerSummary container, bool noStart, CancellationToken cancellationToken)
    {
        string name = NameOf(container);
        if (container.State is "running" or "restarting" || noStart)
        {
            reporter.Report("Container", name, "Running");
            return (container.Id, name);
        }

        if (container.State == "paused")
        {
            await client.UnpauseContainerAsync(container.Id, cancellationToken).ConfigureAwait(false);
            return (container.Id, name);
        }

        reporter.Report("Container", name, "Starting");
        await client.StartContainerAsync(container.Id, cancellationToken).ConfigureAwait(false);
        reporter.Report("Container", name, "Started");
        return (container.Id, name);
    }

    private async Task<(string, string)> RecreateAsync(ComposeProject project, ComposeService service, ContainerSummary old, string hash, bool noStart, ConcurrentDictionary<string, List<string>> containersByService, CancellationToken cancellationToken)
    {
        string name = NameOf(old);
        reporter.Report("Container", name, "Recreate");
        await client.StopContainerAsync(old.Id, null, null, cancellationToken).ConfigureAwait(false);
        await client.RemoveContainerAsync(old.Id, force: true, removeVolumes: false, removeLink: false, cancellationToken).ConfigureAwait(false);
        (string id, string created) = await CreateAsync(project, service, NumberOf(old), hash, containersByService, cancellationToken).ConfigureAwait(false);
        reporter.Report("Container", created, "Recreated");
        if (!noStart)
        {
            await StartAsync(id, created, cancellationToken).ConfigureAwait(false);
        }

        return (id, created);
    }

    private async Task<(string, string)> CreateAndStartAsync(ComposeProject project, ComposeService service, int number, string hash, bool noStart, ConcurrentDictionary<string, List<string>> containersByService, CancellationToken cancellationToken)
    {
        (string id, string name) = await CreateAsync(project, service, number, hash, containersByService, cancellationToken).ConfigureAwait(false);
        if (!noStart)
        {
            await StartAsync(id, name, cancellationToken).ConfigureAwait(false);
        }

        return (id, name);
    }

    private async Task StartAsync(string id, string name, CancellationToken cancellationToken)
    {
        reporter.Report("Container", name, "Starting");
        await client.StartContainerAsync(id, cancellationToken).ConfigureAwait(false);
        reporter.Report("Container", name, "Started");
    }

    private async Task<(string Id, string Name)> CreateAsync(ComposeProject project, ComposeService service, int number, string hash, ConcurrentDictionary<string, List<string>> containersByService, CancellationToken cancellationToken)
    {
        string name = ServiceSpec.ContainerName(project, service, number);
        reporter.Report("Container", name, "Creating");
        var plan = new ContainerPlan
        {
            Name = name,
            Number = number,
            ConfigHash = hash,
            ServiceContainer = s => containersByService.TryGetValue(s, out List<string>? ids) && ids.Count > 0 ? ids[0] : null,
        };
        string id = await CreateContainerAsync(project, service, plan, cancellationToken).ConfigureAwait(false);
        reporter.Report("Container", name, "Created");
        return (id, name);
    }

    /// <summary>Creates one container of the service and attaches it to the service's other networks.</summary>
    public async Task<string> CreateContainerAsync(ComposeProject project, ComposeService service, ContainerPlan plan, CancellationToken cancellationToken)
    {
        ContainerCreateRequest request = ServiceSpec.Build(project, service, plan);
        ContainerCreateResponse created = await client.CreateContainerAsync(request, plan.Name, service.Get("platform"), cancellationToken).ConfigureAwait(false);
        foreach ((string key, MapNode? settings) in ServiceSpec.Networks(service).Skip(1))
        {
            await client.ConnectNetworkAsync(project.NetworkName(key), new NetworkConnectRequest
            {
                Container = created.Id,
                EndpointConfig = ServiceSpec.Endpoint(project, service, settings, plan.Name),
            }, cancellationToken).ConfigureAwait(false);
        }

        return created.Id;
    }

    /// <summary>Waits until what the service depends on meets its condition (started, healthy, completed successfully).</summary>
    private async Task WaitForDependenciesAsync(ComposeProject project, ComposeService service, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        foreach (ServiceDependency dependency in service.DependsOn.Where(d => d.Condition != "service_started"))
        {
            List<ContainerSummary> containers = await ContainersAsync(project.Name, all: true, includeOneOff: false, [dependency.Service], cancellationToken).ConfigureAwait(false);
            if (containers.Count == 0 && !dependency.Required)
            {
                continue;
            }

            try
            {
                foreach (ContainerSummary container in containers)
                {
                    string name = NameOf(container);
                    reporter.Report("Container", name, "Waiting");
                    if (dependency.Condition == "service_healthy")
                    {
                        await WaitHealthyAsync(container.Id, name, deadline.Token, requireHealthcheck: true).ConfigureAwait(false);
                        reporter.Report("Container", name, "Healthy");
                    }
                    else if (dependency.Condition == "service_completed_successfully")
                    {
                        ContainerWaitResponse exit = await client.WaitContainerAsync(container.Id, WaitCondition.NotRunning, deadline.Token).ConfigureAwait(false);
                        if (exit.StatusCode != 0)
                        {
                            throw new ComposeException($"service \"{dependency.Service}\" didn't complete successfully: exit {exit.StatusCode}");
                        }

                        reporter.Report("Container", name, "Exited");
                    }
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new ComposeException($"dependency failed to start: timeout waiting for service \"{dependency.Service}\" ({dependency.Condition})");
            }
        }
    }

    /// <summary>Polls the container until it runs and, if it has a healthcheck, is healthy; fails when it is unhealthy or exited.</summary>
    private async Task WaitHealthyAsync(string id, string name, CancellationToken cancellationToken, bool requireHealthcheck = false)
    {
        var delay = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            ContainerInspect inspect = await client.InspectContainerAsync(id, cancellationToken).ConfigureAwait(false);
            ContainerState state = inspect.State;
            if (state.Health is { } health)
            {
                if (health.Status == "healthy")
                {
                    return;
                }

                if (health.Status == "unhealthy")
                {
                    throw new ComposeException($"dependency failed to start: container {name} is unhealthy");
                }
            }
            else if (requireHealthcheck && (inspect.Config.Healthcheck?.Test is null || inspect.Config.Healthcheck.Test is ["NONE"]))
            {
                throw new ComposeException($"container {name} has no healthcheck configured");
            }
            else if (state.Running)
            {
                return;
            }

            if (!state.Running && !state.Restarting && state.Status is "exited" or "dead")
            {
                throw new ComposeException($"container {name} exited ({state.ExitCode})");
            }

            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 500));
        }
    }

}
