using Berth.Api.Client;
using Berth.Api.Types;
using Berth.Cli.Parsing;

namespace Berth.Cli.Commands;

/// <summary><c>berth exec</c>: docker's flow: create the exec, start it hijacked, copy the streams, then read its exit code.</summary>
internal static class ExecCommand
{
    public static CommandSpec Create(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS] CONTAINER COMMAND [ARG...]",
        Summary = "Execute a command in a running container",
        Interspersed = false,
        MinArgs = 2,
        DefineFlags = f => f
            .Bool("detach", 'd', "Detached mode: run command in the background")
            .String("detach-keys", null, "Override the key sequence for detaching a container")
            .List("env", 'e', "Set environment variables")
            .Bool("interactive", 'i', "Keep STDIN open even if not attached")
            .Bool("privileged", null, "Give extended privileges to the command")
            .Bool("tty", 't', "Allocate a pseudo-TTY")
            .String("user", 'u', "Username or UID (format: \"<name|uid>[:<group|gid>]\")")
            .String("workdir", 'w', "Working directory inside the container"),
        Handler = RunAsync,
    };

    private static async Task<int> RunAsync(CommandContext ctx, ParsedArgs p)
    {
        string container = p.Positionals[0];
        bool detach = p.Bool("detach");
        bool interactive = p.Bool("interactive");
        bool tty = p.Bool("tty");
        var request = new ExecCreateRequest
        {
            AttachStdin = interactive && !detach,
            AttachStdout = !detach,
            AttachStderr = !detach,
            Tty = tty,
            DetachKeys = p.String("detach-keys"),
            Env = p.List("env").Count > 0 ? [.. p.List("env")] : null,
            Cmd = [.. p.Positionals.Skip(1)],
            Privileged = p.Bool("privileged"),
            User = p.String("user"),
            WorkingDir = p.String("workdir"),
        };
        return await ExecAsync(ctx, container, request, detach, interactive, tty).ConfigureAwait(false);
    }

    /// <summary>Creates and runs the exec, attached unless <paramref name="detach"/>; returns its exit code (also used by <c>compose exec</c>).</summary>
    public static async Task<int> ExecAsync(CommandContext ctx, string container, ExecCreateRequest request, bool detach, bool interactive, bool tty)
    {
        CancellationToken ct = ctx.Cancellation;
        string execId = await ctx.Client.CreateExecAsync(container, request, ct).ConfigureAwait(false);
        if (detach)
        {
            await ctx.Client.StartExecDetachedAsync(execId, tty, ct).ConfigureAwait(false);
            return 0;
        }

        await ctx.FlushAsync().ConfigureAwait(false);
        using (HijackedConnection connection = await ctx.Client.StartExecAsync(execId, tty, ct).ConfigureAwait(false))
        using (RawTerminal? raw = tty && interactive && ctx.StdinIsTerminal ? RawTerminal.TryEnter() : null)
        {
            if (interactive)
            {
                _ = PumpStdinAsync(ctx, connection, ct);
            }
            else
            {
                connection.CloseWrite();
            }

            await (tty
                ? StdStreamCodec.CopyRawAsync(connection.Stream, ctx.StdoutStream, ct)
                : StdStreamCodec.DemultiplexAsync(connection.Stream, ctx.StdoutStream, ctx.StderrStream, ct)).ConfigureAwait(false);
        }

        ExecInspect inspect = await ctx.Client.InspectExecAsync(execId, ct).ConfigureAwait(false);
        int code = inspect.ExitCode ?? 0;
        return code;
    }

    private static async Task PumpStdinAsync(CommandContext ctx, HijackedConnection connection, CancellationToken ct)
    {
        try
        {
            Stream input = ctx.OpenStdin();
            await input.CopyToAsync(connection.Stream, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or System.Net.Sockets.SocketException)
        {
            // The process or the connection ended first.
        }
        finally
        {
            connection.CloseWrite();
        }
    }
}
