using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Berth.Api.Client;
using Berth.Api.Types;
using Berth.Cli.Options;
using Berth.Cli.Parsing;
using Berth.Cli.Templates;

namespace Berth.Cli.Commands;

/// <summary><c>events</c>, <c>update</c>, <c>container prune</c>, <c>system df</c> and <c>system prune</c>.</summary>
internal static class LifecycleCommands
{
    public static CommandSpec Events(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS]",
        Summary = "Get real time events from the server",
        MaxArgs = 0,
        DefineFlags = f => f
            .List("filter", 'f', "Filter output based on conditions provided", typeName: "filter")
            .String("format", null, SystemCommands.FormatUsage)
            .String("since", null, "Show all events created since timestamp")
            .String("until", null, "Stream events until this timestamp"),
        Handler = EventsAsync,
    };

    private static async Task<int> EventsAsync(CommandContext ctx, ParsedArgs p)
    {
        ApiFilters filters = FilterFlags.Parse(p);

        string? format = p.String("format");
        GoTemplate? template = string.IsNullOrEmpty(format) || format == ListFormat.JsonKey || format == "{{json .}}"
            ? null
            : ListFormat.ParseForCli(ListFormat.Prepare(format));
        try
        {
            await foreach (EventLine line in ctx.Client.StreamEventsAsync(
                ContainerCommands.Timestamp(p.String("since"), ctx.Now), ContainerCommands.Timestamp(p.String("until"), ctx.Now), filters, ctx.Cancellation).ConfigureAwait(false))
            {
                string text = template is not null ? template.Execute(EventNode(line.Message))
                    : string.IsNullOrEmpty(format) ? EventText(line.Message, ctx.Zone)
                    : JsonNode.Parse(line.Json)!.ToJsonString();
                await ctx.Out.WriteAsync(text + "\n").ConfigureAwait(false);
                await ctx.Out.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ctx.Cancellation.IsCancellationRequested)
        {
        }

        return 0;
    }

    /// <summary>docker's event line: <c>TIME TYPE ACTION ID (k=v, ...)</c>, the time with nanoseconds, attributes sorted.</summary>
    internal static string EventText(EventMessage message, TimeZoneInfo zone)
    {
        var sb = new StringBuilder();
        long nanos = message.TimeNano != 0 ? message.TimeNano : message.Time * 1_000_000_000;
        if (nanos != 0)
        {
            sb.Append(Rfc3339NanoFixed(nanos, zone)).Append(' ');
        }

        sb.Append(message.Type).Append(' ').Append(message.Action).Append(' ').Append(message.Actor.ID);
        if (message.Actor.Attributes.Count > 0)
        {
            sb.Append(" (")
                .AppendJoin(", ", message.Actor.Attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => a.Key + "=" + a.Value))
                .Append(')');
        }

        return sb.ToString();
    }

    /// <summary>Go's <c>2006-01-02T15:04:05.000000000Z07:00</c>.</summary>
    internal static string Rfc3339NanoFixed(long unixNanos, TimeZoneInfo zone)
    {
        long seconds = Math.DivRem(unixNanos, 1_000_000_000, out long fraction);
        DateTimeOffset local = TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeSeconds(seconds), zone);
        string offset = local.Offset == TimeSpan.Zero
            ? "Z"
            : (local.Offset < TimeSpan.Zero ? "-" : "+") + local.Offset.Duration().ToString(@"hh\:mm", CultureInfo.InvariantCulture);
        return local.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + "." + fraction.ToString("000000000", CultureInfo.InvariantCulture) + offset;
    }

    /// <summary>The event as a template sees docker's events.Message: Go field names.</summary>
    private static JsonObject EventNode(EventMessage m)
    {
        var attributes = new JsonObject();
        foreach ((string key, string value) in m.Actor.Attributes.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            attributes[key] = value;
        }

        return new JsonObject
        {
            ["Status"] = m.Status ?? "",
            ["ID"] = m.Id ?? "",
            ["From"] = m.From ?? "",
            ["Type"] = m.Type,
            ["Action"] = m.Action,
            ["Actor"] = new JsonObject { ["ID"] = m.Actor.ID, ["Attributes"] = attributes },
            ["Scope"] = m.Scope,
            ["Time"] = m.Time,
            ["TimeNano"] = m.TimeNano,
        };
    }

    public static CommandSpec Update(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS] CONTAINER [CONTAINER...]",
        Summary = "Update configuration of one or more containers",
        MinArgs = 1,
        DefineFlags = f => f
            .String("restart", null, "Restart policy to apply when a container exits")
            .String("memory", 'm', "Memory limit", typeName: "bytes")
            .Int("cpu-shares", 'c', "CPU shares (relative weight)")
            .String("cpus", null, "Number of CPUs", typeName: "decimal")
            .Int("pids-limit", null, "Tune container pids limit (set -1 for unlimited)"),
        Handler = UpdateAsync,
    };

    private static async Task<int> UpdateAsync(CommandContext ctx, ParsedArgs p)
    {
        var request = new ContainerUpdateRequest
        {
            RestartPolicy = ContainerOptions.ParseRestart(p.String("restart")),
            Memory = p.Changed("memory") ? Units.RamInBytes(p.StringOrEmpty("memory")) : null,
            CpuShares = p.Changed("cpu-shares") ? p.Int("cpu-shares") : null,
            NanoCpus = p.Changed("cpus") ? ContainerOptions.NanoCpus(p.StringOrEmpty("cpus")) : null,
            PidsLimit = p.Changed("pids-limit") ? p.Int("pids-limit") : null,
        };
        var errors = new List<string>();
        foreach (string container in p.Positionals)
        {
            try
            {
                ContainerUpdateResponse response = await ctx.Client.UpdateContainerAsync(container, request, ctx.Cancellation).ConfigureAwait(false);
                foreach (string warning in response.Warnings)
                {
                    await ctx.Err.WriteLineAsync("WARNING: " + warning).ConfigureAwait(false);
                }

                await ctx.Out.WriteLineAsync(container).ConfigureAwait(false);
            }
            catch (BerthApiException e)
            {
                errors.Add(e.Message);
            }
        }

        if (errors.Count > 0)
        {
            throw new StatusException(1, string.Join("\n", errors));
        }

        return 0;
    }

    public static CommandSpec ContainerPrune() => new()
    {
        Name = "prune",
        Usage = "[OPTIONS]",
        Summary = "Remove all stopped containers",
        MaxArgs = 0,
        DefineFlags = f => f
            .List("filter", null, "Provide filter values (e.g. \"until=<timestamp>\")", typeName: "filter")
            .Bool("force", 'f', "Do not prompt for confirmation"),
        Handler = ContainerPruneAsync,
    };

    private static async Task<int> ContainerPruneAsync(CommandContext ctx, ParsedArgs p)
    {
        if (!p.Bool("force") && !await Prompt.ConfirmAsync(ctx, "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ").ConfigureAwait(false))
        {
            return 0;
        }

        ContainerPruneResponse report = await ctx.Client.PruneContainersAsync(Filters(p), ctx.Cancellation).ConfigureAwait(false);
        var sb = new StringBuilder();
        AppendDeletedContainers(sb, report);
        sb.Append("Total reclaimed space: ").Append(Units.HumanSize(report.SpaceReclaimed)).Append('\n');
        await ctx.Out.WriteAsync(sb.ToString()).ConfigureAwait(false);
        return 0;
    }

    public static CommandSpec SystemPrune() => new()
    {
        Name = "prune",
        Usage = "[OPTIONS]",
        Summary = "Remove unused data",
        MaxArgs = 0,
        DefineFlags = f => f
            .Bool("all", 'a', "Remove all unused images not just dangling ones")
            .List("filter", null, "Provide filter values (e.g. \"label=<key>=<value>\")", typeName: "filter")
            .Bool("force", 'f', "Do not prompt for confirmation")
            .Bool("volumes", null, "Prune anonymous volumes"),
        Handler = SystemPruneAsync,
    };

    private static async Task<int> SystemPruneAsync(CommandContext ctx, ParsedArgs p)
    {
        bool all = p.Bool("all");
        if (!p.Bool("force"))
        {
            var warning = new StringBuilder("WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n");
            if (p.Bool("volumes"))
            {
                warning.Append("  - all anonymous volumes not used by at least one container\n");
            }

            warning.Append(all ? "  - all images without at least one container associated to them\n" : "  - all dangling images\n");
            warning.Append("  - unused build cache\n\nAre you sure you want to continue? [y/N] ");
            if (!await Prompt.ConfirmAsync(ctx, warning.ToString()).ConfigureAwait(false))
            {
                return 0;
            }
        }

        ApiFilters filters = Filters(p);
        var sb = new StringBuilder();
        ContainerPruneResponse containers = await ctx.Client.PruneContainersAsync(filters, ctx.Cancellation).ConfigureAwait(false);
        AppendDeletedContainers(sb, containers);
        long reclaimed = containers.SpaceReclaimed;
        NetworkPruneResponse networks = await ctx.Client.PruneNetworksAsync(Filters(p), ctx.Cancellation).ConfigureAwait(false);
        if (networks.NetworksDeleted is { Count: > 0 } deletedNetworks)
        {
            sb.Append("Deleted Networks:\n");
            foreach (string network in deletedNetworks)
            {
                sb.Append(network).Append('\n');
            }

            sb.Append('\n');
        }

        if (p.Bool("volumes"))
        {
            // As docker: anonymous volumes no container uses (named ones stay, even with -a).
            VolumePruneResponse volumes = await ctx.Client.PruneVolumesAsync(Filters(p), ctx.Cancellation).ConfigureAwait(false);
            reclaimed += volumes.SpaceReclaimed;
            if (volumes.VolumesDeleted is { Count: > 0 } names)
            {
                sb.Append("Deleted Volumes:\n");
                foreach (string name in names)
                {
                    sb.Append(name).Append('\n');
                }

                sb.Append('\n');
            }
        }

        var imageFilters = Filters(p);
        imageFilters.Add("dangling", all ? "false" : "true");
        ImagePruneResponse images = await ctx.Client.PruneImagesAsync(imageFilters, ctx.Cancellation).ConfigureAwait(false);
        if (images.ImagesDeleted is { Count: > 0 } items)
        {
            reclaimed += images.SpaceReclaimed;
            sb.Append("Deleted Images:\n");
            foreach (ImageDeleteResponseItem item in items)
            {
                sb.Append(!string.IsNullOrEmpty(item.Untagged) ? "untagged: " + item.Untagged : "deleted: " + item.Deleted).Append('\n');
            }

            sb.Append('\n');
        }

        sb.Append("Total reclaimed space: ").Append(Units.HumanSize(reclaimed)).Append('\n');
        await ctx.Out.WriteAsync(sb.ToString()).ConfigureAwait(false);
        return 0;
    }

    private static ApiFilters Filters(ParsedArgs p)
    {
        ApiFilters filters = FilterFlags.Parse(p);

        return filters;
    }

    private static void AppendDeletedContainers(StringBuilder sb, ContainerPruneResponse report)
    {
        if (report.ContainersDeleted is { Count: > 0 } ids)
        {
            sb.Append("Deleted Containers:\n");
            foreach (string id in ids)
            {
                sb.Append(id).Append('\n');
            }

            sb.Append('\n');
        }
    }

    public static CommandSpec SystemDf() => new()
    {
        Name = "df",
        Usage = "[OPTIONS]",
        Summary = "Show docker disk usage",
        MaxArgs = 0,
        DefineFlags = f => f
            .String("format", null, SystemCommands.FormatUsage)
            .Bool("verbose", 'v', "Show detailed information on space usage"),
        Handler = SystemDfAsync,
    };

    private static async Task<int> SystemDfAsync(CommandContext ctx, ParsedArgs p)
    {
        SystemDataUsage usage = await ctx.Client.GetDiskUsageAsync(ctx.Cancellation).ConfigureAwait(false);
        string? format = p.String("format");
        if (p.Bool("verbose") && string.IsNullOrEmpty(format))
        {
            await ctx.Out.WriteAsync(DiskUsageVerbose(usage, ctx.Now)).ConfigureAwait(false);
            return 0;
        }

        DiskUsageRow[] rows = DiskUsageRow.Summaries(usage);
        await ctx.Out.WriteAsync(ListFormat.Render(ListFormat.Resolve(format, DiskUsageRow.DefaultTable), rows, DiskUsageRow.Header)).ConfigureAwait(false);
        return 0;
    }

    private static string DiskUsageVerbose(SystemDataUsage usage, DateTimeOffset now)
    {
        var sb = new StringBuilder("Images space usage:\n\n");
        TabWriter images = TabWriter.ForTables();
        images.Write("REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS\n");
        foreach (ImageSummary image in usage.Images)
        {
            string created = Units.HumanDuration(now - DateTimeOffset.FromUnixTimeSeconds(image.Created)) + " ago";
            IEnumerable<string> tags = image.RepoTags.Count > 0 ? image.RepoTags : ["<none>:<none>"];
            foreach (string tag in tags)
            {
                int colon = tag.LastIndexOf(':');
                images.Write($"{tag[..colon]}\t{tag[(colon + 1)..]}\t{GoStrings.TruncateId(image.Id)}\t{created}\t{Units.HumanSize(image.Size)}\t"
                    + $"{Units.HumanSize(image.SharedSize)}\t{Units.HumanSize(image.Size - image.SharedSize)}\t{image.Containers}\n");
            }
        }

        sb.Append(images.Flush()).Append("\nContainers space usage:\n\n");
        TabWriter containers = TabWriter.ForTables();
        containers.Write("CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES\n");
        foreach (DiskUsageContainer c in usage.Containers)
        {
            string created = Units.HumanDuration(now - DateTimeOffset.FromUnixTimeSeconds(c.Created)) + " ago";
            containers.Write($"{c.Id[..Math.Min(12, c.Id.Length)]}\t{c.Image}\t{GoStrings.Quote(GoStrings.Ellipsis(c.Command, 20))}\t{c.Mounts.Count}\t"
                + $"{Units.HumanSize(c.SizeRw)}\t{created}\t{c.Status}\t{string.Join(',', c.Names.Select(n => n.TrimStart('/')))}\n");
        }

        sb.Append(containers.Flush()).Append("\nLocal Volumes space usage:\n\n");
        TabWriter volumes = TabWriter.ForTables();
        volumes.Write("VOLUME NAME\tLINKS\tSIZE\n");
        foreach (Volume v in usage.Volumes)
        {
            volumes.Write($"{v.Name}\t{v.UsageData?.RefCount ?? 0}\t{Units.HumanSize(v.UsageData?.Size ?? 0)}\n");
        }

        sb.Append(volumes.Flush()).Append("\nBuild cache usage: 0B\n\n");
        TabWriter cache = TabWriter.ForTables();
        cache.Write("CACHE ID\tCACHE TYPE\tSIZE\tCREATED\tLAST USED\tUSAGE\tSHARED\n");
        sb.Append(cache.Flush());
        return sb.ToString();
    }
}

/// <summary>One line of <c>system df</c>: docker's diskUsage*Context.</summary>
internal sealed class DiskUsageRow(string type, int total, int active, long size, long reclaimable) : FieldRow
{
    public const string DefaultTable = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";

    public static readonly HeaderRow Header = new(new Dictionary<string, string>
    {
        ["Type"] = "TYPE",
        ["TotalCount"] = "TOTAL",
        ["Active"] = "ACTIVE",
        ["Size"] = "SIZE",
        ["Reclaimable"] = "RECLAIMABLE",
    });

    private static readonly string[] Fields = ["Active", "Reclaimable", "Size", "TotalCount", "Type"];

    public override string TypeName => "*formatter.diskUsageContext";

    protected override IEnumerable<string> JsonFields => Fields;

    /// <summary>The four lines, computed as the docker CLI computes them from the same answer.</summary>
    public static DiskUsageRow[] Summaries(SystemDataUsage usage)
    {
        long usedByImages = usage.Images.Where(i => i.Containers > 0 && i.Size != -1 && i.SharedSize != -1).Sum(i => i.Size - i.SharedSize);
        bool Active(DiskUsageContainer c) => c.State.Contains("running", StringComparison.Ordinal) || c.State.Contains("paused", StringComparison.Ordinal) || c.State.Contains("restarting", StringComparison.Ordinal);
        long containersSize = usage.Containers.Sum(c => c.SizeRw);
        long volumesSize = usage.Volumes.Sum(v => v.UsageData is { Size: not -1 } u ? u.Size : 0);
        return
        [
            new("Images", usage.Images.Count, usage.Images.Count(i => i.Containers > 0), usage.LayersSize, usage.LayersSize - usedByImages),
            new("Containers", usage.Containers.Count, usage.Containers.Count(Active), containersSize, usage.Containers.Where(c => !Active(c)).Sum(c => c.SizeRw)),
            new("Local Volumes", usage.Volumes.Count, usage.Volumes.Count(v => v.UsageData is { RefCount: > 0 }), volumesSize,
                usage.Volumes.Where(v => v.UsageData is { RefCount: 0, Size: not -1 }).Sum(v => v.UsageData!.Size)),
            new("Build Cache", usage.BuildCache.Count, usage.BuildCache.Count(b => b.InUse), usage.BuildCache.Sum(b => b.Size), usage.BuildCache.Where(b => !b.InUse && !b.Shared).Sum(b => b.Size)),
        ];
    }

    public override bool TryGetField(string name, IReadOnlyList<object?> args, out object? value)
    {
        value = name switch
        {
            "Type" => type,
            "TotalCount" => total.ToString(CultureInfo.InvariantCulture),
            "Active" => active.ToString(CultureInfo.InvariantCulture),
            "Size" => Units.HumanSize(size),
            "Reclaimable" => size > 0 && type != "Build Cache" ? $"{Units.HumanSize(reclaimable)} ({reclaimable * 100 / size}%)" : Units.HumanSize(reclaimable),
            _ => null,
        };

        return value is not null;
    }
}
