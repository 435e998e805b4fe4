using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Berth.Api.Client;
using Berth.Api.Types;
using Berth.Cli.Templates;
using Berth.Compose;
using Berth.Compose.Engine;
using Berth.Compose.Loading;

namespace Berth.Cli.Commands.Compose;

/// <summary>The compose commands that look: config, ps, ls, logs, top, images, port, events, version.</summary>
internal static class ComposeQueryCommands
{
    public static IEnumerable<(CommandSpec, Func<ComposeInvocation, Task<int>>)> All() =>
    [
        (new CommandSpec
        {
            Name = "config",
            Aliases = ["convert"],
            Usage = "[OPTIONS] [SERVICE...]",
            Summary = "Parse, resolve and render compose file in canonical format",
            DefineFlags = f => f
                .Bool("quiet", 'q', "Only validate the configuration, don't print anything")
                .Bool("services", null, "Print the service names, one per line")
                .Bool("volumes", null, "Print the volume names, one per line")
                .Bool("networks", null, "Print the network names, one per line")
                .Bool("profiles", null, "Print the profile names, one per line")
                .Bool("images", null, "Print the image names, one per line")
                .String("format", null, "Format the output. Values: [yaml | json]", "yaml")
                .String("output", 'o', "Save to file (default to stdout)"),
        }, ConfigAsync),
        (new CommandSpec
        {
            Name = "ps",
            Usage = "[OPTIONS] [SERVICE...]",
            Summary = "List containers",
            DefineFlags = f => f
                .Bool("all", 'a', "Show all stopped containers (including those created by the run command)")
                .Bool("quiet", 'q', "Only display IDs")
                .Bool("services", null, "Display services")
                .String("format", null, "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template", "table")
                .List("status", null, "Filter services by status. Values: [paused | restarting | removing | running | dead | created | exited]", "stringArray")
                .List("filter", null, "Filter services by a property (supported filters: status)", "string")
                .Bool("no-trunc", null, "Don't truncate output")
                .Bool("orphans", null, "Include orphaned services (not declared by project)", defaultValue: true),
        }, PsAsync),
        (new CommandSpec
        {
            Name = "ls",
            Usage = "[OPTIONS]",
            Summary = "List running compose projects",
            MaxArgs = 0,
            DefineFlags = f => f
                .Bool("all", 'a', "Show all stopped Compose projects")
                .Bool("quiet", 'q', "Only display project names")
                .String("format", null, "Format the output. Values: [table | json]", "table")
                .List("filter", null, "Filter output based on conditions provided", "filter"),
        }, LsAsync),
        (new CommandSpec
        {
            Name = "logs",
            Usage = "[OPTIONS] [SERVICE...]",
            Summary = "View output from containers",
            DefineFlags = f => f
                .Bool("follow", 'f', "Follow log output")
                .Bool("timestamps", 't', "Show timestamps")
                .String("tail", 'n', "Number of lines to show from the end of the logs for each container", "all")
                .Bool("no-log-prefix", null, "Don't print prefix in logs")
                .Bool("no-color", null, "Produce monochrome output")
                .String("since", null, "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")
                .String("until", null, "Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")
                .Int("index", null, "index of the container if service has multiple replicas"),
        }, LogsAsync),
        (new CommandSpec { Name = "top", Usage = "[SERVICES...]", Summary = "Display the running processes" }, TopAsync),
        (new CommandSpec
        {
            Name = "images",
            Usage = "[OPTIONS] [SERVICE...]",
            Summary = "List images used by the created containers",
            DefineFlags = f => f
                .Bool("quiet", 'q', "Only display IDs")
                .String("format", null, "Format the output. Values: [table | json]", "table"),
        }, ImagesAsync),
        (new CommandSpec
        {
            Name = "port",
            Usage = "[OPTIONS] SERVICE PRIVATE_PORT",
            Summary = "Print the public port for a port binding",
            MinArgs = 2,
            MaxArgs = 2,
            DefineFlags = f => f
                .Int("index", null, "Index of the container if service has multiple replicas", 1)
                .String("protocol", null, "tcp or udp", "tcp"),
        }, PortAsync),
        (new CommandSpec
        {
            Name = "events",
            Usage = "[OPTIONS] [SERVICE...]",
            Summary = "Receive real time events from containers",
            DefineFlags = f => f.Bool("json", null, "Output events as a stream of json objects"),
        }, EventsAsync),
        (new CommandSpec
        {
            Name = "version",
            Usage = "[OPTIONS]",
            Summary = "Show the Docker Compose version information",
            MaxArgs = 0,
            DefineFlags = f => f
                .String("format", 'f', "Format the output. Values: [pretty | json]")
                .Bool("short", null, "Shows only Compose's version number"),
        }, VersionAsync),
    ];

    private static async Task<int> ConfigAsync(ComposeInvocation i)
    {
        ComposeProject project = i.Project(i.Positionals);
        var a = i.Args;
        IReadOnlyList<string> only = i.Services(project);
        string text;
        if (a.Bool("quiet"))
        {
            return 0;
        }

        if (a.Bool("services"))
        {
            text = string.Concat(project.Services.Select(s => s.Name + "\n"));
        }
        else if (a.Bool("volumes"))
        {
            text = string.Concat(project.Volumes.Keys.Select(v => v + "\n"));
        }
        else if (a.Bool("networks"))
        {
            text = string.Concat(project.Networks.Keys.Select(v => v + "\n"));
        }
        else if (a.Bool("images"))
        {
            text = string.Concat(project.Services.Select(s => s.ImageName(project.Name) + "\n"));
        }
        else if (a.Bool("profiles"))
        {
            var profiles = new SortedSet<string>(StringComparer.Ordinal);
            if (project.Root["services"] is MapNode all)
            {
                foreach (MapNode s in all.Entries.Select(e => e.Value).OfType<MapNode>())
                {
                    if (s["profiles"] is SeqNode list)
                    {
                        profiles.UnionWith(list.Items.Select(n => n.AsText()).OfType<string>());
                    }
                }
            }

            text = string.Concat(profiles.Select(p => p + "\n"));
        }
        else
        {
            if (only.Count > 0 && project.Root["services"] is MapNode services)
            {
                foreach (string name in services.Keys.ToList().Where(n => !only.Contains(n)))
                {
                    services.Remove(name);
                }
            }

            text = YamlWriter.WriteProject(project);
            if (a.String("format") == "json")
            {
                text = ToJson(project.Root)!.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n";
            }
        }

        if (a.String("output") is { Length: > 0 } output)
        {
            await File.WriteAllTextAsync(output, text, i.Context.Cancellation).ConfigureAwait(false);
        }
        else
        {
            await i.Context.Out.WriteAsync(text).ConfigureAwait(false);
        }

        return 0;
    }

    private static JsonNode? ToJson(ComposeNode node) => node switch
    {
        MapNode map => new JsonObject(map.Entries.Select(e => KeyValuePair.Create(e.Key, ToJson(e.Value)))),
        SeqNode seq => new JsonArray([.. seq.Items.Select(ToJson)]),
        ScalarNode { IsNull: true } => null,
        ScalarNode { Kind: ScalarKind.Integer } s => JsonValue.Create(long.Parse(s.Value!, CultureInfo.InvariantCulture)),
        ScalarNode { Kind: ScalarKind.Bool } s => JsonValue.Create(s.Value!.Equals("true", StringComparison.OrdinalIgnoreCase)),
        ScalarNode s => JsonValue.Create(s.Value),
        _ => null,
    };

    private static async Task<int> PsAsync(ComposeInvocation i)
    {
        var a = i.Args;
        (string name, ComposeProject? project) = i.ProjectOrName();
        IReadOnlyList<string> services = i.Services(project);
        List<ContainerSummary> containers = await i.Engine.ContainersAsync(name, a.Bool("all"), includeOneOff: a.Bool("all"), services, i.Context.Cancellation).ConfigureAwait(false);
        var statuses = a.List("status").Concat(a.List("filter").Where(f => f.StartsWith("status=", StringComparison.Ordinal)).Select(f => f[7..])).ToHashSet(StringComparer.Ordinal);
        if (statuses.Count > 0)
        {
            containers = [.. containers.Where(c => statuses.Contains(c.State))];
        }

        var sb = new StringBuilder();
        if (a.Bool("services"))
        {
            foreach (string service in containers.Select(ComposeEngine.ServiceOf).Distinct())
            {
                sb.Append(service).Append('\n');
            }
        }
        else if (a.Bool("quiet"))
        {
            foreach (ContainerSummary c in containers)
            {
                sb.Append(c.Id).Append('\n');
            }
        }
        else
        {
            string format = ListFormat.Resolve(a.String("format"), ComposeContainerRow.DefaultTable);
            sb.Append(ListFormat.Render(format, containers.Select(c => (object?)new ComposeContainerRow(c, !a.Bool("no-trunc"), i.Context.Now, i.Context.Zone)), ComposeContainerRow.Header));
        }

        await i.Context.Out.WriteAsync(sb.ToString()).ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> LsAsync(ComposeInvocation i)
    {
        var a = i.Args;
        var filters = new ApiFilters().Add("label", ComposeLabels.Project);
        IReadOnlyList<ContainerSummary> all = await i.Context.Client.ListContainersAsync(new ContainerListOptions { All = true, Filters = filters }, i.Context.Cancellation).ConfigureAwait(false);
        var nameFilters = a.List("filter").Where(f => f.StartsWith("name=", StringComparison.Ordinal)).Select(f => f[5..]).ToList();
        var projects = all
            .GroupBy(c => c.Labels[ComposeLabels.Project], StringComparer.Ordinal)
            .Select(g => (Name: g.Key, Status: ProjectStatus(g), Files: g.First().Labels.GetValueOrDefault(ComposeLabels.ConfigFiles, ""), Running: g.Any(c => c.State == "running")))
            .Where(p => a.Bool("all") || p.Running)
            .Where(p => nameFilters.Count == 0 || nameFilters.Any(n => p.Name.Contains(n, StringComparison.Ordinal)))
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .ToList();
        var sb = new StringBuilder();
        if (a.Bool("quiet"))
        {
            foreach (var p in projects)
            {
                sb.Append(p.Name).Append('\n');
            }
        }
        else if (a.String("format") == "json")
        {
            var array = new JsonArray([.. projects.Select(p => (JsonNode)new JsonObject { ["Name"] = p.Name, ["Status"] = p.Status, ["ConfigFiles"] = p.Files })]);
            sb.Append(array.ToJsonString()).Append('\n');
        }
        else
        {
            TabWriter writer = TabWriter.ForTables();
            writer.Write("NAME\tSTATUS\tCONFIG FILES\n");
            foreach (var p in projects)
            {
                writer.Write($"{p.Name}\t{p.Status}\t{p.Files}\n");
            }

            sb.Append(writer.Flush());
        }

        await i.Context.Out.WriteAsync(sb.ToString()).ConfigureAwait(false);
        return 0;
    }

    /// <summary>docker compose ls's status column: <c>running(2), exited(1)</c>, states sorted by name.</summary>
    private static string ProjectStatus(IEnumerable<ContainerSummary> containers) =>
        string.Join(", ", containers.GroupBy(c => c.State, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}({g.Count()})"));

    private static async Task<int> LogsAsync(ComposeInvocation i)
    {
        var a = i.Args;
        CommandContext ctx = i.Context;
        (string name, ComposeProject? project) = i.ProjectOrName();
        IReadOnlyList<string> services = i.Services(project);
        List<ContainerSummary> containers = await i.Engine.ContainersAsync(name, all: true, includeOneOff: false, services, ctx.Cancellation).ConfigureAwait(false);
        if (a.Changed("index"))
        {
            containers = [.. containers.Where(c => ComposeEngine.NumberOf(c) == a.Int("index"))];
        }

        bool noColor = a.Bool("no-color") || !ctx.StdoutIsTerminal || ctx.Environment("NO_COLOR") is { Length: > 0 };
        var printer = new ComposeLogPrinter(ctx, !a.Bool("no-log-prefix"), !noColor);
        foreach (ContainerSummary c in containers)
        {
            printer.Register(ComposeLogPrinter.ShortName(c, name));
        }

        var options = new LogsOptions
        {
            Follow = a.Bool("follow"),
            Timestamps = a.Bool("timestamps"),
            Tail = a.String("tail") ?? "all",
            Since = ContainerCommands.Timestamp(a.String("since"), ctx.Now),
            Until = ContainerCommands.Timestamp(a.String("until"), ctx.Now),
        };
        try
        {
            await Task.WhenAll(containers.Select(c => printer.StreamAsync(ComposeLogPrinter.ShortName(c, name), c.Id, options, ctx.Cancellation))).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ctx.Cancellation.IsCancellationRequested)
        {
        }

        return 0;
    }

    private static async Task<int> TopAsync(ComposeInvocation i)
    {
        (string name, ComposeProject? project) = i.ProjectOrName();
        List<ContainerSummary> containers = await i.Engine.ContainersAsync(name, all: false, includeOneOff: false, i.Services(project), i.Context.Cancellation).ConfigureAwait(false);
        var sb = new StringBuilder();
        foreach (ContainerSummary c in containers)
        {
            ContainerTopResponse top = await i.Context.Client.TopContainerAsync(c.Id, null, i.Context.Cancellation).ConfigureAwait(false);
            sb.Append(ComposeEngine.NameOf(c)).Append('\n');
            TabWriter writer = TabWriter.ForTables();
            writer.Write(string.Join('\t', top.Titles) + "\n");
            foreach (IReadOnlyList<string> process in top.Processes)
            {
                writer.Write(string.Join('\t', process) + "\n");
            }

            sb.Append(writer.Flush()).Append('\n');
        }

        await i.Context.Out.WriteAsync(sb.ToString()).ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> ImagesAsync(ComposeInvocation i)
    {
        (string name, ComposeProject? project) = i.ProjectOrName();
        List<ContainerSummary> containers = await i.Engine.ContainersAsync(name, all: true, includeOneOff: false, i.Services(project), i.Context.Cancellation).ConfigureAwait(false);
        IReadOnlyList<ImageSummary> images = await i.Context.Client.ListImagesAsync(new ImageListOptions(), i.Context.Cancellation).ConfigureAwait(false);
        var byId = images.ToDictionary(im => im.Id, StringComparer.Ordinal);
        var sb = new StringBuilder();
        if (i.Args.Bool("quiet"))
        {
            foreach (string id in containers.Select(c => c.ImageID).Distinct(StringComparer.Ordinal))
            {
                sb.Append(id).Append('\n');
            }
        }
        else
        {
            TabWriter writer = TabWriter.ForTables();
            writer.Write("CONTAINER\tREPOSITORY\tTAG\tIMAGE ID\tSIZE\n");
            foreach (ContainerSummary c in containers)
            {
                (string repository, string? tag) = ComposeEngine.SplitReference(c.Image);
                long size = byId.TryGetValue(c.ImageID, out ImageSummary? image) ? image.Size : 0;
                writer.Write($"{ComposeEngine.NameOf(c)}\t{repository}\t{tag}\t{GoStrings.TruncateId(c.ImageID)}\t{Units.HumanSize(size)}\n");
            }

            sb.Append(writer.Flush());
        }

        await i.Context.Out.WriteAsync(sb.ToString()).ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> PortAsync(ComposeInvocation i)
    {
        (string name, _) = i.ProjectOrName();
        string service = i.Positionals[0];
        string protocol = i.Args.String("protocol") ?? "tcp";
        if (!int.TryParse(i.Positionals[1], CultureInfo.InvariantCulture, out int port))
        {
            throw new StatusException(1, $"invalid port: {i.Positionals[1]}");
        }

        List<ContainerSummary> containers = await i.Engine.ContainersAsync(name, all: false, includeOneOff: false, [service], i.Context.Cancellation).ConfigureAwait(false);
        ContainerSummary container = containers.FirstOrDefault(c => ComposeEngine.NumberOf(c) == i.Args.Int("index"))
            ?? throw new StatusException(1, $"service \"{service}\" is not running");
        PortSummary? published = container.Ports.FirstOrDefault(p => p.PrivatePort == port && p.Type == protocol && p.PublicPort is not null);
        if (published is null)
        {
            throw new StatusException(1, $"no port {port}/{protocol} for container {ComposeEngine.NameOf(container)}");
        }

        string ip = string.IsNullOrEmpty(published.IP) ? "0.0.0.0" : published.IP;
        await i.Context.Out.WriteLineAsync($"{ip}:{published.PublicPort}").ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> EventsAsync(ComposeInvocation i)
    {
        CommandContext ctx = i.Context;
        (string name, ComposeProject? project) = i.ProjectOrName();
        IReadOnlyList<string> services = i.Services(project);
        var filters = new ApiFilters().Add("label", $"{ComposeLabels.Project}={name}").Add("type", "container");
        try
        {
            await foreach (EventLine line in ctx.Client.StreamEventsAsync(null, null, filters, ctx.Cancellation).ConfigureAwait(false))
            {
                EventMessage m = line.Message;
                string service = m.Actor.Attributes.GetValueOrDefault(ComposeLabels.Service, "");
                if (services.Count > 0 && !services.Contains(service))
                {
                    continue;
                }

                long nanos = m.TimeNano != 0 ? m.TimeNano : m.Time * 1_000_000_000;
                DateTimeOffset time = DateTimeOffset.FromUnixTimeMilliseconds(nanos / 1_000_000);
                var attributes = m.Actor.Attributes.Where(kv => !kv.Key.StartsWith("com.docker.compose.", StringComparison.Ordinal)).OrderBy(kv => kv.Key, StringComparer.Ordinal);
                string text = i.Args.Bool("json")
                    ? new JsonObject
                    {
                        ["time"] = time.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
                        ["type"] = "container",
                        ["action"] = m.Action,
                        ["id"] = m.Actor.ID,
                        ["service"] = service,
                        ["attributes"] = new JsonObject(attributes.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
                    }.ToJsonString()
                    : $"{time.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture)} container {m.Action} {m.Actor.ID} ({string.Join(", ", attributes.Select(kv => kv.Key + "=" + kv.Value))})";
                await ctx.Out.WriteAsync(text + "\n").ConfigureAwait(false);
                await ctx.Out.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ctx.Cancellation.IsCancellationRequested)
        {
        }

        return 0;
    }

    private static async Task<int> VersionAsync(ComposeInvocation i)
    {
        string text = i.Args.Bool("short") ? ComposeLabels.ComposeVersion
            : i.Args.String("format") == "json" ? $"{{\"version\":\"v{ComposeLabels.ComposeVersion}\"}}"
            : $"Berth Compose version v{ComposeLabels.ComposeVersion} (berth {BuildInfo.Version})";
        await i.Context.Out.WriteLineAsync(text).ConfigureAwait(false);
        return 0;
    }
}

/// <summary>One row of <c>compose ps</c>: docker's container fields plus Name, Service, Project and the compose table layout.</summary>
internal sealed class ComposeContainerRow(ContainerSummary summary, bool truncate, DateTimeOffset now, TimeZoneInfo zone) : FieldRow
{
    private readonly ContainerRow _row = new(summary, truncate, now, zone);

    public const string DefaultTable = "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}";

    public static readonly HeaderRow Header = new(new Dictionary<string, string>
    {
        ["ID"] = "CONTAINER ID",
        ["Name"] = "NAME",
        ["Names"] = "NAMES",
        ["Image"] = "IMAGE",
        ["Command"] = "COMMAND",
        ["Service"] = "SERVICE",
        ["Project"] = "PROJECT",
        ["RunningFor"] = "CREATED",
        ["CreatedAt"] = "CREATED AT",
        ["State"] = "STATE",
        ["Status"] = "STATUS",
        ["Health"] = "HEALTH",
        ["ExitCode"] = "EXIT CODE",
        ["Ports"] = "PORTS",
        ["Publishers"] = "PUBLISHERS",
    });

    private static readonly string[] Fields = ["Command", "CreatedAt", "ExitCode", "Health", "ID", "Image", "Labels", "LocalVolumes", "Mounts", "Name", "Names", "Networks", "Ports", "Project", "RunningFor", "Service", "Size", "State", "Status"];

    public override string TypeName => "api.ContainerSummary";

    protected override IEnumerable<string> JsonFields => Fields;

    public override bool TryGetField(string name, IReadOnlyList<object?> args, out object? value)
    {
        switch (name)
        {
            case "Name":
                value = ComposeEngine.NameOf(summary);
                return true;
            case "Service":
                value = ComposeEngine.ServiceOf(summary);
                return true;
            case "Project":
                value = summary.Labels.GetValueOrDefault(ComposeLabels.Project, "");
                return true;
            case "Health":
                value = summary.Status.Contains("(healthy)", StringComparison.Ordinal) ? "healthy"
                    : summary.Status.Contains("(unhealthy)", StringComparison.Ordinal) ? "unhealthy"
                    : summary.Status.Contains("(health: starting)", StringComparison.Ordinal) ? "starting" : "";
                return true;
            case "ExitCode":
                int open = summary.Status.IndexOf("Exited (", StringComparison.Ordinal);
                value = open >= 0 && int.TryParse(summary.Status[(open + 8)..summary.Status.IndexOf(')', open)], CultureInfo.InvariantCulture, out int code) ? code : 0;
                return true;
            case "Command":
                value = truncate ? GoStrings.Quote(GoStrings.Ellipsis(summary.Command, 20)) : GoStrings.Quote(summary.Command);
                return true;
            default:
                return _row.TryGetField(name, args, out value);
        }
    }
}
