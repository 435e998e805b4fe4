using System.Collections.Concurrent;
using Berth.Api.Client;
using Berth.Api.Types;
using Berth.Cli.Parsing;

namespace Berth.Cli.Commands;

/// <summary><c>docker stats</c>: a live table of the containers' resource usage, or one table with <c>--no-stream</c>.</summary>
internal static class StatsCommand
{
    private const string ClearScreen = "\u001b[2J\u001b[H";

    public static CommandSpec Stats(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS] [CONTAINER...]",
        Summary = "Display a live stream of container(s) resource usage statistics",
        DefineFlags = f => f
            .Bool("all", 'a', "Show all containers (default shows just running)")
            .String("format", null, ContainerCommands.ListFormatUsage)
            .Bool("no-stream", null, "Disable streaming stats and only pull the first result")
            .Bool("no-trunc", null, "Do not truncate output"),
        Handler = RunAsync,
    };

    private static async Task<int> RunAsync(CommandContext ctx, ParsedArgs p)
    {
        IReadOnlyList<string> names = p.Positionals;
        if (names.Count == 0)
        {
            IReadOnlyList<ContainerSummary> containers = await ctx.Client.ListContainersAsync(new ContainerListOptions { All = p.Bool("all") }, ctx.Cancellation).ConfigureAwait(false);
            names = [.. containers.Select(c => c.Id)];
        }

        string format = ListFormat.Resolve(p.String("format"), StatsRow.DefaultTable);
        bool truncate = !p.Bool("no-trunc");
        bool stream = !p.Bool("no-stream");
        var latest = new ConcurrentDictionary<string, ContainerStatsResponse>(StringComparer.Ordinal);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ctx.Cancellation);
        Task[] readers = [.. names.Select(n => ReadAsync(ctx.Client, n, stream, latest, stop.Token))];
        if (!stream)
        {
            await Task.WhenAll(readers).ConfigureAwait(false);
            await ctx.Out.WriteAsync(Render(format, names, latest, truncate)).ConfigureAwait(false);
            return 0;
        }

        Task all = Task.WhenAll(readers);
        while (!all.IsCompleted)
        {
            await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(1), ctx.Cancellation)).ConfigureAwait(false);
            ctx.Cancellation.ThrowIfCancellationRequested();
            await ctx.Out.WriteAsync((ctx.StdoutIsTerminal ? ClearScreen : "") + Render(format, names, latest, truncate)).ConfigureAwait(false);
            await ctx.Out.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
        }

        await all.ConfigureAwait(false);
        return 0;
    }

    private static async Task ReadAsync(BerthClient client, string name, bool stream, ConcurrentDictionary<string, ContainerStatsResponse> latest, CancellationToken cancellationToken)
    {
        await foreach (ContainerStatsResponse sample in client.StreamStatsAsync(name, stream, cancellationToken).ConfigureAwait(false))
        {
            latest[name] = sample;
        }
    }

    private static string Render(string format, IReadOnlyList<string> names, ConcurrentDictionary<string, ContainerStatsResponse> latest, bool truncate) =>
        ListFormat.Render(format, names.Where(latest.ContainsKey).Select(n => (object?)new StatsRow(n, latest[n], truncate)), StatsRow.Header);
}
