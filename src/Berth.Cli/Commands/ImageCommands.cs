using Berth.Api.Client;
using Berth.Api.Types;
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
        var filters = new ApiFilters();
        foreach (string f in p.List("filter"))
        {
            filters.AddArgument(f);
        }

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
        Summary = "Create a base image from the host's tools (busybox for now)",
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
