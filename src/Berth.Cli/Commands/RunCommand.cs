using Berth.Api.Client;
using Berth.Api.Types;
using Berth.Cli.Options;
using Berth.Cli.Parsing;

namespace Berth.Cli.Commands;

/// <summary><c>berth run</c> and <c>berth create</c>.</summary>
internal static class RunCommand
{
    public static CommandSpec CreateRun(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS] IMAGE [COMMAND] [ARG...]",
        Summary = "Create and run a new container from an image",
        Interspersed = false,
        MinArgs = 1,
        DefineFlags = ContainerFlags.DefineRun,
        Handler = RunAsync,
    };

    public static CommandSpec CreateCreate(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS] IMAGE [COMMAND] [ARG...]",
        Summary = "Create a new container",
        Interspersed = false,
        MinArgs = 1,
        DefineFlags = ContainerFlags.DefineCreate,
        Handler = CreateAsync,
    };

    /// <summary>
    /// The exit code docker 28's CLI gives a failed create or start in <c>run</c> (its toStatusError):
    /// 127 when the command cannot be found, 126 when it cannot be executed, else 125.
    /// </summary>
    public static int ExitCodeFor(string message)
    {
        if (message.Contains("executable file not found", StringComparison.Ordinal)
            || message.Contains("no such file or directory", StringComparison.Ordinal)
            || message.Contains("system cannot find the file specified", StringComparison.Ordinal))
        {
            return 127;
        }

        if (message.Contains("permission denied", StringComparison.Ordinal)
            || message.Contains("exec format error", StringComparison.Ordinal)
            || message.Contains("is a directory", StringComparison.Ordinal))
        {
            return 126;
        }

        return 125;
    }

    /// <summary>docker's <c>withHelp</c>: <c>berth: MESSAGE</c>, a blank line, and where to get help.</summary>
    public static StatusException RunError(string message, int? exitCode = null) =>
        new(exitCode ?? ExitCodeFor(message), $"berth: {message}\n\nRun 'berth run --help' for more information");

    private static ContainerPlan Plan(CommandContext ctx, ParsedArgs p, bool isRun) =>
        ContainerOptions.Build(p, isRun, ctx.Environment, File.ReadAllText, Directory.GetCurrentDirectory());

    private static async Task<int> RunAsync(CommandContext ctx, ParsedArgs p)
    {
        ContainerPlan plan;
        try
        {
            plan = Plan(ctx, p, isRun: true);
        }
        catch (StatusException e) when (e.ExitCode == 125)
        {
            throw RunError(e.Message, 125);
        }

        ContainerCreateRequest request = plan.Request;
        if (!plan.Detach && request.Tty && request.AttachStdin && !ctx.StdinIsTerminal)
        {
            throw new StatusException(1, "the input device is not a TTY");
        }

        string id;
        try
        {
            id = await CreateAsync(ctx, plan).ConfigureAwait(false);
        }
        catch (Exception e) when (e is BerthApiException or DaemonUnavailableException or BerthProtocolException)
        {
            throw RunError(e.Message);
        }

        async Task Start(CancellationToken ct)
        {
            try
            {
                await ctx.Client.StartContainerAsync(id, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is BerthApiException or DaemonUnavailableException or BerthProtocolException)
            {
                throw RunError(e.Message);
            }
        }

        if (plan.Detach)
        {
            await Start(ctx.Cancellation).ConfigureAwait(false);
            await ctx.Out.WriteLineAsync(id).ConfigureAwait(false);
            return 0;
        }

        var session = new AttachSession(ctx, id, request.Tty, request.AttachStdin, request.AttachStdout, request.AttachStderr, plan.DetachKeys)
        {
            SignalProxy = plan.SignalProxy,
        };
        string condition = request.HostConfig?.AutoRemove == true ? WaitCondition.Removed : WaitCondition.NextExit;
        return await session.RunAsync(condition, Start).ConfigureAwait(false);
    }

    private static async Task<int> CreateAsync(CommandContext ctx, ParsedArgs p)
    {
        ContainerPlan plan = Plan(ctx, p, isRun: false);
        string id = await CreateAsync(ctx, plan).ConfigureAwait(false);
        await ctx.Out.WriteLineAsync(id).ConfigureAwait(false);
        return 0;
    }

    /// <summary>
    /// POST /containers/create; prints the daemon's warnings. A missing image is pulled first, as docker does
    /// ("Unable to find image ... locally", then the pull's progress on stderr); <c>--pull=always</c> pulls every time.
    /// </summary>
    private static async Task<string> CreateAsync(CommandContext ctx, ContainerPlan plan)
    {
        string reference = ImageRefs.WithDefaultTag(plan.Image);
        if (plan.ContainerIdFile is string cidFile && File.Exists(cidFile))
        {
            throw new StatusException(125, $"berth: container ID file found, make sure the other container isn't running or delete {cidFile}");
        }

        if (plan.Pull == "always")
        {
            await PullOrFailAsync(ctx, reference, plan.Platform).ConfigureAwait(false);
        }

        ContainerCreateResponse created;
        try
        {
            created = await ctx.Client.CreateContainerAsync(plan.Request, plan.Name, plan.Platform, ctx.Cancellation).ConfigureAwait(false);
        }
        catch (BerthApiException e) when (e.IsNotFound && plan.Pull == "missing" && e.Message.Contains("No such image", StringComparison.Ordinal))
        {
            await ctx.Out.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
            await ctx.Err.WriteLineAsync($"Unable to find image '{reference}' locally").ConfigureAwait(false);
            await PullOrFailAsync(ctx, reference, plan.Platform).ConfigureAwait(false);
            created = await ctx.Client.CreateContainerAsync(plan.Request, plan.Name, plan.Platform, ctx.Cancellation).ConfigureAwait(false);
        }

        foreach (string warning in created.Warnings ?? [])
        {
            await ctx.Err.WriteLineAsync("WARNING: " + warning).ConfigureAwait(false);
        }

        if (plan.ContainerIdFile is string file)
        {
            await File.WriteAllTextAsync(file, created.Id, ctx.Cancellation).ConfigureAwait(false);
        }

        return created.Id;
    }

    /// <summary>A pull for run/create; its failure is docker's "Error response from daemon" with exit code 125.</summary>
    private static async Task PullOrFailAsync(CommandContext ctx, string reference, string? platform)
    {
        try
        {
            await RegistryCommands.PullForRunAsync(ctx, reference, platform).ConfigureAwait(false);
        }
        catch (Exception e) when (e is StatusException or BerthApiException)
        {
            string hint = ImageRefs.Split(reference).Repository is "busybox" or "debian"
                ? $" (offline? 'berth image bootstrap {ImageRefs.Split(reference).Repository}' creates it on this host)"
                : "";
            throw new StatusException(125, $"berth: Error response from daemon: {e.Message}{hint}\n\nRun '{ctx.CommandPath} --help' for more information");
        }
    }
}
