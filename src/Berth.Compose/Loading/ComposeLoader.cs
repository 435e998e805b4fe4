using System.Globalization;
using System.Text;

namespace Berth.Compose.Loading;

/// <summary>What selects and shapes a project: docker compose's -f, -p, --project-directory, --env-file and --profile.</summary>
public sealed record ComposeOptions
{
    public IReadOnlyList<string> Files { get; init; } = [];

    public string? ProjectName { get; init; }

    public string? ProjectDirectory { get; init; }

    public IReadOnlyList<string> EnvFiles { get; init; } = [];

    public IReadOnlyList<string> Profiles { get; init; } = [];

    /// <summary>Services named on the command line: enabled whatever their profiles say.</summary>
    public IReadOnlyList<string> TargetServices { get; init; } = [];

    /// <summary>The process environment.</summary>
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    public string WorkingDirectory { get; init; } = Directory.GetCurrentDirectory();

    /// <summary>Text for the file named "-" (standard input).</summary>
    public Func<string>? ReadStdin { get; init; }
}

/// <summary>
/// Loads a project the way compose does: find the files, read .env, then for each file parse, interpolate,
/// validate against the schema, normalise and pull in its <c>include</c>s; merge the files in order, resolve
/// <c>extends</c>, pick the project name, apply profiles and check references between services and resources.
/// </summary>
public static class ComposeLoader
{
    private static readonly string[] DefaultFiles = ["compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"];
    private static readonly string[] OverrideFiles = ["compose.override.yaml", "compose.override.yml", "docker-compose.override.yaml", "docker-compose.override.yml"];

    public static ComposeProject Load(ComposeOptions options)
    {
        string cwd = Path.GetFullPath(options.WorkingDirectory);
        string firstDir = options.ProjectDirectory is { } pd ? Normalizer.AbsolutePath(pd, cwd) : cwd;
        Dictionary<string, string?> dotenv = ReadDotEnv(options, firstDir, options.Environment);
        string? Lookup(string name) => options.Environment(name) ?? dotenv.GetValueOrDefault(name);

        List<string> files = FindFiles(options, cwd, firstDir, Lookup);
        string projectDir = options.ProjectDirectory is not null ? firstDir : Path.GetDirectoryName(files[0] == "-" ? cwd + "/-" : files[0])!;
        if (projectDir != firstDir && options.EnvFiles.Count == 0)
        {
            dotenv = ReadDotEnv(options, projectDir, options.Environment);
        }

        var warnings = new List<string>();
        var interpolation = new Interpolation(Lookup);
        MapNode merged = LoadFiles(files, projectDir, interpolation, warnings, options, []);
        ResolveAllExtends(merged, interpolation, warnings);

        string name = ProjectName(options, Lookup, merged, projectDir);
        merged.Remove("name");
        var root = new MapNode(merged.Mark);
        root["name"] = new ScalarNode(name, merged.Mark);
        foreach ((string key, ComposeNode value) in merged.Entries)
        {
            root[key] = value;
        }

        ComposeProject project = Build(root, name, projectDir, files, options, Lookup);
        project.Warnings.AddRange(warnings);
        project.Warnings.AddRange(interpolation.Unset.Select(v => $"The \"{v}\" variable is not set. Defaulting to a blank string."));
        return project;
    }

    private static Dictionary<string, string?> ReadDotEnv(ComposeOptions options, string dir, Func<string, string?> environment)
    {
        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        IEnumerable<string> envFiles = options.EnvFiles.Count > 0
            ? options.EnvFiles.Select(f => Normalizer.AbsolutePath(f, options.WorkingDirectory))
            : [Path.Combine(dir, ".env")];
        foreach (string file in envFiles)
        {
            if (!File.Exists(file))
            {
                if (options.EnvFiles.Count > 0)
                {
                    throw new ComposeException($"couldn't find env file: {file}");
                }

                continue;
            }

            foreach ((string key, string? value) in EnvFile.Parse(File.ReadAllText(file), file, n => environment(n) ?? values.GetValueOrDefault(n)))
            {
                values[key] = value;
            }
        }

        return values;
    }

    private static List<string> FindFiles(ComposeOptions options, string cwd, string searchFrom, Func<string, string?> lookup)
    {
        if (options.Files.Count > 0)
        {
            return [.. options.Files.Select(f => f == "-" ? f : Normalizer.AbsolutePath(f, cwd))];
        }

        if (lookup("COMPOSE_FILE") is { Length: > 0 } fromEnv)
        {
            string separator = lookup("COMPOSE_PATH_SEPARATOR") ?? ":";
            return [.. fromEnv.Split(separator, StringSplitOptions.RemoveEmptyEntries).Select(f => Normalizer.AbsolutePath(f, cwd))];
        }

        for (string? dir = searchFrom; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            string? found = DefaultFiles.Select(f => Path.Combine(dir, f)).FirstOrDefault(File.Exists);
            if (found is null)
            {
                continue;
            }

            var result = new List<string> { found };
            string? overrideFile = OverrideFiles.Select(f => Path.Combine(dir, f)).FirstOrDefault(File.Exists);
            if (overrideFile is not null)
            {
                result.Add(overrideFile);
            }

            return result;
        }

        throw new ComposeException("no configuration file provided: not found");
    }

    /// <summary>Reads, interpolates, validates and normalises each file, applies its includes, and merges them in order.</summary>
    private static MapNode LoadFiles(IReadOnlyList<string> files, string baseDir, Interpolation interpolation, List<string> warnings, ComposeOptions options, HashSet<string> including)
    {
        MapNode? merged = null;
        foreach (string file in files)
        {
            MapNode root = LoadOne(file, baseDir, interpolation, warnings, options);
            ApplyIncludes(root, file, interpolation, warnings, options, including);
            merged = (MapNode)Merger.Merge(merged, root);
        }

        return merged ?? new MapNode(new SourceMark("compose.yaml", 0, 0));
    }

    private static MapNode LoadOne(string file, string baseDir, Interpolation interpolation, List<string> warnings, ComposeOptions options)
    {
        string text;
        if (file == "-")
        {
            text = options.ReadStdin?.Invoke() ?? Console.In.ReadToEnd();
        }
        else if (!File.Exists(file))
        {
            throw new ComposeException($"open {file}: no such file or directory");
        }
        else
        {
            text = File.ReadAllText(file);
        }

        string display = file == "-" ? "(stdin)" : file;
        ComposeNode? node = YamlReader.Read(text, display);
        if (node is null)
        {
            return new MapNode(new SourceMark(display, 0, 0));
        }

        if (node is not MapNode root)
        {
            throw ComposeException.At(node.Mark, "Top-level object must be a mapping");
        }

        interpolation.Apply(root);
        SchemaValidator.Validate(root);
        Normalizer.Normalize(root, baseDir, warnings);
        return root;
    }

    private static void ApplyIncludes(MapNode root, string file, Interpolation interpolation, List<string> warnings, ComposeOptions options, HashSet<string> including)
    {
        if (root["include"] is not SeqNode includes)
        {
            return;
        }

        root.Remove("include");
        string fileDir = Path.GetDirectoryName(file == "-" ? options.WorkingDirectory + "/-" : file)!;
        if (!including.Add(file))
        {
            throw ComposeException.At(includes.Mark, $"include cycle detected: {file}");
        }

        foreach (ComposeNode entry in includes.Items)
        {
            List<string> paths;
            string? projectDirectory = null;
            if (entry is ScalarNode { Value: { } single })
            {
                paths = [Normalizer.AbsolutePath(single, fileDir)];
            }
            else
            {
                var map = (MapNode)entry;
                paths = map["path"] switch
                {
                    ScalarNode { Value: { } p } => [Normalizer.AbsolutePath(p, fileDir)],
                    SeqNode list => [.. list.Items.OfType<ScalarNode>().Select(p => Normalizer.AbsolutePath(p.Value ?? "", fileDir))],
                    _ => throw ComposeException.At(map.Mark, "include.path is required"),
                };
                projectDirectory = ServicePort.Text(map["project_directory"]);
            }

            string includedDir = projectDirectory is not null ? Normalizer.AbsolutePath(projectDirectory, fileDir) : Path.GetDirectoryName(paths[0])!;
            MapNode included = LoadFiles(paths, includedDir, interpolation, warnings, options, including);
            ResolveAllExtends(included, interpolation, warnings);
            foreach (string section in (string[])["services", "networks", "volumes", "configs", "secrets"])
            {
                if (included[section] is not MapNode resources)
                {
                    continue;
                }

                if (root[section] is not MapNode target)
                {
                    target = new MapNode(resources.Mark);
                    root[section] = target;
                }

                foreach ((string name, ComposeNode value) in resources.Entries)
                {
                    if (target.ContainsKey(name))
                    {
                        throw ComposeException.At(target.MarkOfKey(name), $"{section}.{name} conflicts with imported resource");
                    }

                    target[name] = value;
                    target.KeyMarks[name] = resources.MarkOfKey(name);
                }
            }
        }

        including.Remove(file);
    }

    private static void ResolveAllExtends(MapNode root, Interpolation interpolation, List<string> warnings)
    {
        if (root["services"] is not MapNode services)
        {
            return;
        }

        var resolved = new HashSet<string>(StringComparer.Ordinal);
        foreach (string name in services.Keys.ToList())
        {
            ResolveExtends(services, name, interpolation, warnings, resolved, []);
        }
    }

    /// <summary>Replaces a service that <c>extends</c> another by the other's definition with this one merged over it.</summary>
    private static MapNode ResolveExtends(MapNode services, string name, Interpolation interpolation, List<string> warnings, HashSet<string> resolved, List<string> chain)
    {
        var service = (MapNode)services[name]!;
        if (resolved.Contains(name) || service["extends"] is not MapNode extends)
        {
            resolved.Add(name);
            return service;
        }

        string baseName = ServicePort.Text(extends["service"]) ?? throw ComposeException.At(extends.Mark, $"services.{name}.extends.service is required");
        string? file = ServicePort.Text(extends["file"]);
        string key = (file ?? "") + "#" + name;
        if (chain.Contains(key))
        {
            throw ComposeException.At(extends.Mark, $"circular reference with extends: {string.Join(" -> ", chain.Append(key))}");
        }

        chain.Add(key);
        MapNode baseService;
        if (file is null)
        {
            if (services[baseName] is not MapNode)
            {
                throw ComposeException.At(extends.Mark, $"cannot extend service \"{name}\": service \"{baseName}\" not found");
            }

            baseService = (MapNode)ResolveExtends(services, baseName, interpolation, warnings, resolved, chain).Clone();
        }
        else
        {
            MapNode other = LoadOne(file, Path.GetDirectoryName(file)!, interpolation, warnings, new ComposeOptions());
            if (other["services"] is not MapNode otherServices || otherServices[baseName] is not MapNode)
            {
                throw ComposeException.At(extends.Mark, $"cannot extend service \"{name}\" in {file}: service \"{baseName}\" not found");
            }

            baseService = (MapNode)ResolveExtends(otherServices, baseName, interpolation, warnings, [], chain).Clone();
        }

        chain.RemoveAt(chain.Count - 1);
        service.Remove("extends");
        var result = (MapNode)Merger.Merge(baseService, service, "services." + name);
        services[name] = result;
        resolved.Add(name);
        return result;
    }

    private static string ProjectName(ComposeOptions options, Func<string, string?> lookup, MapNode merged, string projectDir)
    {
        if (options.ProjectName is { Length: > 0 } flag)
        {
            return CheckName(flag);
        }

        if (lookup("COMPOSE_PROJECT_NAME") is { Length: > 0 } fromEnv)
        {
            return CheckName(fromEnv);
        }

        if (ServicePort.Text(merged["name"]) is { Length: > 0 } fromFile)
        {
            return CheckName(fromFile);
        }

        string normalised = NormalizeName(Path.GetFileName(projectDir.TrimEnd('/')));
        return normalised.Length > 0 ? normalised : "default";
    }

    /// <summary>compose's rule: lowercase letters, digits, dashes and underscores, starting with a letter or digit.</summary>
    public static string NormalizeName(string name)
    {
        var sb = new StringBuilder();
        foreach (char c in name.ToLowerInvariant())
        {
            if (char.IsAsciiLetterOrDigit(c) || c is '_' or '-')
            {
                sb.Append(c);
            }
        }

        return sb.ToString().TrimStart('_', '-');
    }

    private static string CheckName(string name) =>
        name.Length > 0 && NormalizeName(name) == name
            ? name
            : throw new ComposeException($"invalid project name \"{name}\": must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number");

    private static ComposeProject Build(MapNode root, string name, string projectDir, List<string> files, ComposeOptions options, Func<string, string?> lookup)
    {
        var services = root["services"] as MapNode ?? new MapNode(root.Mark);
        root["services"] = services;
        var active = new HashSet<string>(options.Profiles, StringComparer.Ordinal);
        if (active.Count == 0 && lookup("COMPOSE_PROFILES") is { Length: > 0 } fromEnv)
        {
            active.UnionWith(fromEnv.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }

        // A service is on when it has no profiles, one of them is active, or it was named on the command line;
        // what an enabled service depends on is switched on with it.
        var enabled = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string serviceName, ComposeNode node) in services.Entries)
        {
            var service = (MapNode)node;
            IEnumerable<string> profiles = service["profiles"] is SeqNode p ? p.Items.OfType<ScalarNode>().Select(s => s.Value ?? "") : [];
            if (!profiles.Any() || profiles.Any(active.Contains) || active.Contains("*") || options.TargetServices.Contains(serviceName))
            {
                enabled.Add(serviceName);
            }
        }

        var pending = new Queue<string>(enabled);
        while (pending.TryDequeue(out string? serviceName))
        {
            if (services[serviceName] is MapNode { } svc && svc["depends_on"] is MapNode deps)
            {
                foreach (string dep in deps.Keys)
                {
                    if (services.ContainsKey(dep) && enabled.Add(dep))
                    {
                        pending.Enqueue(dep);
                    }
                }
            }
        }

        foreach (string target in options.TargetServices)
        {
            if (!services.ContainsKey(target))
            {
                throw new ComposeException($"no such service: {target}");
            }
        }

        MapNode networks = Section(root, "networks");
        MapNode volumes = Section(root, "volumes");
        MapNode secrets = Section(root, "secrets");
        MapNode configs = Section(root, "configs");
        var result = new List<ComposeService>();
        var disabled = new List<string>();
        bool needsDefault = false;
        foreach ((string serviceName, ComposeNode node) in services.Entries.ToList())
        {
            var service = (MapNode)node;
            if (!enabled.Contains(serviceName))
            {
                disabled.Add(serviceName);
                services.Remove(serviceName);
                continue;
            }

            var dependencies = new List<ServiceDependency>();
            if (service["depends_on"] is MapNode deps)
            {
                foreach ((string dep, ComposeNode spec) in deps.Entries)
                {
                    var specMap = spec as MapNode;
                    string condition = ServicePort.Text(specMap?["condition"]) ?? "service_started";
                    bool required = ServicePort.Text(specMap?["required"]) is not ("false" or "False");
                    if (!services.ContainsKey(dep))
                    {
                        throw ComposeException.At(deps.MarkOfKey(dep), $"service \"{serviceName}\" depends on undefined service \"{dep}\": invalid compose project");
                    }

                    if (!enabled.Contains(dep) && !required)
                    {
                        continue;
                    }

                    dependencies.Add(new ServiceDependency(dep, condition, ServicePort.Text(specMap?["restart"]) is "true" or "True", required));
                }
            }

            if (service["network_mode"] is null)
            {
                if (service["networks"] is MapNode serviceNetworks)
                {
                    foreach (string net in serviceNetworks.Keys)
                    {
                        if (net != "default" && !networks.ContainsKey(net))
                        {
                            throw ComposeException.At(serviceNetworks.MarkOfKey(net), $"service \"{serviceName}\" refers to undefined network {net}: invalid compose project");
                        }

                        needsDefault |= net == "default";
                    }
                }
                else
                {
                    needsDefault = true;
                }
            }

            if (service["volumes"] is SeqNode serviceVolumes)
            {
                foreach (ComposeNode v in serviceVolumes.Items)
                {
                    ServiceVolume volume = ServiceVolume.Parse(v);
                    if (volume.Type == "volume" && volume.Source is { Length: > 0 } source && !volumes.ContainsKey(source))
                    {
                        throw ComposeException.At(v.Mark, $"service \"{serviceName}\" refers to undefined volume {source}: invalid compose project");
                    }
                }
            }

            foreach (string section in (string[])["secrets", "configs"])
            {
                MapNode defined = section == "secrets" ? secrets : configs;
                if (service[section] is SeqNode refs)
                {
                    foreach (ComposeNode r in refs.Items)
                    {
                        string? source = r is MapNode m ? ServicePort.Text(m["source"]) : ServicePort.Text(r);
                        if (source is null || !defined.ContainsKey(source))
                        {
                            throw ComposeException.At(r.Mark, $"service \"{serviceName}\" refers to undefined {section[..^1]} {source}: invalid compose project");
                        }
                    }
                }
            }

            int replicas = 1;
            if (service["deploy"] is MapNode deploy && deploy["replicas"] is ScalarNode { IsNull: false } r1)
            {
                replicas = Count(r1, deploy.MarkOfKey("replicas"), $"services.{serviceName}.deploy.replicas");
            }
            else if (service["scale"] is ScalarNode { IsNull: false } r2)
            {
                replicas = Count(r2, service.MarkOfKey("scale"), $"services.{serviceName}.scale");
            }

            result.Add(new ComposeService { Name = serviceName, Definition = service, DependsOn = dependencies, Replicas = replicas });
        }

        if (needsDefault && !networks.ContainsKey("default"))
        {
            networks["default"] = new MapNode(root.Mark);
        }

        CheckCycles(result);
        return new ComposeProject
        {
            Name = name,
            WorkingDirectory = projectDir,
            ConfigFiles = files,
            Root = root,
            Services = result,
            DisabledServices = disabled,
            Networks = Resources(networks),
            Volumes = Resources(volumes),
            Secrets = Resources(secrets),
            Configs = Resources(configs),
            Lookup = lookup,
        };
    }

    private static int Count(ScalarNode node, SourceMark mark, string path) =>
        int.TryParse(node.Value, NumberStyles.None, CultureInfo.InvariantCulture, out int n)
            ? n
            : throw ComposeException.At(mark, $"{path} must be a integer");

    private static MapNode Section(MapNode root, string key)
    {
        if (root[key] is MapNode map)
        {
            return map;
        }

        var created = new MapNode(root.Mark);
        root[key] = created;
        return created;
    }

    private static Dictionary<string, MapNode> Resources(MapNode section) =>
        section.Entries.ToDictionary(e => e.Key, e => e.Value as MapNode ?? new MapNode(e.Value.Mark), StringComparer.Ordinal);

    private static void CheckCycles(List<ComposeService> services)
    {
        var byName = services.ToDictionary(s => s.Name, StringComparer.Ordinal);
        var state = new Dictionary<string, int>(StringComparer.Ordinal);
        void Visit(ComposeService s, List<string> path)
        {
            if (state.GetValueOrDefault(s.Name) == 2)
            {
                return;
            }

            if (state.GetValueOrDefault(s.Name) == 1)
            {
                throw new ComposeException($"dependency cycle detected: {string.Join(" -> ", path.Append(s.Name))}");
            }

            state[s.Name] = 1;
            foreach (ServiceDependency d in s.DependsOn)
            {
                if (byName.TryGetValue(d.Service, out ComposeService? dep))
                {
                    Visit(dep, [.. path, s.Name]);
                }
            }

            state[s.Name] = 2;
        }

        foreach (ComposeService s in services)
        {
            Visit(s, []);
        }
    }
}
