using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text.Json;
using Berth.Api.Types;
using Berth.Images;
using Berth.Interop;
using Berth.Primitives;
using Berth.Runtime;
using Berth.Storage.Metadata;
using Microsoft.Extensions.Logging;

namespace Berth.Engine.Containers;

/// <summary>Waiting on a container, attaching to it and reading its logs.</summary>
public sealed partial class ContainerService
{
    public async Task<ContainerWaitResponse> WaitAsync(string nameOrId, string condition, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _shutdown.Token);
        cancellationToken = linked.Token;
        ContainerEntry entry = Lookup(nameOrId);
        switch (condition)
        {
            case "" or "not-running":
                if (!entry.Record.IsRunning)
                {
                    return new ContainerWaitResponse { StatusCode = entry.Record.State.ExitCode };
                }

                return new ContainerWaitResponse { StatusCode = await entry.NextExit.Task.WaitAsync(cancellationToken).ConfigureAwait(false) };
            case "next-exit":
                return new ContainerWaitResponse { StatusCode = await entry.NextExit.Task.WaitAsync(cancellationToken).ConfigureAwait(false) };
            case "removed":
                await entry.Removed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                return new ContainerWaitResponse { StatusCode = entry.Record.State.ExitCode };
            default:
                throw EngineException.Invalid($"invalid condition: \"{condition}\"");
        }
    }

    public async Task AttachAsync(string nameOrId, AttachOptions options, Func<Task<Stream>> openClient, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _shutdown.Token);
        cancellationToken = linked.Token;
        ContainerEntry entry = Lookup(nameOrId);
        if (DetachKeys.Parse(options.DetachKeys) is null)
        {
            throw EngineException.Invalid($"Invalid detach keys ({options.DetachKeys}) provided");
        }

        // Register before the client hears back: `docker run` starts the container as soon as its attach is
        // answered, and the attach must already be in place then or early output is lost.
        Socket? monitor = null;
        TaskCompletionSource<Socket?>? pending = null;
        if (options.Stream)
        {
            await entry.Transition.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (entry.Record.IsRunning)
                {
                    monitor = await MonitorLauncher.AttachAsync(_options.ContainerStateDirectory(entry.Record.Id), cancellationToken).ConfigureAwait(false);
                }
                else if (entry.Record.State.Status is ContainerStatus.Created or ContainerStatus.Exited)
                {
                    // Docker lets a client attach to a stopped container and waits for its next start.
                    pending = new TaskCompletionSource<Socket?>(TaskCreationOptions.RunContinuationsAsynchronously);
                    lock (entry.PendingAttaches)
                    {
                        entry.PendingAttaches.Add(pending);
                    }
                }
            }
            finally
            {
                entry.Transition.Release();
            }
        }

        Emit(entry.Record, "attach");
        try
        {
            Stream client = await openClient().ConfigureAwait(false);
            await using (client.ConfigureAwait(false))
            {
                if (options.Logs)
                {
                    await LogsAsync(entry.Record.Id, new LogsOptions(options.Stdout, options.Stderr, false, false, null, 0, 0), client, cancellationToken).ConfigureAwait(false);
                }

                if (pending is not null)
                {
                    monitor = await pending.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                }

                if (monitor is not null)
                {
                    await AttachRelay.RunAsync(monitor, client, options, entry.Record.Config.Tty, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            monitor?.Dispose();
            if (pending is not null)
            {
                lock (entry.PendingAttaches)
                {
                    entry.PendingAttaches.Remove(pending);
                }

                // Started meanwhile, after we gave up: close the connection the start made for us.
                if (pending.Task.IsCompletedSuccessfully && await pending.Task.ConfigureAwait(false) is { } orphan && orphan != monitor)
                {
                    orphan.Dispose();
                }
            }
        }
    }

    public async Task ResizeAsync(string nameOrId, int height, int width, CancellationToken cancellationToken)
    {
        ContainerEntry entry = Lookup(nameOrId);
        if (!entry.Record.IsRunning)
        {
            throw EngineException.Conflict($"Container {entry.Record.Id} is not running");
        }

        if (height < 0 || width < 0 || height > ushort.MaxValue || width > ushort.MaxValue)
        {
            throw EngineException.Invalid("invalid terminal size");
        }

        Emit(entry.Record, "resize", ("height", height.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("width", width.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        if (!entry.Record.Config.Tty)
        {
            return; // Docker ignores a resize of a container without a TTY
        }

        try
        {
            await MonitorLauncher.ResizeAsync(_options.ContainerStateDirectory(entry.Record.Id), height, width, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            throw EngineException.Conflict($"Container {entry.Record.Id} is not running");
        }
    }

    public async Task LogsAsync(string nameOrId, LogsOptions options, Stream output, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _shutdown.Token);
        ContainerEntry entry = Lookup(nameOrId);
        if (entry.Record.HostConfig.LogConfig?.Type == LogSettings.None)
        {
            throw EngineException.Invalid("configured logging driver does not support reading");
        }

        await JsonFileLogReader.CopyAsync(entry.Record.LogPath, options with { Raw = entry.Record.Config.Tty }, output, () => entry.Record.IsRunning, linked.Token, options.Follow ? entry.NextExit.Task : null).ConfigureAwait(false);
    }
}
