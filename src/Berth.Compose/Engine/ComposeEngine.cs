using System.Collections.Concurrent;
using System.Globalization;
using Berth.Api.Client;
using Berth.Api.Types;
using Berth.Compose.Loading;

namespace Berth.Compose.Engine;

/// <summary>Where the engine tells what it does (<c>Container proj-web-1  Started</c>) and what it warns about.</summary>
public interface IComposeReporter
{
    void Report(string kind, string name, string status);

    void Warn(string message);

    /// <summary>Builder and pull output lines.</summary>
    void Output(string text);
}

public sealed record UpOptions
{
    public IReadOnlyList<string> Services { get; init; } = [];

    public bool Build { get; init; }

    public bool NoBuild { get; init; }

    public bool ForceRecreate { get; init; }

    public bool NoRecreate { get; init; }

    public bool RemoveOrphans { get; init; }

    public bool NoDeps { get; init; }

    public bool NoStart { get; init; }

    public bool Wait { get; init; }

    public TimeSpan WaitTimeout { get; init; } = TimeSpan.FromMinutes(5);

    public IReadOnlyDictionary<string, int> Scale { get; init; } = new Dictionary<string, int>();

    /// <summary>How long a depends_on condition may take before up fails.</summary>
    public TimeSpan DependencyTimeout { get; init; } = TimeSpan.FromMinutes(5);
}

public sealed record DownOptions
{
    public bool Volumes { get; init; }

    /// <summary>"local" (images built for the project) or "all"; null keeps images.</summary>
    public string? RemoveImages { get; init; }

    public bool RemoveOrphans { get; init; }

    public int? Timeout { get; init; }
}

/// <summary>
/// Compose's client-side orchestration over the Engine API (as Docker Compose v2 does it): networks and volumes
/// first, then images, then containers per dependency level (the services of one level in parallel), each
/// service converged by comparing the config hash label of its containers with the hash of its definition.
/// </summary>
public sealed class ComposeEngine(BerthClient client, IComposeReporter reporter)
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
    public async Task<Dictionary<string, string?>> EnsureImagesAsync(ComposeProject project, IReadOnlyList<ComposeService> services, bool build, bool noBuild, CancellationToken cancellationToken)
    {
        var ids = new ConcurrentDictionary<string, string?>(StringComparer.Ordinal);
        await Task.WhenAll(services.Select(async service =>
        {
            string image = service.ImageName(project.Name);
            string? id = await ImageIdAsync(image, cancellationToken).ConfigureAwait(false);
            string policy = service.Get("pull_policy") ?? "missing";
            if (service.Build is not null && !noBuild && (build || id is null || policy == "build"))
            {
                id = await BuildAsync(project, service, noCache: false, cancellationToken).ConfigureAwait(false);
            }
            else if (id is null || policy == "always")
            {
                if (policy == "never" && id is null)
                {
                    throw new ComposeException($"image {image} not found and pull_policy is never");
                }

                await PullAsync(image, cancellationToken).ConfigureAwait(false);
                id = await ImageIdAsync(image, cancellationToken).ConfigureAwait(false);
            }

            ids[service.Name] = id;
        })).ConfigureAwait(false);
        return new Dictionary<string, string?>(ids, StringComparer.Ordinal);
    }

    private async Task<string?> ImageIdAsync(string image, CancellationToken cancellationToken)
    {
        try
        {
            using System.Text.Json.JsonDocument doc = await client.InspectImageJsonAsync(image, cancellationToken).ConfigureAwait(false);
            return doc.RootElement.TryGetProperty("Id", out System.Text.Json.JsonElement id) ? id.GetString() : null;
        }
        catch (BerthApiException e) when (e.IsNotFound)
        {
            return null;
        }
    }

    public async Task PullAsync(string image, CancellationToken cancellationToken)
    {
        (string name, string? tag) = SplitReference(image);
        reporter.Report("Image", image, "Pulling");
        await DrainAsync(client.PullImageAsync(name, tag, null, null, cancellationToken), "Error response from daemon: ").ConfigureAwait(false);
        reporter.Report("Image", image, "Pulled");
    }

    public async Task PushAsync(string image, CancellationToken cancellationToken)
    {
        (string name, string? tag) = SplitReference(image);
        reporter.Report("Image", image, "Pushing");
        await DrainAsync(client.PushImageAsync(name, tag, null, cancellationToken), "").ConfigureAwait(false);
        reporter.Report("Image", image, "Pushed");
    }

    /// <summary>Reads a pull or push progress stream to its end; an error message in it fails the operation.</summary>
    private static async Task DrainAsync(IAsyncEnumerable<ProgressMessage> progress, string prefix)
    {
        await foreach (ProgressMessage message in progress.ConfigureAwait(false))
        {
            if ((message.Error ?? message.ErrorDetail?.Message) is { Length: > 0 } error)
            {
                throw new ComposeException(prefix + error);
            }
        }
    }

    /// <summary><c>registry:5000/repo:tag</c> into repository and tag (a digest stays with the repository).</summary>
    public static (string Name, string? Tag) SplitReference(string image)
    {
        if (image.Contains('@', StringComparison.Ordinal))
        {
            return (image, null);
        }

        int colon = image.LastIndexOf(':');
        return colon > image.LastIndexOf('/') && colon >= 0 ? (image[..colon], image[(colon + 1)..]) : (image, "latest");
    }

    /// <summary>Builds the service's image through POST /build; returns the new image ID.</summary>
    public async Task<string?> BuildAsync(ComposeProject project, ComposeService service, bool noCache, CancellationToken cancellationToken)
    {
        MapNode build = service.Build!;
        string context = ServicePort.Text(build["context"]) ?? project.WorkingDirectory;
        string image = service.ImageName(project.Name);
        string? inline = ServicePort.Text(build["dockerfile_inline"]);
        string? inlinePath = null;
        string dockerfile;
        if (inline is not null)
        {
            inlinePath = Path.Combine(Path.GetTempPath(), "berth-compose-" + Guid.NewGuid().ToString("N") + ".Dockerfile");
            await File.WriteAllTextAsync(inlinePath, inline, cancellationToken).ConfigureAwait(false);
            dockerfile = inlinePath;
        }
        else
        {
            dockerfile = Normalizer.AbsolutePath(ServicePort.Text(build["dockerfile"]) ?? "Dockerfile", context);
        }

        reporter.Report("Image", image, "Building");
        try
        {
            using var archive = new MemoryStream();
            string dockerfileName = await BuildContextArchive.WriteAsync(archive, context, dockerfile, cancellationToken).ConfigureAwait(false);
            archive.Position = 0;
            var args = new Dictionary<string, string>(StringComparer.Ordinal);
            if (build["args"] is MapNode argMap)
            {
                foreach ((string key, ComposeNode value) in argMap.Entries)
                {
                    if ((ServicePort.Text(value) ?? project.Lookup(key)) is { } v)
                    {
                        args[key] = v;
                    }
                }
            }

            var labels = Labels(build["labels"] as MapNode);
            labels[ComposeLabels.Project] = project.Name;
            labels[ComposeLabels.Service] = service.Name;
            labels[ComposeLabels.Version] = ComposeLabels.ComposeVersion;
            List<string> tags = [image];
            if (build["tags"] is SeqNode extraTags)
            {
                tags.AddRange(extraTags.Items.Select(ServicePort.Text).OfType<string>());
            }

            string? id = null;
            await foreach (ProgressMessage message in client.BuildImageAsync(archive, new BuildImageOptions
            {
                Tags = tags,
                Dockerfile = dockerfileName,
                BuildArgs = args,
                Labels = labels,
                NoCache = noCache || ServicePort.Text(build["no_cache"]) is "true",
                Target = ServicePort.Text(build["target"]),
            }, cancellationToken).ConfigureAwait(false))
            {
                if ((message.Error ?? message.ErrorDetail?.Message) is { Length: > 0 } error)
                {
                    throw new ComposeException($"failed to solve: {error}");
                }

                if (message.Aux is { } aux && aux.TryGetValue("ID", out string? auxId))
                {
                    id = auxId;
                }

                if (message.Stream is { Length: > 0 } text)
                {
                    reporter.Output(text);
                }
            }

            reporter.Report("Image", image, "Built");
            return id ?? await ImageIdAsync(image, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (inlinePath is not null)
            {
                File.Delete(inlinePath);
            }
        }
    }

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
