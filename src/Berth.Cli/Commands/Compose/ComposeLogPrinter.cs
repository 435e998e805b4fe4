using System.Text;
using Berth.Api.Client;
using Berth.Api.Types;
using Berth.Compose;
using Berth.Compose.Engine;

namespace Berth.Cli.Commands.Compose;

/// <summary>
/// Interleaves the logs of several containers as docker compose does: each line prefixed with the container's
/// name without the project (<c>web-1  | </c>), padded to the longest name and coloured per container on a terminal.
/// </summary>
internal sealed class ComposeLogPrinter(CommandContext ctx, bool prefix, bool color)
{
    // docker compose's palette: the normal colours, then their bright variants.
    private static readonly string[] Colors = ["36", "33", "32", "35", "34", "36;1", "33;1", "32;1", "35;1", "34;1"];
    private readonly Lock _lock = new();
    private readonly Dictionary<string, string> _colors = new(StringComparer.Ordinal);
    private int _width;

    public static string ShortName(ContainerSummary c, string project)
    {
        string name = ComposeEngine.NameOf(c);
        return name.StartsWith(project + "-", StringComparison.Ordinal) ? name[(project.Length + 1)..] : name;
    }

    public void Register(string name)
    {
        lock (_lock)
        {
            _width = Math.Max(_width, name.Length);
            if (!_colors.ContainsKey(name))
            {
                _colors[name] = Colors[_colors.Count % Colors.Length];
            }
        }
    }

    public void WriteLine(string name, string line)
    {
        lock (_lock)
        {
            if (prefix)
            {
                string label = name.PadRight(_width) + "  | ";
                ctx.Out.Write(color ? $"\u001b[{_colors.GetValueOrDefault(name, "0")}m{label}\u001b[0m" : label);
            }

            ctx.Out.Write(line);
            ctx.Out.Write('\n');
            ctx.Out.Flush();
        }
    }

    /// <summary>Streams one container's log (following if asked) until it ends.</summary>
    public async Task StreamAsync(string name, string id, LogsOptions options, CancellationToken cancellationToken)
    {
        bool tty = false;
        try
        {
            ContainerInspect inspect = await ctx.Client.InspectContainerAsync(id, cancellationToken).ConfigureAwait(false);
            tty = inspect.Config.Tty;
        }
        catch (BerthApiException e) when (e.IsNotFound)
        {
            return;
        }

        Stream logs = await ctx.Client.GetContainerLogsAsync(id, options, cancellationToken).ConfigureAwait(false);
        await using (logs.ConfigureAwait(false))
        {
            var sink = new LineSink(line => WriteLine(name, line));
            if (tty)
            {
                await StdStreamCodec.CopyRawAsync(logs, sink, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await StdStreamCodec.DemultiplexAsync(logs, sink, sink, cancellationToken).ConfigureAwait(false);
            }

            sink.Complete();
        }
    }

    /// <summary>
    /// <c>up</c> without -d: follows the services' containers until they all exit (or, with
    /// --abort-on-container-exit, until one does); Ctrl-C stops the project's containers.
    /// </summary>
    public static async Task<int> AttachAsync(ComposeInvocation i, ComposeProject project, IReadOnlyList<string> services, bool abort, string? exitCodeFrom, int? timeout, DateTimeOffset since)
    {
        CommandContext ctx = i.Context;
        bool noColor = i.Args.Bool("no-color") || !ctx.StdoutIsTerminal || ctx.Environment("NO_COLOR") is { Length: > 0 };
        var printer = new ComposeLogPrinter(ctx, !i.Args.Bool("no-log-prefix"), !noColor);
        List<ContainerSummary> containers = await i.Engine.ContainersAsync(project.Name, all: true, includeOneOff: false, services, CancellationToken.None).ConfigureAwait(false);
        foreach (ContainerSummary c in containers)
        {
            printer.Register(ShortName(c, project.Name));
        }

        await ctx.Err.WriteLineAsync($"Attaching to {string.Join(", ", containers.Select(c => ShortName(c, project.Name)))}").ConfigureAwait(false);
        using var stopFollowing = CancellationTokenSource.CreateLinkedTokenSource(ctx.Cancellation);
        var followers = containers.ToDictionary(
            c => (Task)printer.StreamAsync(ShortName(c, project.Name), c.Id, new LogsOptions { Follow = true, Since = since.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture) }, stopFollowing.Token),
            c => c);
        int exitCode = 0;
        try
        {
            var pending = followers.Keys.ToList();
            while (pending.Count > 0)
            {
                Task done = await Task.WhenAny(pending).ConfigureAwait(false);
                ctx.Cancellation.ThrowIfCancellationRequested();
                pending.Remove(done);
                ContainerSummary container = followers[done];
                ContainerInspect state = await ctx.Client.InspectContainerAsync(container.Id, CancellationToken.None).ConfigureAwait(false);
                await ctx.Err.WriteLineAsync($"{ShortName(container, project.Name)} exited with code {state.State.ExitCode}").ConfigureAwait(false);
                if (exitCodeFrom is not null ? ComposeEngine.ServiceOf(container) == exitCodeFrom : abort && exitCode == 0)
                {
                    exitCode = state.State.ExitCode;
                }

                if (abort)
                {
                    await ctx.Err.WriteLineAsync("Aborting on container exit...").ConfigureAwait(false);
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (ctx.Cancellation.IsCancellationRequested)
        {
            await ctx.Err.WriteLineAsync("Gracefully stopping... (press Ctrl+C again to force)").ConfigureAwait(false);
            exitCode = 130;
        }

        if (abort || exitCode == 130)
        {
            await stopFollowing.CancelAsync().ConfigureAwait(false);
            var reporter = new CliReporter(ctx);
            await i.Engine.ForEachContainerAsync(project, project.Name, services, all: false, reverse: true, async c =>
            {
                string name = ComposeEngine.NameOf(c);
                reporter.Report("Container", name, "Stopping");
                await ctx.Client.StopContainerAsync(c.Id, timeout, null, CancellationToken.None).ConfigureAwait(false);
                reporter.Report("Container", name, "Stopped");
            }, CancellationToken.None).ConfigureAwait(false);
            if (exitCodeFrom is not null)
            {
                ContainerSummary? from = containers.FirstOrDefault(c => ComposeEngine.ServiceOf(c) == exitCodeFrom);
                if (from is not null)
                {
                    exitCode = (await ctx.Client.InspectContainerAsync(from.Id, CancellationToken.None).ConfigureAwait(false)).State.ExitCode;
                }
            }
        }

        return exitCode;
    }

    /// <summary>A write-only stream that hands complete lines (without the newline) to a callback.</summary>
    private sealed class LineSink(Action<string> onLine) : Stream
    {
        private readonly MemoryStream _partial = new();

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            lock (_partial)
            {
                while (buffer.Length > 0)
                {
                    int newline = buffer.IndexOf((byte)'\n');
                    if (newline < 0)
                    {
                        _partial.Write(buffer);
                        return;
                    }

                    _partial.Write(buffer[..newline]);
                    string line = Encoding.UTF8.GetString(_partial.GetBuffer(), 0, (int)_partial.Length).TrimEnd('\r');
                    _partial.SetLength(0);
                    onLine(line);
                    buffer = buffer[(newline + 1)..];
                }
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Write(buffer.AsSpan(offset, count));
            return Task.CompletedTask;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public void Complete()
        {
            lock (_partial)
            {
                if (_partial.Length > 0)
                {
                    onLine(Encoding.UTF8.GetString(_partial.GetBuffer(), 0, (int)_partial.Length));
                    _partial.SetLength(0);
                }
            }
        }
    }
}
