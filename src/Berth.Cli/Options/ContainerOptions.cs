using System.Globalization;
using Berth.Api.Types;
using Berth.Cli.Parsing;

namespace Berth.Cli.Options;

/// <summary>What <c>run</c>/<c>create</c> flags and arguments become: the create body plus client-side settings.</summary>
internal sealed record ContainerPlan
{
    public required ContainerCreateRequest Request { get; init; }


    public required string Image { get; init; }

    public string? Name { get; init; }

    public string? Platform { get; init; }

    /// <summary><c>missing</c>, <c>always</c> or <c>never</c>.</summary>
    public string Pull { get; init; } = "missing";

    public string? ContainerIdFile { get; init; }

    public bool Detach { get; init; }

    public bool SignalProxy { get; init; } = true;

    public string? DetachKeys { get; init; }
}

/// <summary>
/// Turns the flags of run/create into a <see cref="ContainerCreateRequest"/> the way docker's
/// <c>parse.go</c> does (attach defaults, env files, port specs, volumes, resources...).
/// Invalid values throw <see cref="FlagParseException"/> with docker's wording (exit 125).
/// </summary>
internal static class ContainerOptions
{
    private static readonly HashSet<string> BuiltinNetworks = new(StringComparer.Ordinal) { "default", "bridge", "host", "none" };

    public static ContainerPlan Build(ParsedArgs p, bool isRun, Func<string, string?> environment, Func<string, string> readFile, string currentDirectory)
    {
        ArgumentNullException.ThrowIfNull(p);
        string image = p.Positionals[0];
        List<string>? cmd = p.Positionals.Count > 1 ? p.Positionals.Skip(1).ToList() : null;

        bool detach = isRun && p.Bool("detach");
        bool interactive = p.Bool("interactive");
        bool tty = p.Bool("tty");

        // -a: which streams to attach; without it, stdout and stderr (and stdin with -i).
        var attach = new HashSet<string>(StringComparer.Ordinal);
        foreach (string stream in p.List("attach"))
        {
            string s = stream.ToLowerInvariant();
            if (s is not ("stdin" or "stdout" or "stderr"))
            {
                throw new FlagParseException($"invalid argument \"{stream}\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR");
            }

            attach.Add(s);
        }

        if (detach && attach.Count > 0)
        {
            throw new StatusException(125, "Conflicting options: -a and -d");
        }

        bool attachStdin = !detach && (attach.Contains("stdin") || interactive);
        bool attachStdout = !detach && (attach.Count == 0 || attach.Contains("stdout"));
        bool attachStderr = !detach && (attach.Count == 0 || attach.Contains("stderr"));

        bool autoRemove = p.Bool("rm");
        RestartPolicy? restart = ParseRestart(p.String("restart"));
        if (autoRemove && restart is { Name: not ("" or "no") })
        {
            throw new StatusException(125, "Conflicting options: cannot specify both --restart and --rm");
        }

        List<string> env = ReadEnvFiles(p.List("env-file"), environment, readFile);
        foreach (string e in p.List("env"))
        {
            env.Add(ValidateEnv(e, environment));
        }

        Dictionary<string, string> labels = ReadLabelFiles(p.List("label-file"), readFile);
        foreach (string l in p.List("label"))
        {
            (string k, string v) = KeyValues.Split(l);
            if (k.Length == 0)
            {
                throw new FlagParseException($"invalid argument \"{l}\" for \"-l, --label\" flag: invalid label format");
            }

            labels[k] = v;
        }

        List<string>? entrypoint = null;
        if (!string.IsNullOrEmpty(p.String("entrypoint")))
        {
            entrypoint = [p.String("entrypoint")!];
        }
        else if (p.Changed("entrypoint"))
        {
            entrypoint = [""]; // --entrypoint "" resets the image's entrypoint
        }

        // Ports: -p specs and --expose.
        var exposed = new Dictionary<string, EmptyObject>(StringComparer.Ordinal);
        var bindings = new Dictionary<string, IReadOnlyList<PortBinding>?>(StringComparer.Ordinal);
        foreach (string spec in p.List("publish"))
        {
            foreach ((string port, PortBinding binding) in PortSpecs.Parse(spec))
            {
                exposed[port] = new EmptyObject();
                List<PortBinding> list = bindings.TryGetValue(port, out IReadOnlyList<PortBinding>? existing) && existing is not null ? [.. existing] : [];
                list.Add(binding);
                bindings[port] = list;
            }
        }

        foreach (string spec in p.List("expose"))
        {
            foreach (string port in PortSpecs.ParseExpose(spec))
            {
                exposed[port] = new EmptyObject();
            }
        }

        // Volumes: "src:dst[:mode]" are binds, a lone path is an anonymous volume.
        var binds = new List<string>();
        var volumes = new Dictionary<string, EmptyObject>(StringComparer.Ordinal);
        foreach (string v in p.List("volume"))
        {
            if (v.Length == 0)
            {
                throw new FlagParseException("invalid argument \"\" for \"-v, --volume\" flag: bad format for path: ");
            }

            int colon = v.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                volumes[v] = new EmptyObject();
                continue;
            }

            string host = v[..colon];
            if (host.StartsWith('.'))
            {
                host = Path.GetFullPath(Path.Combine(currentDirectory, host));
            }

            binds.Add(host + v[colon..]);
        }

        var tmpfs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string t in p.List("tmpfs"))
        {
            int colon = t.IndexOf(':', StringComparison.Ordinal);
            tmpfs[colon < 0 ? t : t[..colon]] = colon < 0 ? "" : t[(colon + 1)..];
        }

        string networkMode = p.List("network") is { Count: > 0 } networks ? networks[0] : "default";
        NetworkingConfig? networking = null;
        IReadOnlyList<string> aliases = p.List("network-alias");
        if (!BuiltinNetworks.Contains(networkMode) && !networkMode.StartsWith("container:", StringComparison.Ordinal))
        {
            networking = new NetworkingConfig
            {
                EndpointsConfig = new Dictionary<string, EndpointSettings>(StringComparer.Ordinal)
                {
                    [networkMode] = new EndpointSettings
                    {
                        Aliases = aliases.Count > 0 ? aliases : null,
                        IPAMConfig = p.Changed("ip") && !string.IsNullOrEmpty(p.String("ip")) ? new EndpointIpamConfig { IPv4Address = p.String("ip") } : null,
                    },
                },
            };
        }
        else if (aliases.Count > 0)
        {
            throw new StatusException(125, "network-scoped aliases are only supported for user-defined networks");
        }

        HealthConfig? health = ParseHealth(p);
        LogConfig? logConfig = null;
        if (p.Changed("log-driver") || p.List("log-opt").Count > 0)
        {
            logConfig = new LogConfig
            {
                Type = p.String("log-driver") ?? "",
                Config = p.List("log-opt").Count > 0 ? KeyValues.ToMap(p.List("log-opt")) : null,
            };
        }

        var hostConfig = new HostConfig
        {
            Binds = binds.Count > 0 ? binds : null,
            NetworkMode = networkMode,
            RestartPolicy = restart ?? new RestartPolicy { Name = "no" },
            AutoRemove = autoRemove,
            Privileged = p.Bool("privileged"),
            ReadonlyRootfs = p.Bool("read-only"),
            Init = p.Changed("init") ? p.Bool("init") : null,
            CapAdd = NullIfEmpty(p.List("cap-add")),
            CapDrop = NullIfEmpty(p.List("cap-drop")),
            Dns = NullIfEmpty(p.List("dns")),
            ExtraHosts = NullIfEmpty(p.List("add-host").Select(NormalizeExtraHost).ToList()),
            SecurityOpt = NullIfEmpty(p.List("security-opt")),
            Tmpfs = tmpfs.Count > 0 ? tmpfs : null,
            ShmSize = p.Changed("shm-size") ? Bytes(p, "shm-size") : null,
            Runtime = p.String("runtime"),
            Memory = p.Changed("memory") ? Bytes(p, "memory") : 0,
            MemorySwap = p.Changed("memory-swap") ? SwapBytes(p) : 0,
            NanoCpus = p.Changed("cpus") ? NanoCpus(p.StringOrEmpty("cpus")) : 0,
            CpuShares = p.Int("cpu-shares"),
            PidsLimit = p.Changed("pids-limit") ? p.Int("pids-limit") : null,
            LogConfig = logConfig,
            PortBindings = bindings.Count > 0 ? bindings : null,
            PublishAllPorts = p.Bool("publish-all") ? true : null,
            Mounts = p.List("mount").Count > 0 ? p.List("mount").Select(MountSpecs.Parse).ToList() : null,
            VolumesFrom = NullIfEmpty(p.List("volumes-from")),
            Links = NullIfEmpty(p.List("link")),
            Devices = p.List("device").Count > 0 ? p.List("device").Select(ParseDevice).ToList() : null,
            Ulimits = p.List("ulimit").Count > 0 ? p.List("ulimit").Select(ParseUlimit).ToList() : null,
            Sysctls = p.List("sysctl").Count > 0 ? KeyValues.ToMap(p.List("sysctl")) : null,
            GroupAdd = NullIfEmpty(p.List("group-add")),
            DnsOptions = NullIfEmpty(p.List("dns-option")),
            DnsSearch = NullIfEmpty(p.List("dns-search")),
            IpcMode = p.String("ipc"),
            PidMode = p.String("pid"),
            UTSMode = p.String("uts"),
            UsernsMode = p.String("userns"),
            CgroupnsMode = p.String("cgroupns"),
            CgroupParent = p.String("cgroup-parent"),
            Isolation = p.String("isolation"),
            OomKillDisable = p.Changed("oom-kill-disable") ? p.Bool("oom-kill-disable") : null,
            OomScoreAdj = p.Changed("oom-score-adj") ? (int)p.Int("oom-score-adj") : null,
            MemoryReservation = p.Changed("memory-reservation") ? Bytes(p, "memory-reservation") : null,
            MemorySwappiness = p.Changed("memory-swappiness") ? p.Int("memory-swappiness") : null,
            CpuPeriod = p.Changed("cpu-period") ? p.Int("cpu-period") : null,
            CpuQuota = p.Changed("cpu-quota") ? p.Int("cpu-quota") : null,
            CpusetCpus = p.String("cpuset-cpus"),
            CpusetMems = p.String("cpuset-mems"),
            BlkioWeight = p.Changed("blkio-weight") ? (int)p.Int("blkio-weight") : null,
            StorageOpt = p.List("storage-opt").Count > 0 ? KeyValues.ToMap(p.List("storage-opt")) : null,
            Annotations = p.List("annotation").Count > 0 ? KeyValues.ToMap(p.List("annotation")) : null,
        };

        var request = new ContainerCreateRequest
        {
            Hostname = p.String("hostname"),
            Domainname = p.String("domainname"),
            User = p.String("user"),
            AttachStdin = attachStdin,
            AttachStdout = attachStdout,
            AttachStderr = attachStderr,
            ExposedPorts = exposed.Count > 0 ? exposed : null,
            Tty = tty,
            OpenStdin = interactive,
            StdinOnce = interactive && attachStdin,
            Env = env,
            Cmd = cmd,
            Healthcheck = health,
            Image = image,
            Volumes = volumes.Count > 0 ? volumes : null,
            WorkingDir = p.String("workdir"),
            Entrypoint = entrypoint,
            Labels = labels,
            StopSignal = p.String("stop-signal"),
            StopTimeout = p.Changed("stop-timeout") ? (int)p.Int("stop-timeout") : null,
            HostConfig = hostConfig,
            NetworkingConfig = networking,
        };

        string pull = p.StringOrEmpty("pull");
        if (pull is not ("missing" or "always" or "never"))
        {
            throw new StatusException(125, $"invalid pull option: '{pull}': must be one of \"always\", \"missing\" or \"never\"");
        }

        return new ContainerPlan
        {
            Request = request,
            Image = image,
            Name = p.String("name"),
            Platform = p.String("platform") ?? NullIfEmptyString(environment("DOCKER_DEFAULT_PLATFORM")),
            Pull = pull,
            ContainerIdFile = p.String("cidfile"),
            Detach = detach,
            SignalProxy = !isRun || p.Bool("sig-proxy"),
            DetachKeys = isRun ? p.String("detach-keys") : null,
        };
    }

    /// <summary>docker's <c>ValidateEnv</c>: <c>NAME</c> alone takes the client's value when it has one.</summary>
    public static string ValidateEnv(string value, Func<string, string?> environment)
    {
        int eq = value.IndexOf('=', StringComparison.Ordinal);
        string key = eq < 0 ? value : value[..eq];
        if (key.Length == 0)
        {
            throw new FlagParseException($"invalid argument \"{value}\" for \"-e, --env\" flag: invalid environment variable: {value}");
        }

        if (eq >= 0)
        {
            return value;
        }

        string? fromClient = environment(key);
        return fromClient is null ? value : key + "=" + fromClient;
    }

    /// <summary>docker's env-file format: <c>KEY=value</c> lines, <c>#</c> comments, a bare <c>KEY</c> takes the client's value.</summary>
    public static List<string> ReadEnvFiles(IEnumerable<string> files, Func<string, string?> environment, Func<string, string> readFile)
    {
        var result = new List<string>();
        foreach (string file in files)
        {
            string text;
            try
            {
                text = readFile(file);
            }
            catch (IOException e)
            {
                throw new StatusException(125, $"open {file}: {e.Message}");
            }
            catch (UnauthorizedAccessException e)
            {
                throw new StatusException(125, $"open {file}: {e.Message}");
            }

            foreach (string rawLine in text.TrimStart('\uFEFF').Split('\n'))
            {
                string line = rawLine.TrimEnd('\r').TrimStart();
                if (line.Length == 0 || line.StartsWith('#'))
                {
                    continue;
                }

                int eq = line.IndexOf('=', StringComparison.Ordinal);
                string key = eq < 0 ? line : line[..eq];
                if (key.Length == 0)
                {
                    throw new StatusException(125, $"no variable name on line '{line}'");
                }

                if (key.Any(char.IsWhiteSpace))
                {
                    throw new StatusException(125, $"variable '{key}' contains whitespaces");
                }

                if (eq >= 0)
                {
                    result.Add(line);
                }
                else if (environment(key) is string fromClient)
                {
                    result.Add(key + "=" + fromClient);
                }
            }
        }

        return result;
    }

    private static Dictionary<string, string> ReadLabelFiles(IEnumerable<string> files, Func<string, string> readFile)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string file in files)
        {
            string text;
            try
            {
                text = readFile(file);
            }
            catch (IOException e)
            {
                throw new StatusException(125, $"open {file}: {e.Message}");
            }

            foreach (string rawLine in text.Split('\n'))
            {
                string line = rawLine.TrimEnd('\r').Trim();
                if (line.Length == 0 || line.StartsWith('#'))
                {
                    continue;
                }

                (string k, string v) = KeyValues.Split(line);
                labels[k] = v;
            }
        }

        return labels;
    }

    /// <summary><c>no</c>, <c>always</c>, <c>unless-stopped</c>, <c>on-failure[:N]</c>.</summary>
    public static RestartPolicy? ParseRestart(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        string name = value;
        int retries = 0;
        int colon = value.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            name = value[..colon];
            if (!int.TryParse(value[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out retries))
            {
                throw new FlagParseException($"invalid argument \"{value}\" for \"--restart\" flag: invalid restart policy format: maximum retry count must be an integer");
            }
        }

        return name switch
        {
            "no" or "always" or "unless-stopped" when colon < 0 => new RestartPolicy { Name = name },
            "on-failure" => new RestartPolicy { Name = name, MaximumRetryCount = retries },
            "no" or "always" or "unless-stopped" => throw new FlagParseException($"invalid argument \"{value}\" for \"--restart\" flag: invalid restart policy format: maximum retry count can only be used with 'on-failure'"),
            _ => throw new FlagParseException($"invalid argument \"{value}\" for \"--restart\" flag: invalid restart policy format: unknown policy '{name}'"),
        };
    }

    /// <summary><c>--cpus 1.5</c> → 1 500 000 000 nano-CPUs.</summary>
    public static long NanoCpus(string value)
    {
        if (!decimal.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal cpus))
        {
            throw new FlagParseException($"invalid argument \"{value}\" for \"--cpus\" flag: failed to parse {value} as a rational number");
        }

        decimal nano = cpus * 1_000_000_000m;
        if (nano != decimal.Truncate(nano))
        {
            throw new FlagParseException($"invalid argument \"{value}\" for \"--cpus\" flag: value is too precise");
        }

        return (long)nano;
    }

    private static long Bytes(ParsedArgs p, string flag)
    {
        string value = p.StringOrEmpty(flag);
        try
        {
            return Units.RamInBytes(value);
        }
        catch (FormatException e)
        {
            string display = p.FlagSet.Find(flag)?.Shorthand is char c ? $"-{c}, --{flag}" : $"--{flag}";
            throw new FlagParseException($"invalid argument \"{value}\" for \"{display}\" flag: {e.Message}");
        }
    }

    private static long SwapBytes(ParsedArgs p) => p.StringOrEmpty("memory-swap") == "-1" ? -1 : Bytes(p, "memory-swap");

    private static HealthConfig? ParseHealth(ParsedArgs p)
    {
        bool any = p.Changed("health-cmd") || p.Changed("health-interval") || p.Changed("health-timeout")
            || p.Changed("health-retries") || p.Changed("health-start-period") || p.Changed("health-start-interval");
        if (p.Bool("no-healthcheck"))
        {
            if (any)
            {
                throw new StatusException(125, "--no-healthcheck conflicts with --health-* options");
            }

            return new HealthConfig { Test = ["NONE"] };
        }

        if (!any)
        {
            return null;
        }

        string? cmd = p.String("health-cmd");
        return new HealthConfig
        {
            Test = string.IsNullOrEmpty(cmd) ? null : ["CMD-SHELL", cmd],
            Interval = Duration(p, "health-interval"),
            Timeout = Duration(p, "health-timeout"),
            Retries = (int)p.Int("health-retries"),
            StartPeriod = Duration(p, "health-start-period"),
            StartInterval = Duration(p, "health-start-interval"),
        };
    }

    private static long Duration(ParsedArgs p, string flag)
    {
        string? text = p.String(flag);
        if (string.IsNullOrEmpty(text))
        {
            return 0;
        }

        if (!Units.TryParseGoDuration(text, out TimeSpan d))
        {
            throw new FlagParseException($"invalid argument \"{text}\" for \"--{flag}\" flag: time: invalid duration \"{text}\"");
        }

        return d.Ticks * 100;
    }

    private static DeviceMapping ParseDevice(string value)
    {
        string[] parts = value.Split(':');
        string source = parts[0];
        string destination = source;
        string permissions = "rwm";
        if (parts.Length == 3)
        {
            destination = parts[1];
            permissions = parts[2];
        }
        else if (parts.Length == 2)
        {
            if (parts[1].Length > 0 && parts[1].All(c => c is 'r' or 'w' or 'm'))
            {
                permissions = parts[1];
            }
            else
            {
                destination = parts[1];
            }
        }
        else if (parts.Length > 3)
        {
            throw new FlagParseException($"invalid argument \"{value}\" for \"--device\" flag: invalid device specification: {value}");
        }

        return new DeviceMapping { PathOnHost = source, PathInContainer = destination, CgroupPermissions = permissions };
    }

    private static Ulimit ParseUlimit(string value)
    {
        (string name, string limits) = KeyValues.Split(value);
        string[] parts = limits.Split(':');
        if (name.Length == 0 || parts.Length > 2
            || !long.TryParse(parts[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long soft))
        {
            throw new FlagParseException($"invalid argument \"{value}\" for \"--ulimit\" flag: invalid ulimit argument: {value}");
        }

        long hard = soft;
        if (parts.Length == 2 && !long.TryParse(parts[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out hard))
        {
            throw new FlagParseException($"invalid argument \"{value}\" for \"--ulimit\" flag: invalid ulimit argument: {value}");
        }

        return new Ulimit { Name = name, Soft = soft, Hard = hard };
    }

    /// <summary>docker accepts <c>host=ip</c> as well as <c>host:ip</c> and sends <c>host:ip</c>.</summary>
    private static string NormalizeExtraHost(string value)
    {
        int eq = value.IndexOf('=', StringComparison.Ordinal);
        return eq > 0 ? value[..eq] + ":" + value[(eq + 1)..] : value;
    }

    private static List<string>? NullIfEmpty(IReadOnlyList<string> values) => values.Count > 0 ? [.. values] : null;

    private static string? NullIfEmptyString(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
