using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Api.Client;
using Berth.Api.Types;
using Berth.Cli.Options;
using Berth.Cli.Parsing;
using Berth.Cli.Templates;

namespace Berth.Cli.Commands;

/// <summary><c>volume create|ls|inspect|rm|prune</c>.</summary>
internal static class VolumeCommands
{
    public static CommandSpec Group() => new()
    {
        Name = "volume",
        Usage = "COMMAND",
        Summary = "Manage volumes",
        Group = "Management Commands",
        Subcommands = [Create(), Inspect(), List(), Prune(), Remove()],
    };

    public static CommandSpec Create() => new()
    {
        Name = "create",
        Usage = "[OPTIONS] [VOLUME]",
        Summary = "Create a volume",
        MaxArgs = 1,
        DefineFlags = f => f
            .String("driver", 'd', "Specify volume driver name", defaultValue: "local")
            .List("label", null, "Set metadata for a volume")
            .String("name", null, "Specify volume name", hidden: true)
            .List("opt", 'o', "Set driver specific options", typeName: "map"),
        Handler = CreateAsync,
    };

    private static async Task<int> CreateAsync(CommandContext ctx, ParsedArgs p)
    {
        string? name = p.String("name");
        if (p.Positionals.Count == 1)
        {
            if (!string.IsNullOrEmpty(name))
            {
                throw new StatusException(1, $"conflicting options: cannot specify a volume-name through both --name and as a positional arg");
            }

            name = p.Positionals[0];
        }

        Volume volume = await ctx.Client.CreateVolumeAsync(new VolumeCreateOptions
        {
            Name = name ?? "",
            Driver = p.String("driver") ?? "local",
            DriverOpts = Options.KeyValues.ToMap(p.List("opt")),
            Labels = Options.KeyValues.ToMap(p.List("label")),
        }, ctx.Cancellation).ConfigureAwait(false);
        await ctx.Out.WriteLineAsync(volume.Name).ConfigureAwait(false);
        return 0;
    }

    public static CommandSpec List() => new()
    {
        Name = "ls",
        Aliases = ["list"],
        Usage = "[OPTIONS]",
        Summary = "List volumes",
        MaxArgs = 0,
        DefineFlags = f => f
            .Bool("cluster", null, "Display only cluster volumes, and use cluster volume list formatting", hidden: true)
            .List("filter", 'f', "Provide filter values (e.g. \"dangling=true\")", typeName: "filter")
            .String("format", null, ContainerCommands.ListFormatUsage)
            .Bool("quiet", 'q', "Only display volume names"),
        Handler = ListAsync,
    };

    private static async Task<int> ListAsync(CommandContext ctx, ParsedArgs p)
    {
        ApiFilters filters = FilterFlags.Parse(p);
        string? format = p.String("format");
        bool quiet = p.Bool("quiet");
        if (quiet && !string.IsNullOrEmpty(format))
        {
            await ctx.Err.WriteLineAsync("WARNING: Ignoring custom format, because both --format and --quiet are set.").ConfigureAwait(false);
        }

        string resolved = quiet ? VolumeRow.QuietFormat : ListFormat.Resolve(format, VolumeRow.DefaultTable);
        VolumeListResponse response = await ctx.Client.ListVolumesAsync(filters, ctx.Cancellation).ConfigureAwait(false);
        IEnumerable<object?> rows = response.Volumes.OrderBy(v => v.Name, StringComparer.Ordinal).Select(v => (object?)new VolumeRow(v));
        await ctx.Out.WriteAsync(ListFormat.Render(resolved, rows, VolumeRow.Header)).ConfigureAwait(false);
        return 0;
    }

    public static CommandSpec Inspect() => new()
    {
        Name = "inspect",
        Usage = "[OPTIONS] VOLUME [VOLUME...]",
        Summary = "Display detailed information on one or more volumes",
        MinArgs = 1,
        DefineFlags = f => f.String("format", 'f', SystemCommands.FormatUsage),
        Handler = InspectAsync,
    };

    private static Task<int> InspectAsync(CommandContext ctx, ParsedArgs p) =>
        InspectCommand.RenderAsync(ctx, p.Positionals, p.String("format"), InspectCommand.Finder(ctx, ctx.Client.InspectVolumeJsonAsync, name => $"Error: No such volume: {name}"));

    public static CommandSpec Remove() => new()
    {
        Name = "rm",
        Aliases = ["remove"],
        Usage = "[OPTIONS] VOLUME [VOLUME...]",
        Summary = "Remove one or more volumes",
        MinArgs = 1,
        DefineFlags = f => f.Bool("force", 'f', "Force the removal of one or more volumes"),
        Handler = RemoveAsync,
    };

    private static async Task<int> RemoveAsync(CommandContext ctx, ParsedArgs p)
    {
        var errors = new List<string>();
        foreach (string name in p.Positionals)
        {
            try
            {
                await ctx.Client.RemoveVolumeAsync(name, p.Bool("force"), ctx.Cancellation).ConfigureAwait(false);
                await ctx.Out.WriteLineAsync(name).ConfigureAwait(false);
            }
            catch (BerthApiException e)
            {
                errors.Add(e.Message);
            }
        }

        if (errors.Count > 0)
        {
            await ctx.Out.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
            throw new StatusException(1, string.Join("\n", errors));
        }

        return 0;
    }

    public static CommandSpec Prune() => new()
    {
        Name = "prune",
        Usage = "[OPTIONS]",
        Summary = "Remove unused local volumes",
        MaxArgs = 0,
        DefineFlags = f => f
            .Bool("all", 'a', "Remove all unused volumes, not just anonymous ones")
            .List("filter", null, "Provide filter values (e.g. \"label=<label>\")", typeName: "filter")
            .Bool("force", 'f', "Do not prompt for confirmation"),
        Handler = PruneAsync,
    };

    private static async Task<int> PruneAsync(CommandContext ctx, ParsedArgs p)
    {
        ApiFilters filters = FilterFlags.Parse(p);
        bool all = p.Bool("all");
        if (all)
        {
            if (filters.Get("all").Count > 0)
            {
                throw new StatusException(125, "conflicting options: cannot specify both --all and --filter all=1");
            }

            filters.Add("all", "true");
        }

        if (!p.Bool("force"))
        {
            string warning = all || filters.Get("all").Count > 0
                ? "WARNING! This will remove all local volumes not used by at least one container."
                : "WARNING! This will remove anonymous local volumes not used by at least one container.";
            if (!await Prompt.ConfirmAsync(ctx, warning + "\nAre you sure you want to continue? [y/N] ").ConfigureAwait(false))
            {
                return 0;
            }
        }

        VolumePruneResponse report = await ctx.Client.PruneVolumesAsync(filters, ctx.Cancellation).ConfigureAwait(false);
        await ctx.Out.WriteAsync(PruneReport(report)).ConfigureAwait(false);
        return 0;
    }

    /// <summary>Docker's output: the deleted names, a blank line, then the reclaimed space.</summary>
    public static string PruneReport(VolumePruneResponse report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var sb = new StringBuilder();
        if (report.VolumesDeleted is { Count: > 0 } deleted)
        {
            sb.Append("Deleted Volumes:\n");
            foreach (string name in deleted)
            {
                sb.Append(name).Append('\n');
            }

            sb.Append('\n');
        }

        sb.Append("Total reclaimed space: ").Append(Units.HumanSize(report.SpaceReclaimed)).Append('\n');
        return sb.ToString();
    }
}
