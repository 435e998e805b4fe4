using Berth.Api.Client;
using Berth.Api.Types;
using Berth.Cli.Parsing;

namespace Berth.Cli.Commands;

/// <summary><c>stop</c>, <c>kill</c>, <c>restart</c>, <c>pause</c>, <c>unpause</c>, <c>rename</c> and <c>top</c>.</summary>
internal static class ContainerControlCommands
{
    public static CommandSpec Stop(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS] CONTAINER [CONTAINER...]",
        Summary = "Stop one or more running containers",
        MinArgs = 1,
        DefineFlags = f => f
            .String("signal", 's', "Signal to send to the container")
            .Int("timeout", 't', "Seconds to wait before killing the container", defaultValue: int.MinValue),
        Handler = (ctx, p) => ForEachAsync(ctx, p, (id, ct) => (Task)ctx.Client.StopContainerAsync(id, Timeout(p), p.String("signal"), ct)),
    };

    public static CommandSpec Restart(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS] CONTAINER [CONTAINER...]",
        Summary = "Restart one or more containers",
        MinArgs = 1,
        DefineFlags = f => f
            .String("signal", 's', "Signal to send to the container")
            .Int("timeout", 't', "Seconds to wait before killing the container", defaultValue: int.MinValue),
        Handler = (ctx, p) => ForEachAsync(ctx, p, (id, ct) => ctx.Client.RestartContainerAsync(id, Timeout(p), p.String("signal"), ct)),
    };

    public static CommandSpec Kill(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS] CONTAINER [CONTAINER...]",
        Summary = "Kill one or more running containers",
        MinArgs = 1,
        DefineFlags = f => f.String("signal", 's', "Signal to send to the container"),
        Handler = (ctx, p) => ForEachAsync(ctx, p, (id, ct) => ctx.Client.KillContainerAsync(id, p.String("signal"), ct)),
    };

    public static CommandSpec Pause(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "CONTAINER [CONTAINER...]",
        Summary = "Pause all processes within one or more containers",
        MinArgs = 1,
        Handler = (ctx, p) => ForEachAsync(ctx, p, ctx.Client.PauseContainerAsync),
    };

    public static CommandSpec Unpause(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "CONTAINER [CONTAINER...]",
        Summary = "Unpause all processes within one or more containers",
        MinArgs = 1,
        Handler = (ctx, p) => ForEachAsync(ctx, p, ctx.Client.UnpauseContainerAsync),
    };

    public static CommandSpec Rename(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "CONTAINER NEW_NAME",
        Summary = "Rename a container",
        MinArgs = 2,
        MaxArgs = 2,
        Handler = async (ctx, p) =>
        {
            string oldName = p.Positionals[0].Trim();
            string newName = p.Positionals[1].Trim();
            if (oldName.Length == 0 || newName.Length == 0)
            {
                throw new StatusException(1, "Error: Neither old nor new names may be empty");
            }

            await ctx.Client.RenameContainerAsync(oldName, newName, ctx.Cancellation).ConfigureAwait(false);
            return 0;
        },
    };

    public static CommandSpec Top(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "CONTAINER [ps OPTIONS]",
        Summary = "Display the running processes of a container",
        MinArgs = 1,
        Interspersed = false,
        Handler = async (ctx, p) =>
        {
            string? psArgs = p.Positionals.Count > 1 ? string.Join(' ', p.Positionals.Skip(1)) : null;
            ContainerTopResponse top = await ctx.Client.TopContainerAsync(p.Positionals[0], psArgs, ctx.Cancellation).ConfigureAwait(false);
            await ctx.Out.WriteAsync(FormatTop(top)).ConfigureAwait(false);
            return 0;
        },
    };

    /// <summary>docker top's table: the titles, then one line per process, through a tabwriter (minwidth 20, padding 1).</summary>
    public static string FormatTop(ContainerTopResponse top)
    {
        ArgumentNullException.ThrowIfNull(top);
        var writer = new TabWriter(20, 1);
        writer.Write(string.Join('\t', top.Titles) + "\n");
        foreach (IReadOnlyList<string> process in top.Processes)
        {
            writer.Write(string.Join('\t', process) + "\n");
        }

        return writer.Flush();
    }

    private static int? Timeout(ParsedArgs p) => p.Changed("timeout") ? (int)p.Int("timeout") : null;

    /// <summary>Runs <paramref name="action"/> for each named container, printing each name done and every error, as docker does.</summary>
    private static async Task<int> ForEachAsync(CommandContext ctx, ParsedArgs p, Func<string, CancellationToken, Task> action)
    {
        var errors = new List<string>();
        foreach (string name in p.Positionals)
        {
            try
            {
                await action(name, ctx.Cancellation).ConfigureAwait(false);
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


}

/// <summary><c>attach</c>: the local terminal's streams to a running container's.</summary>
internal static class AttachCommand
{
    public static CommandSpec Create(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS] CONTAINER",
        Summary = "Attach local standard input, output, and error streams to a running container",
        MinArgs = 1,
        MaxArgs = 1,
        DefineFlags = f => f
            .String("detach-keys", null, "Override the key sequence for detaching a container")
            .Bool("no-stdin", null, "Do not attach STDIN")
            .Bool("sig-proxy", null, "Proxy all received signals to the process", defaultValue: true),
        Handler = async (ctx, p) =>
        {
            ContainerInspect container = await ctx.Client.InspectContainerAsync(p.Positionals[0], ctx.Cancellation).ConfigureAwait(false);
            if (container.State?.Running != true)
            {
                throw new StatusException(1, "You cannot attach to a stopped container, start it first");
            }

            if (container.State.Paused)
            {
                throw new StatusException(1, "You cannot attach to a paused container, unpause it first");
            }

            bool tty = container.Config?.Tty == true;
            bool stdin = !p.Bool("no-stdin") && container.Config?.OpenStdin == true;
            var session = new AttachSession(ctx, container.Id, tty, stdin, stdout: true, stderr: true, p.String("detach-keys"))
            {
                SignalProxy = p.Bool("sig-proxy"),
            };
            return await session.RunAsync(WaitCondition.NextExit, _ => Task.CompletedTask).ConfigureAwait(false);
        },
    };
}
