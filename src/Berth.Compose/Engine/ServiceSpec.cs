using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Berth.Api.Types;
using Berth.Compose.Loading;

namespace Berth.Compose.Engine;

/// <summary>
/// Translates a service definition into the Engine API's container create request (what <c>docker run</c> flags
/// would say), and computes the service's config hash: the digest that convergence compares with the
/// <c>com.docker.compose.config-hash</c> label of existing containers to decide whether to recreate them.
/// </summary>
public static class ServiceSpec
{
    /// <summary>Attributes that do not change a container: how many there are, how the image is made, when it starts.</summary>
    private static readonly HashSet<string> HashExcluded = new(StringComparer.Ordinal) { "build", "pull_policy", "scale", "depends_on", "profiles" };

    public static string ConfigHash(ComposeService service)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            WriteCanonical(writer, service.Definition, "");
        }

        return Convert.ToHexStringLower(SHA256.HashData(stream.ToArray()));
    }

    private static void WriteCanonical(Utf8JsonWriter writer, ComposeNode node, string path)
    {
        switch (node)
        {
            case MapNode map:
                writer.WriteStartObject();
                foreach ((string key, ComposeNode value) in map.Entries.OrderBy(e => e.Key, StringComparer.Ordinal))
                {
                    if (path.Length == 0 && HashExcluded.Contains(key) || path == "deploy" && key == "replicas")
                    {
                        continue;
                    }

                    writer.WritePropertyName(key);
                    WriteCanonical(writer, value, path.Length == 0 ? key : path + "." + key);
                }

                writer.WriteEndObject();
                break;
            case SeqNode seq:
                writer.WriteStartArray();
                foreach (ComposeNode item in seq.Items)
                {
                    WriteCanonical(writer, item, path);
                }

                writer.WriteEndArray();
                break;
            case ScalarNode scalar:
                if (scalar.Value is null)
                {
                    writer.WriteNullValue();
                }
                else
                {
                    writer.WriteStringValue(scalar.Value);
                }

                break;
        }
    }

    public static string ContainerName(ComposeProject project, ComposeService service, int number) =>
        service.ContainerName ?? $"{project.Name}-{service.Name}-{number}";

    /// <summary>The service's networks in the order compose attaches them: by priority (highest first), then name.</summary>
    public static List<(string Key, MapNode? Settings)> Networks(ComposeService service)
    {
        if (service.Get("network_mode") is not null)
        {
            return [];
        }

        if (service.Definition["networks"] is not MapNode map)
        {
            return [("default", null)];
        }

        return [.. map.Entries
            .Select(e => (Key: e.Key, Settings: e.Value as MapNode))
            .OrderByDescending(e => int.TryParse(ServicePort.Text(e.Settings?["priority"]), CultureInfo.InvariantCulture, out int p) ? p : 0)
            .ThenBy(e => e.Key, StringComparer.Ordinal)];
    }

    public static EndpointSettings Endpoint(ComposeProject project, ComposeService service, MapNode? settings, string? containerName)
    {
        var aliases = new List<string> { service.Name };
        if (settings?["aliases"] is SeqNode extra)
        {
            aliases.AddRange(extra.Items.Select(ServicePort.Text).OfType<string>());
        }

        string? ipv4 = ServicePort.Text(settings?["ipv4_address"]);
        string? ipv6 = ServicePort.Text(settings?["ipv6_address"]);
        List<string>? links = null;
        if (service.Definition["links"] is SeqNode linkList)
        {
            links = [];
            foreach (string link in linkList.Items.Select(ServicePort.Text).OfType<string>())
            {
                string[] parts = link.Split(':', 2);
                string target = project.Services.FirstOrDefault(s => s.Name == parts[0]) is { } linked
                    ? ContainerName(project, linked, 1)
                    : parts[0];
                links.Add(target + ":" + (parts.Length > 1 ? parts[1] : parts[0]));
            }
        }

        _ = containerName;
        return new EndpointSettings
        {
            Aliases = aliases,
            Links = links,
            IPAMConfig = ipv4 is null && ipv6 is null ? null : new EndpointIpamConfig { IPv4Address = ipv4, IPv6Address = ipv6 },
        };
    }

    /// <summary>The environment of a container: env_file entries, then environment: (which wins); a bare name takes the project's value.</summary>
    public static List<string> Environment(ComposeProject project, ComposeService service, IEnumerable<string> overrides)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var order = new List<string>();
        void Set(string key, string value)
        {
            if (!values.ContainsKey(key))
            {
                order.Add(key);
            }

            values[key] = value;
        }

        if (service.Definition["env_file"] is SeqNode envFiles)
        {
            foreach (ComposeNode item in envFiles.Items)
            {
                string? path = item is MapNode m ? ServicePort.Text(m["path"]) : ServicePort.Text(item);
                bool required = item is not MapNode m2 || ServicePort.Text(m2["required"]) is not ("false" or "False");
                if (path is null)
                {
                    continue;
                }

                if (!File.Exists(path))
                {
                    if (required)
                    {
                        throw ComposeException.At(item.Mark, $"env file {path} not found: stat {path}: no such file or directory");
                    }

                    continue;
                }

                foreach ((string key, string? value) in EnvFile.Parse(File.ReadAllText(path), path, project.Lookup))
                {
                    if (value is not null)
                    {
                        Set(key, value);
                    }
                }
            }
        }

        if (service.Definition["environment"] is MapNode environment)
        {
            foreach ((string key, ComposeNode value) in environment.Entries)
            {
                string? text = ServicePort.Text(value) ?? project.Lookup(key);
                if (text is not null)
                {
                    Set(key, text);
                }
            }
        }

        foreach (string entry in overrides)
        {
            int eq = entry.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                Set(entry[..eq], entry[(eq + 1)..]);
            }
            else if (project.Lookup(entry) is { } fromHost)
            {
                Set(entry, fromHost);
            }
        }

        return [.. order.Select(k => k + "=" + values[k])];
    }

    public static IReadOnlyList<string>? Command(ComposeNode? node) => node switch
    {
        ScalarNode { Value: { } text } => ShellWords.Split(text),
        SeqNode seq => [.. seq.Items.Select(i => ServicePort.Text(i) ?? "")],
        _ => null,
    };

    public static List<ServicePort> Ports(ComposeService service) =>
        service.Definition["ports"] is SeqNode ports ? [.. ports.Items.SelectMany(ServicePort.Parse)] : [];

    /// <summary>Builds the create request of one container of the service.</summary>
    public static ContainerCreateRequest Build(ComposeProject project, ComposeService service, ContainerPlan plan)
    {
        MapNode d = service.Definition;
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (d["labels"] is MapNode serviceLabels)
        {
            foreach ((string key, ComposeNode value) in serviceLabels.Entries)
            {
                labels[key] = ServicePort.Text(value) ?? "";
            }
        }

        labels[ComposeLabels.Project] = project.Name;
        labels[ComposeLabels.Service] = service.Name;
        labels[ComposeLabels.ContainerNumber] = plan.Number.ToString(CultureInfo.InvariantCulture);
        labels[ComposeLabels.ConfigHash] = plan.ConfigHash;
        labels[ComposeLabels.OneOff] = plan.OneOff ? "True" : "False";
        labels[ComposeLabels.WorkingDir] = project.WorkingDirectory;
        labels[ComposeLabels.ConfigFiles] = string.Join(",", project.ConfigFiles);
        labels[ComposeLabels.Version] = ComposeLabels.ComposeVersion;
        labels[ComposeLabels.Image] = service.ImageName(project.Name);
        labels[ComposeLabels.DependsOn] = string.Join(",", service.DependsOn.Select(x => $"{x.Service}:{x.Condition}:{(x.Restart ? "true" : "false")}"));

        List<ServicePort> ports = plan.PublishPorts ? Ports(service) : [];
        var exposed = new Dictionary<string, EmptyObject>(StringComparer.Ordinal);
        var bindings = new Dictionary<string, IReadOnlyList<PortBinding>?>(StringComparer.Ordinal);
        foreach (ServicePort port in Ports(service))
        {
            exposed[$"{port.Target}/{port.Protocol}"] = new EmptyObject();
        }

        foreach (IGrouping<string, ServicePort> group in ports.GroupBy(p => $"{p.Target}/{p.Protocol}"))
        {
            bindings[group.Key] = [.. group.Select(p => new PortBinding { HostIp = p.HostIp, HostPort = p.Published })];
        }

        if (d["expose"] is SeqNode expose)
        {
            foreach (string e in expose.Items.Select(ServicePort.Text).OfType<string>())
            {
                exposed[e.Contains('/', StringComparison.Ordinal) ? e : e + "/tcp"] = new EmptyObject();
            }
        }

        (List<string> binds, List<MountSpec> mounts) = Mounts(project, service);
        List<(string Key, MapNode? Settings)> networks = Networks(service);
        string? networkMode = service.Get("network_mode");
        if (networkMode is not null && networkMode.StartsWith("service:", StringComparison.Ordinal))
        {
            networkMode = "container:" + (plan.ServiceContainer?.Invoke(networkMode[8..]) ?? networkMode[8..]);
        }

        NetworkingConfig? networking = null;
        if (networks.Count > 0)
        {
            (string key, MapNode? settings) = networks[0];
            networkMode = project.NetworkName(key);
            networking = new NetworkingConfig
            {
                EndpointsConfig = new Dictionary<string, EndpointSettings>(StringComparer.Ordinal)
                {
                    [networkMode] = Endpoint(project, service, settings, plan.Name),
                },
            };
        }

        MapNode? limits = (d["deploy"] as MapNode)?["resources"] is MapNode resources ? resources["limits"] as MapNode : null;
        MapNode? reservations = (d["deploy"] as MapNode)?["resources"] is MapNode res2 ? res2["reservations"] as MapNode : null;
        string? memory = ServicePort.Text(d["mem_limit"]) ?? ServicePort.Text(limits?["memory"]);
        string? cpus = ServicePort.Text(d["cpus"]) ?? ServicePort.Text(limits?["cpus"]);
        string? pids = ServicePort.Text(d["pids_limit"]) ?? ServicePort.Text(limits?["pids"]);
        string? reservation = ServicePort.Text(d["mem_reservation"]) ?? ServicePort.Text(reservations?["memory"]);

        var hostConfig = new HostConfig
        {
            Binds = binds.Count > 0 ? binds : null,
            Mounts = mounts.Count > 0 ? mounts : null,
            NetworkMode = networkMode,
            PortBindings = bindings.Count > 0 ? bindings : null,
            RestartPolicy = RestartPolicy(service),
            Privileged = Bool(d["privileged"]),
            ReadonlyRootfs = Bool(d["read_only"]),
            Init = d["init"] is null ? null : Bool(d["init"]),
            CapAdd = Strings(d["cap_add"]),
            CapDrop = Strings(d["cap_drop"]),
            Dns = Strings(d["dns"]),
            DnsSearch = Strings(d["dns_search"]),
            DnsOptions = Strings(d["dns_opt"]),
            ExtraHosts = d["extra_hosts"] is MapNode hosts ? [.. hosts.Entries.Select(e => e.Key + ":" + ServicePort.Text(e.Value))] : null,
            SecurityOpt = Strings(d["security_opt"]),
            GroupAdd = Strings(d["group_add"]),
            Tmpfs = d["tmpfs"] is SeqNode tmpfs ? tmpfs.Items.Select(ServicePort.Text).OfType<string>().ToDictionary(t => t.Split(':', 2)[0], t => t.Contains(':', StringComparison.Ordinal) ? t.Split(':', 2)[1] : "", StringComparer.Ordinal) : null,
            Memory = memory is null ? 0 : Units.ParseBytes(memory, d.Mark),
            MemorySwap = ServicePort.Text(d["memswap_limit"]) is { } swap ? (swap == "-1" ? -1 : Units.ParseBytes(swap, d.Mark)) : 0,
            MemoryReservation = reservation is null ? null : Units.ParseBytes(reservation, d.Mark),
            NanoCpus = cpus is null ? 0 : (long)(double.Parse(cpus, CultureInfo.InvariantCulture) * 1e9),
            CpuShares = ServicePort.Text(d["cpu_shares"]) is { } shares ? long.Parse(shares, CultureInfo.InvariantCulture) : 0,
            PidsLimit = pids is null ? null : long.Parse(pids, CultureInfo.InvariantCulture),
            ShmSize = ServicePort.Text(d["shm_size"]) is { } shm ? Units.ParseBytes(shm, d.Mark) : null,
            Ulimits = Ulimits(d["ulimits"] as MapNode),
            Sysctls = d["sysctls"] is MapNode sysctls ? sysctls.Entries.ToDictionary(e => e.Key, e => ServicePort.Text(e.Value) ?? "", StringComparer.Ordinal) : null,
            LogConfig = d["logging"] is MapNode logging ? new LogConfig
            {
                Type = ServicePort.Text(logging["driver"]) ?? "json-file",
                Config = logging["options"] is MapNode opts ? opts.Entries.ToDictionary(e => e.Key, e => ServicePort.Text(e.Value) ?? "", StringComparer.Ordinal) : null,
            } : null,
            IpcMode = service.Get("ipc"),
            PidMode = service.Get("pid"),
            UsernsMode = service.Get("userns_mode"),
            CgroupParent = service.Get("cgroup_parent"),
            Runtime = service.Get("runtime"),
            OomScoreAdj = ServicePort.Text(d["oom_score_adj"]) is { } oom ? int.Parse(oom, CultureInfo.InvariantCulture) : null,
            AutoRemove = plan.AutoRemove,
        };

        string? grace = service.Get("stop_grace_period");
        return new ContainerCreateRequest
        {
            Image = service.ImageName(project.Name),
            Cmd = plan.Command ?? Command(d["command"]),
            Entrypoint = plan.Entrypoint ?? Command(d["entrypoint"]),
            Env = Environment(project, service, plan.ExtraEnvironment),
            Labels = labels,
            ExposedPorts = exposed.Count > 0 ? exposed : null,
            Hostname = service.Get("hostname"),
            Domainname = service.Get("domainname"),
            User = plan.User ?? service.Get("user"),
            WorkingDir = plan.WorkingDir ?? service.Get("working_dir"),
            Tty = plan.Tty ?? Bool(d["tty"]),
            OpenStdin = plan.Interactive || Bool(d["stdin_open"]),
            AttachStdin = plan.Interactive,
            AttachStdout = plan.Interactive,
            AttachStderr = plan.Interactive,
            StdinOnce = plan.Interactive,
            StopSignal = service.Get("stop_signal"),
            StopTimeout = grace is null ? null : (int)Math.Ceiling(Units.ParseDuration(grace, d.Mark).TotalSeconds),
            Healthcheck = Healthcheck(d["healthcheck"] as MapNode),
            HostConfig = hostConfig,
            NetworkingConfig = networking,
        };
    }

    private static bool Bool(ComposeNode? node) => ServicePort.Text(node) is "true" or "True" or "TRUE";

    private static IReadOnlyList<string>? Strings(ComposeNode? node) =>
        node is SeqNode seq ? [.. seq.Items.Select(ServicePort.Text).OfType<string>()] : null;

    private static RestartPolicy? RestartPolicy(ComposeService service)
    {
        string? restart = service.Get("restart");
        if (restart is null && service.Definition["deploy"] is MapNode deploy && deploy["restart_policy"] is MapNode policy)
        {
            restart = ServicePort.Text(policy["condition"]) switch
            {
                "none" => "no",
                "on-failure" => "on-failure" + (ServicePort.Text(policy["max_attempts"]) is { } n ? ":" + n : ""),
                _ => "always",
            };
        }

        if (restart is null)
        {
            return null;
        }

        string[] parts = restart.Split(':', 2);
        return new RestartPolicy
        {
            Name = parts[0] == "no" ? "no" : parts[0],
            MaximumRetryCount = parts.Length > 1 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : 0,
        };
    }

    private static List<Ulimit>? Ulimits(MapNode? map)
    {
        if (map is null)
        {
            return null;
        }

        var result = new List<Ulimit>();
        foreach ((string name, ComposeNode value) in map.Entries)
        {
            if (value is MapNode limits)
            {
                result.Add(new Ulimit { Name = name, Soft = long.Parse(ServicePort.Text(limits["soft"]) ?? "0", CultureInfo.InvariantCulture), Hard = long.Parse(ServicePort.Text(limits["hard"]) ?? "0", CultureInfo.InvariantCulture) });
            }
            else
            {
                long single = long.Parse(ServicePort.Text(value) ?? "0", CultureInfo.InvariantCulture);
                result.Add(new Ulimit { Name = name, Soft = single, Hard = single });
            }
        }

        return result;
    }

    private static HealthConfig? Healthcheck(MapNode? health)
    {
        if (health is null)
        {
            return null;
        }

        if (Bool(health["disable"]))
        {
            return new HealthConfig { Test = ["NONE"] };
        }

        IReadOnlyList<string>? test = health["test"] switch
        {
            ScalarNode { Value: { } text } => ["CMD-SHELL", text],
            SeqNode seq => [.. seq.Items.Select(i => ServicePort.Text(i) ?? "")],
            _ => null,
        };
        long Nanos(string key) => ServicePort.Text(health[key]) is { } text ? Units.ParseDuration(text, health.Mark).Ticks * 100 : 0;
        return new HealthConfig
        {
            Test = test,
            Interval = Nanos("interval"),
            Timeout = Nanos("timeout"),
            StartPeriod = Nanos("start_period"),
            StartInterval = Nanos("start_interval"),
            Retries = ServicePort.Text(health["retries"]) is { } retries ? int.Parse(retries, CultureInfo.InvariantCulture) : 0,
        };
    }

    private static (List<string> Binds, List<MountSpec> Mounts) Mounts(ComposeProject project, ComposeService service)
    {
        var binds = new List<string>();
        var mounts = new List<MountSpec>();
        if (service.Definition["volumes"] is SeqNode volumes)
        {
            foreach (ComposeNode node in volumes.Items)
            {
                ServiceVolume v = ServiceVolume.Parse(node);
                switch (v.Type)
                {
                    case "bind":
                        // Binds (not Mounts) so a missing host directory is created, as compose's short syntax does.
                        binds.Add($"{v.Source}:{v.Target}" + (v.ReadOnly ? ":ro" : "") + (v.Propagation is { } prop ? (v.ReadOnly ? "," : ":") + prop : ""));
                        break;
                    case "tmpfs":
                        mounts.Add(new MountSpec { Type = "tmpfs", Target = v.Target, TmpfsOptions = v.TmpfsSize is { } size ? new MountTmpfsOptions { SizeBytes = size } : null });
                        break;
                    default:
                        mounts.Add(new MountSpec
                        {
                            Type = "volume",
                            Source = v.Source is { Length: > 0 } source ? project.VolumeName(source) : null,
                            Target = v.Target,
                            ReadOnly = v.ReadOnly ? true : null,
                            VolumeOptions = v.NoCopy || v.Subpath is not null ? new MountVolumeOptions { NoCopy = v.NoCopy ? true : null, Subpath = v.Subpath } : null,
                        });
                        break;
                }
            }
        }

        foreach ((string section, IReadOnlyDictionary<string, MapNode> defined, string root) in (ValueTuple<string, IReadOnlyDictionary<string, MapNode>, string>[])
                 [("secrets", project.Secrets, "/run/secrets/"), ("configs", project.Configs, "/")])
        {
            if (service.Definition[section] is not SeqNode refs)
            {
                continue;
            }

            foreach (ComposeNode r in refs.Items)
            {
                string source = r is MapNode m ? ServicePort.Text(m["source"])! : ServicePort.Text(r)!;
                string target = r is MapNode m2 && ServicePort.Text(m2["target"]) is { } t ? t : source;
                if (!target.StartsWith('/'))
                {
                    target = root + target;
                }

                MapNode resource = defined[source];
                string? file = ServicePort.Text(resource["file"]);
                if (file is null)
                {
                    throw ComposeException.At(r.Mark, $"{section[..^1]} {source}: only file-based {section} are supported");
                }

                binds.Add($"{file}:{target}:ro");
            }
        }

        return (binds, mounts);
    }
}

/// <summary>What varies between the containers of one service (and between <c>up</c> and <c>run</c>).</summary>
public sealed record ContainerPlan
{
    public required string Name { get; init; }

    public required int Number { get; init; }

    public required string ConfigHash { get; init; }

    public bool OneOff { get; init; }

    public bool PublishPorts { get; init; } = true;

    public bool AutoRemove { get; init; }

    public IReadOnlyList<string>? Command { get; init; }

    public IReadOnlyList<string>? Entrypoint { get; init; }

    public IReadOnlyList<string> ExtraEnvironment { get; init; } = [];

    public string? User { get; init; }

    public string? WorkingDir { get; init; }

    public bool? Tty { get; init; }

    public bool Interactive { get; init; }

    /// <summary>Resolves <c>network_mode: service:NAME</c> to a container of that service.</summary>
    public Func<string, string?>? ServiceContainer { get; init; }
}
