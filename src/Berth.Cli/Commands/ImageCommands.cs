using Berth.Api.Client;
using Berth.Api.Types;
using Berth.Cli.Options;
using Berth.Cli.Parsing;

namespace Berth.Cli.Commands;

/// <summary><c>images</c>, <c>rmi</c>, <c>image inspect</c> and Berth's <c>image bootstrap</c>.</summary>
internal static class ImageCommands
{
    public static CommandSpec List(string name, string[] aliases, string[] aliasPaths) => new()
    {
        Name = name,
        Aliases = aliases,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS] [REPOSITORY[:TAG]]",
        Summary = "List images",
        MaxArgs = 1,
        DefineFlags = f => f
            .Bool("all", 'a', "Show all images (default hides intermediate images)")
            .Bool("digests", null, "Show digests")
            .List("filter", 'f', "Filter output based on conditions provided", typeName: "filter")
            .String("format", null, ContainerCommands.ListFormatUsage)
            .Bool("no-trunc", null, "Don't truncate output")
            .Bool("quiet", 'q', "Only show image IDs")
            .Bool("tree", null, "List multi-platform images as a tree (EXPERIMENTAL)", hidden: true),
        Handler = ListAsync,
    };

    private static async Task<int> ListAsync(CommandContext ctx, ParsedArgs p)
    {
        ApiFilters filters = FilterFlags.Parse(p);

        if (p.Positionals.Count == 1)
        {
            filters.Add("reference", p.Positionals[0]);
        }

        bool digests = p.Bool("digests");
        string? format = p.String("format");
        bool quiet = p.Bool("quiet");
        if (quiet && !string.IsNullOrEmpty(format))
        {
            await ctx.Err.WriteLineAsync("WARNING: Ignoring custom format, because both --format and --quiet are set.").ConfigureAwait(false);
        }

        string resolved = quiet ? ImageRow.QuietFormat : ListFormat.Resolve(format, digests ? ImageRow.DefaultTableWithDigest : ImageRow.DefaultTable);
        IReadOnlyList<ImageSummary> images = await ctx.Client.ListImagesAsync(
            new ImageListOptions { All = p.Bool("all"), Filters = filters }, ctx.Cancellation).ConfigureAwait(false);

        bool truncate = !p.Bool("no-trunc");
        DateTimeOffset now = ctx.Now;
        IEnumerable<object?> rows = images.SelectMany(i => ImageRow.Expand(i, digests, truncate, now, ctx.Zone)).Select(r => (object?)r);
        await ctx.Out.WriteAsync(ListFormat.Render(resolved, rows, ImageRow.Header)).ConfigureAwait(false);
        return 0;
    }

    public static CommandSpec Remove(string name, string[] aliases, string[] aliasPaths) => new()
    {
        Name = name,
        Aliases = aliases,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS] IMAGE [IMAGE...]",
        Summary = "Remove one or more images",
        MinArgs = 1,
        DefineFlags = f => f
            .Bool("force", 'f', "Force removal of the image")
            .Bool("no-prune", null, "Do not delete untagged parents"),
        Handler = RemoveAsync,
    };

    private static async Task<int> RemoveAsync(CommandContext ctx, ParsedArgs p)
    {
        bool force = p.Bool("force");
        var errors = new List<string>();
        bool fatal = false;
        foreach (string image in p.Positionals)
        {
            try
            {
                IReadOnlyList<ImageDeleteResponseItem> deleted = await ctx.Client.RemoveImageAsync(image, force, p.Bool("no-prune"), ctx.Cancellation).ConfigureAwait(false);
                foreach (ImageDeleteResponseItem item in deleted)
                {
                    await ctx.Out.WriteLineAsync(!string.IsNullOrEmpty(item.Deleted) ? "Deleted: " + item.Deleted : "Untagged: " + item.Untagged).ConfigureAwait(false);
                }
            }
            catch (BerthApiException e)
            {
                fatal |= !e.IsNotFound;
                errors.Add(e.Message);
            }
        }

        if (errors.Count > 0)
        {
            await ctx.Out.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
            string message = string.Join("\n", errors);
            if (!force || fatal)
            {
                throw new StatusException(1, message);
            }

            await ctx.Err.WriteLineAsync(message).ConfigureAwait(false);
        }

        return 0;
    }

    public static CommandSpec Tag(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
        Summary = "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
        MinArgs = 2,
        MaxArgs = 2,
        Handler = TagAsync,
    };

    private static async Task<int> TagAsync(CommandContext ctx, ParsedArgs p)
    {
        (string repository, string? tag) = SplitTag(p.Positionals[1]);
        await ctx.Client.TagImageAsync(p.Positionals[0], repository, tag, ctx.Cancellation).ConfigureAwait(false);
        return 0;
    }

    /// <summary>Splits <c>repo[:tag]</c> at a colon after the last '/' (a registry port is not a tag); digests stay whole.</summary>
    public static (string Repository, string? Tag) SplitTag(string reference)
    {
        if (reference.Contains('@', StringComparison.Ordinal))
        {
            return (reference, null);
        }

        int slash = reference.LastIndexOf('/');
        int colon = reference.LastIndexOf(':');
        return colon > slash ? (reference[..colon], reference[(colon + 1)..]) : (reference, null);
    }

    public static CommandSpec History(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS] IMAGE",
        Summary = "Show the history of an image",
        MinArgs = 1,
        MaxArgs = 1,
        DefineFlags = f => f
            .String("format", null, ContainerCommands.ListFormatUsage)
            .Bool("human", 'H', "Print sizes and dates in human readable format", defaultValue: true)
            .Bool("no-trunc", null, "Don't truncate output")
            .String("platform", null, "Show history for the given platform. Formatted as \"os[/arch[/variant]]\" (e.g., \"linux/amd64\")")
            .Bool("quiet", 'q', "Only show image IDs"),
        Handler = HistoryAsync,
    };

    private static async Task<int> HistoryAsync(CommandContext ctx, ParsedArgs p)
    {
        IReadOnlyList<HistoryResponseItem> history = await ctx.Client.ImageHistoryAsync(p.Positionals[0], ctx.Cancellation).ConfigureAwait(false);
        string? format = p.String("format");
        string resolved = p.Bool("quiet") ? HistoryRow.QuietFormat : ListFormat.Resolve(format, HistoryRow.DefaultTable);
        bool truncate = !p.Bool("no-trunc");
        bool human = p.Bool("human");
        DateTimeOffset now = ctx.Now;
        IEnumerable<object?> rows = history.Select(h => (object?)new HistoryRow(h, truncate, human, now, ctx.Zone));
        await ctx.Out.WriteAsync(ListFormat.Render(resolved, rows, HistoryRow.Header)).ConfigureAwait(false);
        return 0;
    }

    public static CommandSpec Save(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS] IMAGE [IMAGE...]",
        Summary = "Save one or more images to a tar archive (streamed to STDOUT by default)",
        MinArgs = 1,
        DefineFlags = f => f
            .String("output", 'o', "Write to a file, instead of STDOUT")
            .String("platform", null, "Save only the given platform variant. Formatted as \"os[/arch[/variant]]\" (e.g., \"linux/amd64\")"),
        Handler = SaveAsync,
    };

    private static async Task<int> SaveAsync(CommandContext ctx, ParsedArgs p)
    {
        await ArchiveOutput.WriteAsync(ctx, p.String("output"), (stream, ct) => ctx.Client.SaveImagesAsync(p.Positionals, stream, ct), "failed to save image", "save").ConfigureAwait(false);
        return 0;
    }

    public static CommandSpec Load(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS]",
        Summary = "Load an image from a tar archive or STDIN",
        MaxArgs = 0,
        DefineFlags = f => f
            .String("input", 'i', "Read from tar archive file, instead of STDIN")
            .String("platform", null, "Load only the given platform variant. Formatted as \"os[/arch[/variant]]\" (e.g., \"linux/amd64\")")
            .Bool("quiet", 'q', "Suppress the load output"),
        Handler = LoadAsync,
    };

    private static async Task<int> LoadAsync(CommandContext ctx, ParsedArgs p)
    {
        string? input = p.String("input");
        if (string.IsNullOrEmpty(input) && ctx.StdinIsTerminal)
        {
            throw new StatusException(1, "requested load from stdin, but stdin is empty");
        }

        Stream source;
        try
        {
            source = string.IsNullOrEmpty(input)
                ? ctx.OpenStdin()
                : new FileStream(input, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            throw new StatusException(1, $"open {input}: no such file or directory");
        }

        await using (source.ConfigureAwait(false))
        {
            await foreach (ProgressMessage message in ctx.Client.LoadImagesAsync(source, p.Bool("quiet") || !ctx.StdoutIsTerminal, ctx.Cancellation).ConfigureAwait(false))
            {
                string? error = message.Error ?? message.ErrorDetail?.Message;
                if (!string.IsNullOrEmpty(error))
                {
                    await ctx.Out.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
                    throw new StatusException(1, error);
                }

                string? line = ProgressLine(message);
                if (line is not null)
                {
                    await ctx.Out.WriteAsync(line).ConfigureAwait(false);
                }
            }
        }

        return 0;
    }

    public static CommandSpec Prune() => new()
    {
        Name = "prune",
        Usage = "[OPTIONS]",
        Summary = "Remove unused images",
        MaxArgs = 0,
        DefineFlags = f => f
            .Bool("all", 'a', "Remove all unused images, not just dangling ones")
            .List("filter", null, "Provide filter values (e.g. \"until=<timestamp>\")", typeName: "filter")
            .Bool("force", 'f', "Do not prompt for confirmation"),
        Handler = PruneAsync,
    };

    private static async Task<int> PruneAsync(CommandContext ctx, ParsedArgs p)
    {
        ApiFilters filters = FilterFlags.Parse(p);

        bool all = p.Bool("all");
        filters.Add("dangling", all ? "false" : "true");
        if (!p.Bool("force"))
        {
            string warning = all
                ? "WARNING! This will remove all images without at least one container associated to them."
                : "WARNING! This will remove all dangling images.";
            if (!await Prompt.ConfirmAsync(ctx, warning + "\nAre you sure you want to continue? [y/N] ").ConfigureAwait(false))
            {
                return 0;
            }
        }

        ImagePruneResponse report = await ctx.Client.PruneImagesAsync(filters, ctx.Cancellation).ConfigureAwait(false);
        await ctx.Out.WriteAsync(PruneReport(report)).ConfigureAwait(false);
        return 0;
    }

    /// <summary>Docker's prune output: the deleted and untagged lines, a blank line, then the reclaimed space.</summary>
    public static string PruneReport(ImagePruneResponse report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var sb = new System.Text.StringBuilder();
        long reclaimed = 0; // like docker: the space counts only when the prune deleted images
        if (report.ImagesDeleted is { Count: > 0 } items)
        {
            reclaimed = report.SpaceReclaimed;
            sb.Append("Deleted Images:\n");
            foreach (ImageDeleteResponseItem item in items)
            {
                sb.Append(!string.IsNullOrEmpty(item.Untagged) ? "untagged: " + item.Untagged : "deleted: " + item.Deleted).Append('\n');
            }

            sb.Append('\n');
        }

        sb.Append("Total reclaimed space: ").Append(Units.HumanSize(reclaimed)).Append('\n');
        return sb.ToString();
    }

    public static CommandSpec Inspect() => new()
    {
        Name = "inspect",
        Usage = "[OPTIONS] IMAGE [IMAGE...]",
        Summary = "Display detailed information on one or more images",
        MinArgs = 1,
        DefineFlags = f => f.String("format", 'f', SystemCommands.FormatUsage),
        Handler = (ctx, p) => InspectCommand.InspectAsync(ctx, p.Positionals, p.String("format"), "image", size: false),
    };

    public static CommandSpec Bootstrap() => new()
    {
        Name = "bootstrap",
        Usage = "NAME",
        Summary = "Create a base image on this host: busybox (from busybox-static) or debian (debootstrap)",
        MinArgs = 1,
        MaxArgs = 1,
        DefineFlags = f => f.Bool("quiet", 'q', "Suppress the progress output"),
        Handler = BootstrapAsync,
    };

    private static async Task<int> BootstrapAsync(CommandContext ctx, ParsedArgs p)
    {
        bool quiet = p.Bool("quiet");
        await foreach (ProgressMessage message in ctx.Client.BootstrapImageAsync(p.Positionals[0], ctx.Cancellation).ConfigureAwait(false))
        {
            string? error = message.Error ?? message.ErrorDetail?.Message;
            if (!string.IsNullOrEmpty(error))
            {
                await ctx.Out.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
                throw new StatusException(1, error);
            }

            if (quiet)
            {
                continue;
            }

            string? line = ProgressLine(message);
            if (line is not null)
            {
                await ctx.Out.WriteAsync(line).ConfigureAwait(false);
                await ctx.Out.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
            }
        }

        return 0;
    }

    /// <summary>How docker prints a progress message without a terminal: <c>id: status progress</c>.</summary>
    public static string? ProgressLine(ProgressMessage message)
    {
        if (message.Stream is { Length: > 0 } stream)
        {
            return stream;
        }

        if (string.IsNullOrEmpty(message.Status) && string.IsNullOrEmpty(message.Progress))
        {
            return null;
        }

        string line = message.Status ?? "";
        if (!string.IsNullOrEmpty(message.Id))
        {
            line = message.Id + ": " + line;
        }

        if (!string.IsNullOrEmpty(message.Progress))
        {
            line += " " + message.Progress;
        }

        return line + "\n";
    }
}
