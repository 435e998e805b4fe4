using System.Globalization;
using Berth.Api.Client;
using Berth.Api.Types;
using Berth.Cli.Options;
using Berth.Cli.Parsing;

namespace Berth.Cli.Commands;

/// <summary><c>ps</c>, <c>rm</c>, <c>logs</c>, <c>wait</c>, <c>start</c> and <c>container inspect</c>.</summary>
internal static class ContainerCommands
{
    public const string ListFormatUsage =
        "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";

    public static CommandSpec Ps(string name, string[] aliases, string[] aliasPaths) => new()
    {
        Name = name,
        Aliases = aliases,
        AliasPaths = aliasPaths,
        Summary = "List containers",
        MaxArgs = 0,
        DefineFlags = f => f
            .Bool("all", 'a', "Show all containers (default shows just running)")
            .List("filter", 'f', "Filter output based on conditions provided", typeName: "filter")
            .String("format", null, ListFormatUsage)
            .Int("last", 'n', "Show n last created containers (includes all states)", defaultValue: -1)
            .Bool("latest", 'l', "Show the latest created container (includes all states)")
            .Bool("no-trunc", null, "Don't truncate output")
            .Bool("quiet", 'q', "Only display container IDs")
            .Bool("size", 's', "Display total file sizes"),
        Handler = PsAsync,
    };

    private static async Task<int> PsAsync(CommandContext ctx, ParsedArgs p)
    {
        ApiFilters filters = FilterFlags.Parse(p);

        int last = (int)p.Int("last");
        if (p.Bool("latest") && last == -1)
        {
            last = 1;
        }

        string? format = p.String("format");
        bool quiet = p.Bool("quiet");
        if (quiet && !string.IsNullOrEmpty(format))
        {
            await ctx.Err.WriteLineAsync("WARNING: Ignoring custom format, because both --format and --quiet are set.").ConfigureAwait(false);
        }

        string resolved = quiet ? ContainerRow.QuietFormat : ListFormat.Resolve(format, ContainerRow.DefaultTable + (p.Bool("size") ? "\t{{.Size}}" : ""));
        IReadOnlyList<ContainerSummary> containers = await ctx.Client.ListContainersAsync(
            new ContainerListOptions { All = p.Bool("all"), Limit = last, Size = p.Bool("size") || resolved.Contains(".Size", StringComparison.Ordinal), Filters = filters },
            ctx.Cancellation).ConfigureAwait(false);

        bool truncate = !p.Bool("no-trunc");
        DateTimeOffset now = ctx.Now;
        string output = ListFormat.Render(resolved, containers.Select(c => (object?)new ContainerRow(c, truncate, now, ctx.Zone)), ContainerRow.Header);
        await ctx.Out.WriteAsync(output).ConfigureAwait(false);
        return 0;
    }

    public static CommandSpec Rm(string name, string[] aliases, string[] aliasPaths) => new()
    {
        Name = name,
        Aliases = aliases,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS] CONTAINER [CONTAINER...]",
        Summary = "Remove one or more containers",
        MinArgs = 1,
        DefineFlags = f => f
            .Bool("force", 'f', "Force the removal of a running container (uses SIGKILL)")
            .Bool("link", 'l', "Remove the specified link")
            .Bool("volumes", 'v', "Remove anonymous volumes associated with the container"),
        Handler = RmAsync,
    };

    private static async Task<int> RmAsync(CommandContext ctx, ParsedArgs p)
    {
        bool force = p.Bool("force");
        var errors = new List<string>();
        foreach (string name in p.Positionals)
        {
            string id = name.Trim('/');
            try
            {
                if (id.Length == 0)
                {
                    throw new StatusException(1, "Container name cannot be empty");
                }

                await ctx.Client.RemoveContainerAsync(id, force, p.Bool("volumes"), p.Bool("link"), ctx.Cancellation).ConfigureAwait(false);
                await ctx.Out.WriteLineAsync(name).ConfigureAwait(false);
            }
            catch (BerthApiException e) when (force && e.IsNotFound)
            {
                // docker rm -f: a missing container is reported but not a failure.
                await ctx.Out.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
                await ctx.Err.WriteLineAsync(e.Message).ConfigureAwait(false);
            }
            catch (Exception e) when (e is BerthApiException or StatusException)
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

    public static CommandSpec Inspect() => new()
    {
        Name = "inspect",
        Usage = "[OPTIONS] CONTAINER [CONTAINER...]",
        Summary = "Display detailed information on one or more containers",
        MinArgs = 1,
        DefineFlags = f => f
            .String("format", 'f', SystemCommands.FormatUsage)
            .Bool("size", 's', "Display total file sizes"),
        Handler = (ctx, p) => InspectCommand.InspectAsync(ctx, p.Positionals, p.String("format"), "container", p.Bool("size")),
    };

    public static CommandSpec Logs(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS] CONTAINER",
        Summary = "Fetch the logs of a container",
        MinArgs = 1,
        MaxArgs = 1,
        DefineFlags = f => f
            .Bool("details", null, "Show extra details provided to logs")
            .Bool("follow", 'f', "Follow log output")
            .String("since", null, "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)")
            .String("tail", 'n', "Number of lines to show from the end of the logs", defaultValue: "all")
            .Bool("timestamps", 't', "Show timestamps")
            .String("until", null, "Show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)"),
        Handler = LogsAsync,
    };

    private static async Task<int> LogsAsync(CommandContext ctx, ParsedArgs p)
    {
        string id = p.Positionals[0];
        ContainerInspect container = await ctx.Client.InspectContainerAsync(id, ctx.Cancellation).ConfigureAwait(false);
        var options = new LogsOptions
        {
            Follow = p.Bool("follow"),
            Timestamps = p.Bool("timestamps"),
            Details = p.Bool("details"),
            Tail = p.String("tail"),
            Since = Timestamp(p.String("since"), ctx.Now),
            Until = Timestamp(p.String("until"), ctx.Now),
        };

        await ctx.FlushAsync().ConfigureAwait(false);
        Stream logs = await ctx.Client.GetContainerLogsAsync(string.IsNullOrEmpty(container.Id) ? id : container.Id, options, ctx.Cancellation).ConfigureAwait(false);
        await using (logs.ConfigureAwait(false))
        {
            if (container.Config?.Tty == true)
            {
                await StdStreamCodec.CopyRawAsync(logs, ctx.StdoutStream, ctx.Cancellation).ConfigureAwait(false);
            }
            else
            {
                await StdStreamCodec.DemultiplexAsync(logs, ctx.StdoutStream, ctx.StderrStream, ctx.Cancellation).ConfigureAwait(false);
            }
        }

        return 0;
    }

    /// <summary>
    /// docker's <c>GetTimestamp</c>: a Go duration means "that long ago"; RFC 3339 times and dates become
    /// UNIX seconds; anything else (already a timestamp) is passed as typed.
    /// </summary>
    public static string? Timestamp(string? value, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        if (Units.TryParseGoDuration(value, out TimeSpan ago))
        {
            return UnixText(now - ago);
        }

        if (value.Contains('-', StringComparison.Ordinal)
            && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out DateTimeOffset time))
        {
            return UnixText(time);
        }

        return value;
    }

    private static string UnixText(DateTimeOffset t)
    {
        long ticks = (t - DateTimeOffset.UnixEpoch).Ticks;
        long seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long rest);
        return seconds.ToString(CultureInfo.InvariantCulture) + "." + (rest * 100).ToString("000000000", CultureInfo.InvariantCulture);
    }

    public static CommandSpec Wait(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "CONTAINER [CONTAINER...]",
        Summary = "Block until one or more containers stop, then print their exit codes",
        MinArgs = 1,
        Handler = WaitAsync,
    };

    private static async Task<int> WaitAsync(CommandContext ctx, ParsedArgs p)
    {
        var errors = new List<string>();
        foreach (string name in p.Positionals)
        {
            try
            {
                ContainerWaitResponse result = await ctx.Client.WaitContainerAsync(name, null, ctx.Cancellation).ConfigureAwait(false);
                await ctx.Out.WriteLineAsync(result.StatusCode.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
                await ctx.Out.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
            }
            catch (BerthApiException e)
            {
                await ctx.Err.WriteLineAsync(e.Message).ConfigureAwait(false);
                errors.Add(name);
            }
        }

        if (errors.Count > 0)
        {
            throw new StatusException(1, "failed to wait containers: " + string.Join(", ", errors));
        }

        return 0;
    }

    public static CommandSpec Start(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS] CONTAINER [CONTAINER...]",
        Summary = "Start one or more stopped containers",
        MinArgs = 1,
        DefineFlags = f => f
            .Bool("attach", 'a', "Attach STDOUT/STDERR and forward signals")
            .String("detach-keys", null, "Override the key sequence for detaching a container")
            .Bool("interactive", 'i', "Attach container's STDIN"),
        Handler = StartAsync,
    };

    private static async Task<int> StartAsync(CommandContext ctx, ParsedArgs p)
    {
        bool attach = p.Bool("attach");
        bool interactive = p.Bool("interactive");
        if (attach || interactive)
        {
            if (p.Positionals.Count > 1)
            {
                throw new StatusException(1, "you cannot start and attach multiple containers at once");
            }

            ContainerInspect container = await ctx.Client.InspectContainerAsync(p.Positionals[0], ctx.Cancellation).ConfigureAwait(false);
            string id = string.IsNullOrEmpty(container.Id) ? p.Positionals[0] : container.Id;
            bool tty = container.Config?.Tty == true;
            var session = new AttachSession(ctx, id, tty, interactive && container.Config?.OpenStdin == true, stdout: true, stderr: true, p.String("detach-keys"))
            {
                SignalProxy = true,
            };
            return await session.RunAsync(
                container.HostConfig?.AutoRemove == true ? WaitCondition.Removed : WaitCondition.NextExit,
                ct => ctx.Client.StartContainerAsync(id, ct)).ConfigureAwait(false);
        }

        var failed = new List<string>();
        foreach (string name in p.Positionals)
        {
            try
            {
                await ctx.Client.StartContainerAsync(name, ctx.Cancellation).ConfigureAwait(false);
                await ctx.Out.WriteLineAsync(name).ConfigureAwait(false);
            }
            catch (BerthApiException e)
            {
                await ctx.Out.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
                await ctx.Err.WriteLineAsync(e.Message).ConfigureAwait(false);
                failed.Add(name);
            }
        }

        if (failed.Count > 0)
        {
            throw new StatusException(1, "Error: failed to start containers: " + string.Join(", ", failed));
        }

        return 0;
    }
}
