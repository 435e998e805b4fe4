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
            await AwaitKilledAsync(entry, exited, cancellationToken).ConfigureAwait(false);
            Emit(entry.Record, "stop");
            return true;
        }

        Emit(entry.Record, "kill", ("signal", SignalText(stopSignal)));
        await _runtime.KillAsync(entry.Record.Id, stopSignal, all: false, cancellationToken).ConfigureAwait(false);
        if (timeout < 0 || await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(timeout), cancellationToken)).ConfigureAwait(false) != exited)
        {
            Emit(entry.Record, "kill", ("signal", SignalText(Signals.SIGKILL)));
            await _runtime.KillAsync(entry.Record.Id, Signals.SIGKILL, all: true, cancellationToken).ConfigureAwait(false);
            await AwaitKilledAsync(entry, exited, cancellationToken).ConfigureAwait(false); // Docker's stop falls back to its kill
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
        Task<int> exited = entry.NextExit.Task;
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
        }
        else
        {
            await _runtime.KillAsync(entry.Record.Id, number, all: false, cancellationToken).ConfigureAwait(false);
        }

        if (number == Signals.SIGKILL)
        {
            await AwaitKilledAsync(entry, exited, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Docker's kill with SIGKILL answers once the container has stopped (other signals answer when sent): whoever
    /// asks next sees it exited, and nothing the daemon does for the running container (a health probe) follows the
    /// kill. A container still running 10 s on has every process killed and 2 s more, then the kill fails.
    /// </summary>
    private async Task AwaitKilledAsync(ContainerEntry entry, Task<int> exited, CancellationToken cancellationToken)
    {
        try
        {
            await exited.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
            return;
        }
        catch (TimeoutException)
        {
        }

        try
        {
            await _runtime.KillAsync(entry.Record.Id, Signals.SIGKILL, all: true, cancellationToken).ConfigureAwait(false);
        }
        catch (EngineException)
        {
            // Its cgroup may be gone because it has just ended: the wait below tells.
        }

        if (!await ExitsSoonAsync(exited, cancellationToken).ConfigureAwait(false))
        {
            throw new EngineException(ErrorKind.Internal, $"tried to kill container {entry.Record.Id}, but did not receive an exit event");
        }
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

            try
            {
                await AwaitKilledAsync(entry, exited, cancellationToken).ConfigureAwait(false);
            }
            catch (EngineException e)
            {
                throw new EngineException(e.Kind, $"cannot remove container \"{entry.Record.Name}\": could not kill: {e.Message}");
            }
        }

        await entry.Transition.WaitAsync(cancellationToken).ConfigureAwait(false);
        long phase = System.Diagnostics.Stopwatch.GetTimestamp();
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

            LogRemovalPhase(record.Id, "unmounted", System.Diagnostics.Stopwatch.GetElapsedTime(phase).TotalMilliseconds);
            _metadata.DeleteContainer(record.Id);
            _containers.TryRemove(record.Id, out _);
            _runtime.Forget(record.Id);
            ReleaseMounts(record.Id, record.Mounts, removeVolumes);
            LogRemovalPhase(record.Id, "forgotten", System.Diagnostics.Stopwatch.GetElapsedTime(phase).TotalMilliseconds);
            DeleteAfterReply(record.Id);
            LogRemovalPhase(record.Id, "set aside", System.Diagnostics.Stopwatch.GetElapsedTime(phase).TotalMilliseconds);
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

    /// <summary>
    /// Takes the container's files out of sight at once and deletes them after the reply: its snapshot (upper and work
    /// directories) is renamed aside by the snapshotter, its own directory (bundle, etc files, log) into
    /// <c>DATA/removing</c>. Deleting them in place took 12 to 24 ms of every <c>run --rm</c> on a busy disk (two dozen
    /// unlinks and rmdirs, each a journal update): as long as the container's whole run. What a crash leaves aside is
    /// deleted at the next start, first thing (<see cref="RestoreAsync"/>); a directory that cannot be renamed is deleted
    /// in place.
    /// </summary>
    private void DeleteAfterReply(string id)
    {
        string own = Path.Combine(_options.ContainersDirectory, id);
        string? snapshot;
        try
        {
            snapshot = _images.Snapshots.SetAside(id);
        }
        catch (IOException)
        {
            snapshot = null;
            _images.Snapshots.Remove(id); // cannot be renamed: deleted in place, the old way, and its error
        }

        string? ownAside = null;
        if (Directory.Exists(own))
        {
            try
            {
                Directory.CreateDirectory(RemovingDirectory);
                ownAside = Path.Combine(RemovingDirectory, id);
                Directory.Move(own, ownAside);
            }
            catch (IOException)
            {
                ownAside = null;
                DeleteDirectory(own); // another file system, or busy: the old way, and its error
            }
        }

        if (snapshot is not null || ownAside is not null)
        {
            _ = Task.Run(() =>
            {
                foreach (string path in new[] { snapshot, ownAside }.OfType<string>())
                {
                    try
                    {
                        DeleteDirectory(path);
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        LogSetAsideDeletionFailed(path, e);
                    }
                }
            });
        }
    }

    /// <summary>Where removed containers' own directories wait to be deleted (on the data root's file system, for the rename).</summary>
    private string RemovingDirectory => Path.Combine(_options.DataRoot, "removing");

    /// <summary>Deletes what removals of a previous run set aside and could not delete before it ended.</summary>
    private void DeleteSetAside()
    {
        try
        {
            DeleteDirectory(RemovingDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogSetAsideDeletionFailed(RemovingDirectory, e);
        }

        try
        {
            _images.Snapshots.RemoveSetAside();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogSetAsideDeletionFailed("snapshots set aside", e);
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
