using System.Diagnostics;
using Berth.Api.Client;
using Berth.Api.Types;

namespace Berth.Cli.Commands;

/// <summary>
/// The attached part of <c>run</c> and <c>start -a</c>, in docker's order: attach (hijacked, so no output
/// of a short-lived container is lost), register the wait, start, stream output until EOF, then return the
/// container's exit status.
/// </summary>
internal sealed class AttachSession(CommandContext ctx, string id, bool tty, bool stdin, bool stdout, bool stderr, string? detachKeys)
{
    /// <summary>How long to wait for the daemon to acknowledge the wait request before starting anyway.</summary>
    private static readonly TimeSpan WaitRegistrationGrace = TimeSpan.FromSeconds(1);

    public bool SignalProxy { get; init; }

    /// <param name="waitCondition"><see cref="WaitCondition.Removed"/> for --rm containers, else next-exit.</param>
    /// <param name="start">Starts the container; its exceptions propagate after the session is torn down.</param>
    public async Task<int> RunAsync(string waitCondition, Func<CancellationToken, Task> start)
    {
        CancellationToken ct = ctx.Cancellation;
        await ctx.FlushAsync().ConfigureAwait(false);

        using CancellationTokenSource waitCancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
        // The wait is registered while the attach is made, on its own connection: the daemon needs both in place before
        // the start, not one before the other, and one round trip less is a millisecond or more of every attached run.
        Task<ContainerWait> waitTask = ctx.Client.BeginWaitContainerAsync(id, waitCondition, waitCancel.Token);
        HijackedConnection? connection = null;
        try
        {
            if (stdin || stdout || stderr)
            {
                connection = await ctx.Client.AttachContainerAsync(
                    id, new AttachOptions { Stdin = stdin, Stdout = stdout, Stderr = stderr, DetachKeys = detachKeys }, ct).ConfigureAwait(false);
                if (!stdin)
                {
                    // Like docker's CLI: nothing to send, so say so at once (the daemon may hold the stream
                    // open until the client's side is done).
                    connection.CloseWrite();
                }
            }

            await Task.WhenAny(waitTask, Task.Delay(WaitRegistrationGrace, ct)).ConfigureAwait(false);
            if (waitTask.IsFaulted)
            {
                await waitTask.ConfigureAwait(false); // throws the daemon's error
            }

            await start(ct).ConfigureAwait(false);

            using RawTerminal? raw = tty && stdin && ctx.StdinIsTerminal ? RawTerminal.TryEnter() : null;
            if (tty && ctx.StdoutIsTerminal)
            {
                await ResizeAsync(ct).ConfigureAwait(false);
            }

            if (SignalProxy && !tty)
            {
                ctx.OnInterrupt = ForwardInterrupt;
            }

            if (connection is not null)
            {
                Task<bool> input = stdin ? PumpStdinAsync(connection, ct) : Task.FromResult(false);
                Task output = tty
                    ? StdStreamCodec.CopyRawAsync(connection.Stream, ctx.StdoutStream, ct)
                    : StdStreamCodec.DemultiplexAsync(connection.Stream, ctx.StdoutStream, ctx.StderrStream, ct);

                // The detach keys end the session at once with 0, leaving the container running (docker's EscapeError).
                if (await Task.WhenAny(output, input).ConfigureAwait(false) == input && input.IsCompletedSuccessfully && await input.ConfigureAwait(false))
                {
                    return 0;
                }

                await output.ConfigureAwait(false);
            }

            using ContainerWait wait = await waitTask.ConfigureAwait(false);
            ContainerWaitResponse result = await wait.ResultAsync(ct).ConfigureAwait(false);
            if (result.Error?.Message is { Length: > 0 } message)
            {
                await ctx.Err.WriteLineAsync("Error waiting for container: " + message).ConfigureAwait(false);
                return 125;
            }

            return (int)result.StatusCode;
        }
        finally
        {
            ctx.OnInterrupt = null;
            await waitCancel.CancelAsync().ConfigureAwait(false);
            connection?.Dispose();
        }
    }

    private bool _interruptForwarded;

    /// <summary>docker's --sig-proxy for Ctrl-C: the first one goes to the container, a second one stops the CLI.</summary>
    private bool ForwardInterrupt()
    {
        if (_interruptForwarded)
        {
            return false;
        }

        _interruptForwarded = true;
        _ = ctx.Client.KillContainerAsync(id, "SIGINT", CancellationToken.None).ContinueWith(
            static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return true;
    }

    private async Task ResizeAsync(CancellationToken ct)
    {
        try
        {
            int height = Console.WindowHeight;
            int width = Console.WindowWidth;
            if (height > 0 && width > 0)
            {
                await ctx.Client.ResizeContainerTtyAsync(id, height, width, ct).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is BerthApiException or IOException or InvalidOperationException)
        {
            // Resizing is best effort: a daemon without /resize still runs the container.
        }
    }

    /// <summary>Stdin to the container until EOF; true when the user typed the detach keys (held back, never sent).</summary>
    private async Task<bool> PumpStdinAsync(HijackedConnection connection, CancellationToken ct)
    {
        byte[] keys = DetachKeys.Parse(detachKeys) ?? DetachKeys.Parse(null)!;
        var matcher = new DetachKeyMatcher(keys);
        byte[] buffer = new byte[16 * 1024];
        byte[] forward = new byte[buffer.Length + keys.Length];
        try
        {
            Stream input = ctx.OpenStdin();
            int n;
            while ((n = await input.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                int count = matcher.Feed(buffer.AsSpan(0, n), forward);
                if (count < 0)
                {
                    return true;
                }

                await connection.Stream.WriteAsync(forward.AsMemory(0, count), ct).ConfigureAwait(false);
                await connection.Stream.FlushAsync(ct).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or System.Net.Sockets.SocketException)
        {
            // The container or the connection ended first.
        }

        connection.CloseWrite();
        return false;
    }
}

/// <summary>
/// Puts the terminal in raw mode for <c>run -it</c> (keys go to the container as typed, no local echo) and
/// restores it afterwards. Uses stty rather than termios calls: the CLI declares no P/Invoke.
/// </summary>
internal sealed class RawTerminal : IDisposable
{
    private readonly string _saved;

    private RawTerminal(string saved) => _saved = saved;

    public static RawTerminal? TryEnter()
    {
        string? saved = Stty("-g", capture: true);
        if (string.IsNullOrWhiteSpace(saved))
        {
            return null;
        }

        Stty("raw -echo", capture: false);
        return new RawTerminal(saved.Trim());
    }

    public void Dispose() => Stty(_saved, capture: false);

    private static string? Stty(string arguments, bool capture)
    {
        try
        {
            var info = new ProcessStartInfo("stty")
            {
                RedirectStandardOutput = capture,
                RedirectStandardInput = false,
                UseShellExecute = false,
            };
            foreach (string a in arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                info.ArgumentList.Add(a);
            }

            using Process? process = Process.Start(info);
            if (process is null)
            {
                return null;
            }

            string? output = capture ? process.StandardOutput.ReadToEnd() : null;
            process.WaitForExit();
            return process.ExitCode == 0 ? output ?? "" : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
