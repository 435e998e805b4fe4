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

/// <summary>Stopping, killing and removing containers.</summary>
public sealed partial class ContainerService
{
    public async Task<bool> StopAsync(string nameOrId, int? timeoutSeconds, string? signal, CancellationToken cancellationToken)
    {
        ContainerEntry entry = Lookup(nameOrId);
        if (!entry.Record.IsRunning)
        {
            return false;
        }

        Task<int> exited = entry.NextExit.Task;
        int stopSignal = Signals.Parse(signal ?? entry.Record.Config.StopSignal, Signals.SIGTERM);
        int timeout = timeoutSeconds ?? entry.Record.Config.StopTimeout ?? 10;
        if (await MarkStoppedByUserAsync(entry, cancellationToken).ConfigureAwait(false))
        {
            Emit(entry.Record, "stop");
            return true; // it was waiting to restart: cancelling that stops it
        }

        if (entry.Record.State.Status == ContainerStatus.Paused)
        {
            // A frozen process cannot handle the stop signal: Docker's stop of a paused container kills it.
            Emit(entry.Record, "kill", ("signal", SignalText(Signals.SIGKILL)));
            await KillPausedAsync(entry, Signals.SIGKILL, all: true, cancellationToken).ConfigureAwait(false);
            await exited.WaitAsync(cancellationToken).ConfigureAwait(false);
            Emit(entry.Record, "stop");
            return true;
        }

        Emit(entry.Record, "kill", ("signal", SignalText(stopSignal)));
        await _runtime.KillAsync(entry.Record.Id, stopSignal, all: false, cancellationToken).ConfigureAwait(false);
        if (timeout < 0 || await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(timeout), cancellationToken)).ConfigureAwait(false) != exited)
        {
            Emit(entry.Record, "kill", ("signal", SignalText(Signals.SIGKILL)));
            await _runtime.KillAsync(entry.Record.Id, Signals.SIGKILL, all: true, cancellationToken).ConfigureAwait(false);
            await exited.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        Emit(entry.Record, "stop");
        return true;
    }

    public async Task KillAsync(string nameOrId, string? signal, CancellationToken cancellationToken)
    {
        ContainerEntry entry = Lookup(nameOrId);
        if (!entry.Record.IsRunning)
        {
            throw EngineException.Conflict($"cannot kill container: {nameOrId}: container {entry.Record.Id} is not running");
        }

        int number = Signals.Parse(signal, Signals.SIGKILL);
        bool paused = entry.Record.State.Status == ContainerStatus.Paused;
        if (paused && number != Signals.SIGKILL)
        {
            await KillPausedAsync(entry, number, all: false, cancellationToken).ConfigureAwait(false); // refuses, as Docker does
        }

        if (number is Signals.SIGKILL or Signals.SIGTERM || number == Signals.Parse(entry.Record.Config.StopSignal, Signals.SIGTERM))
        {
            // Docker: a kill that ends the container is a stop by hand, which the restart policy does not undo.
            if (await MarkStoppedByUserAsync(entry, cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }

        Emit(entry.Record, "kill", ("signal", SignalText(number)));
        if (paused)
        {
            await KillPausedAsync(entry, number, all: false, cancellationToken).ConfigureAwait(false);
            return;
        }

        await _runtime.KillAsync(entry.Record.Id, number, all: false, cancellationToken).ConfigureAwait(false);
    }

    public async Task RemoveAsync(string nameOrId, bool force, bool removeVolumes, CancellationToken cancellationToken)
    {
        ContainerEntry entry = Lookup(nameOrId);
        if (force && entry.Record.IsRunning)
        {
            await MarkStoppedByUserAsync(entry, cancellationToken).ConfigureAwait(false);
        }

        if (entry.Record.IsRunning)
        {
            if (!force)
            {
                throw EngineException.Conflict($"cannot remove container \"{entry.Record.Name}\": container is running: stop the container before removing or force remove");
            }

            Task<int> exited = entry.NextExit.Task;
            Emit(entry.Record, "kill", ("signal", SignalText(Signals.SIGKILL)));
            if (entry.Record.State.Status == ContainerStatus.Paused)
            {
                await KillPausedAsync(entry, Signals.SIGKILL, all: true, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                try
                {
                    await _runtime.KillAsync(entry.Record.Id, Signals.SIGKILL, all: true, cancellationToken).ConfigureAwait(false);
                }
                catch (EngineException)
                {
                    // It may have ended on its own as we killed it (its cgroup already gone): what force removal wanted.
                    if (!await ExitsSoonAsync(exited, cancellationToken).ConfigureAwait(false))
                    {
                        throw;
                    }
                }
            }

            await exited.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        }

        await entry.Transition.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_containers.ContainsKey(entry.Record.Id))
            {
                return; // removed meanwhile (auto-remove)
            }

            ContainerRecord record = entry.Record;
            entry.Publish(record with { State = record.State with { Status = ContainerStatus.Removing } });
            UnmountRootfs(entry);
            if (!record.IsRunning)
            {
                await TearDownNetworkAsync(record.Id).ConfigureAwait(false);
            }

            _metadata.DeleteContainer(record.Id);
            _containers.TryRemove(record.Id, out _);
            _runtime.Forget(record.Id);
            ReleaseMounts(record.Id, record.Mounts, removeVolumes);
            _images.Snapshots.Remove(record.Id);
            DeleteDirectory(Path.Combine(_options.ContainersDirectory, record.Id));
            _ = RemoveStateDirectoryAsync(entry.RuntimeReleased, _options.ContainerStateDirectory(record.Id));
            foreach (TaskCompletionSource<Socket?> pending in TakePendingAttaches(entry))
            {
                pending.TrySetResult(null);
            }

            CancelPendingRestart(record.Id);
            _restarts.TryRemove(record.Id, out _);
            LogRemoved(record.Id);
            Emit(record, "destroy");
        }
        finally
        {
            entry.Transition.Release();
        }

        entry.Removed.TrySetResult(0);
        entry.SignalExit(entry.Record.State.ExitCode);
    }

    /// <summary>Whether the container's process is gone or goes within a moment (its exit is being recorded).</summary>
    private static async Task<bool> ExitsSoonAsync(Task<int> exited, CancellationToken cancellationToken)
    {
        try
        {
            await exited.WaitAsync(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private static void DeleteDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }

    /// <summary>
    /// The monitor's state directory goes once the monitor has let go of it (exit.json, the runtime's delete, its
    /// socket), off the path of the removal the client waits for.
    /// </summary>
    private async Task RemoveStateDirectoryAsync(Task released, string path)
    {
        try
        {
            await released.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        for (int attempt = 0; ; attempt++)
        {
            try
            {
                DeleteDirectory(path);
                return;
            }
            catch (IOException e) when (attempt < 10)
            {
                LogStateRemovalRetry(path, e.Message);
                await Task.Delay(50).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                LogStateRemovalRetry(path, e.Message);
                return; // a stray directory under the exec root: harmless, and gone at the next boot (tmpfs)
            }
        }
    }
}
