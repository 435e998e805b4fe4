using Berth.Primitives;
using Microsoft.Extensions.Logging;

namespace Berth.Engine.Containers;

/// <summary>Pausing and unpausing: the runtime freezes and thaws the container's cgroup; the state says "paused" meanwhile.</summary>
public sealed partial class ContainerService
{
    public async Task PauseAsync(string nameOrId, CancellationToken cancellationToken)
    {
        ContainerEntry entry = Lookup(nameOrId);
        await entry.Transition.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ContainerRecord record = entry.Record;
            if (record.State.Status == ContainerStatus.Paused)
            {
                throw EngineException.Conflict($"Container {record.Id} is already paused");
            }

            if (record.State.Status != ContainerStatus.Running)
            {
                throw EngineException.Conflict($"Container {record.Id} is not running");
            }

            await _runtime.PauseAsync(record.Id, cancellationToken).ConfigureAwait(false);
            SetPaused(entry, paused: true);
            Emit(entry.Record, "pause");
            LogPaused(record.Id, paused: true);
        }
        finally
        {
            entry.Transition.Release();
        }
    }

    public async Task UnpauseAsync(string nameOrId, CancellationToken cancellationToken)
    {
        ContainerEntry entry = Lookup(nameOrId);
        await entry.Transition.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ContainerRecord record = entry.Record;
            if (record.State.Status != ContainerStatus.Paused)
            {
                throw EngineException.Conflict($"Container {record.Id} is not paused");
            }

            await _runtime.ResumeAsync(record.Id, cancellationToken).ConfigureAwait(false);
            SetPaused(entry, paused: false);
            Emit(entry.Record, "unpause");
            LogPaused(record.Id, paused: false);
        }
        finally
        {
            entry.Transition.Release();
        }
    }

    /// <summary>
    /// SIGKILL for a paused container: a frozen process cannot act on a signal, so the container is thawed right after,
    /// and dies at once. Other signals are refused, as Docker does.
    /// </summary>
    private async Task KillPausedAsync(ContainerEntry entry, int signal, bool all, CancellationToken cancellationToken)
    {
        if (signal != Signals.SIGKILL)
        {
            throw EngineException.Conflict($"Cannot kill container: {entry.Record.Id}: Container {entry.Record.Id} is paused. Unpause the container before stopping or killing");
        }

        await _runtime.KillAsync(entry.Record.Id, signal, all, cancellationToken).ConfigureAwait(false);
        await _runtime.ResumeAsync(entry.Record.Id, cancellationToken).ConfigureAwait(false);
    }

    private void SetPaused(ContainerEntry entry, bool paused)
    {
        ContainerRecord record = entry.Record;
        // Only a live container changes here: if it exited meanwhile, the exit's record stands.
        if (record.State.Status is ContainerStatus.Running or ContainerStatus.Paused)
        {
            entry.Publish(record with { State = record.State with { Status = paused ? ContainerStatus.Paused : ContainerStatus.Running } });
            Persist(entry.Record);
        }
    }

    [LoggerMessage(EventId = 130, Level = LogLevel.Information, Message = "container {Id} paused: {Paused}")]
    private partial void LogPaused(string id, bool paused);
}
