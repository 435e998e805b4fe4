using System.Collections.Concurrent;
using Berth.Api.Types;
using Berth.Interop;
using Berth.Primitives;
using Microsoft.Extensions.Logging;

namespace Berth.Engine.Containers;

/// <summary>
/// Restart policies as Docker's restart manager applies them: no, always, unless-stopped, on-failure[:max]. An exit
/// the policy wants undone puts the container in <c>restarting</c> for a back-off (100 ms, doubling to 1 min, back to
/// 100 ms after 10 s of running); a stop or kill through the API is never undone and cancels a pending restart.
/// </summary>
public sealed partial class ContainerService : IContainerLifecycleBackend
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan BackoffResetAfter = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, RestartTracker> _restarts = new(StringComparer.Ordinal);

    /// <summary>Docker's checks of a create's (or update's) restart policy.</summary>
    internal static void ValidateRestartPolicy(HostConfig hostConfig)
    {
        RestartPolicy? policy = hostConfig.RestartPolicy;
        if (policy is null)
        {
            return;
        }

        switch (policy.Name)
        {
            case "" or "no" or "always" or "unless-stopped":
                if (policy.MaximumRetryCount != 0)
                {
                    throw EngineException.Invalid("invalid restart policy: maximum retry count can only be used with 'on-failure'");
                }

                break;
            case "on-failure":
                if (policy.MaximumRetryCount < 0)
                {
                    throw EngineException.Invalid("invalid restart policy: maximum retry count cannot be negative");
                }

                break;
            default:
                throw EngineException.Invalid($"invalid restart policy: unknown policy '{policy.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'");
        }

        if (hostConfig.AutoRemove && policy.Name is not ("" or "no"))
        {
            throw EngineException.Invalid("can't create 'AutoRemove' container with restart policy");
        }
    }

    /// <summary>
    /// Under the transition lock, at an exit: whether the policy restarts the container. If so the record becomes
    /// <c>restarting</c> with one more restart counted, and the back-off to wait is returned.
    /// </summary>
    private (ContainerRecord Record, PendingRestart? Restart) ApplyRestartPolicy(ContainerRecord exited)
    {
        RestartPolicy? policy = exited.HostConfig.RestartPolicy;
        if (_shutdown.IsCancellationRequested || exited.HasBeenManuallyStopped || policy is null)
        {
            return (exited, null);
        }

        bool restart = policy.Name switch
        {
            "always" or "unless-stopped" => true,
            "on-failure" => exited.State.ExitCode != 0 && (policy.MaximumRetryCount == 0 || exited.RestartCount < policy.MaximumRetryCount),
            _ => false,
        };
        if (!restart)
        {
            return (exited, null);
        }

        RestartTracker tracker = _restarts.GetOrAdd(exited.Id, _ => new RestartTracker());
        TimeSpan ran = exited.State.FinishedAt is { } finished && exited.State.StartedAt is { } started ? finished - started : TimeSpan.Zero;
        PendingRestart pending;
        lock (tracker)
        {
            if (ran >= BackoffResetAfter)
            {
                tracker.Backoff = TimeSpan.Zero;
            }

            tracker.Backoff = tracker.Backoff == TimeSpan.Zero ? FirstBackoff : TimeSpan.FromTicks(Math.Min(tracker.Backoff.Ticks * 2, MaxBackoff.Ticks));
            tracker.Pending?.Cancel();
            pending = new PendingRestart(tracker.Backoff);
            tracker.Pending = pending;
        }

        return (exited with { RestartCount = exited.RestartCount + 1, State = exited.State with { Status = ContainerStatus.Restarting } }, pending);
    }

    /// <summary>Waits out the back-off, then starts the container again unless a stop, a removal or the daemon's stop came first.</summary>
    private async Task RestartAfterBackoffAsync(ContainerEntry entry, PendingRestart pending)
    {
        try
        {
            await Task.WhenAny(Task.Delay(pending.Delay, _shutdown.Token), pending.Cancelled).ConfigureAwait(false);
            if (pending.IsCancellationRequested || _shutdown.IsCancellationRequested)
            {
                return;
            }

            await entry.Transition.WaitAsync(_shutdown.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            return; // the daemon is stopping: the next start decides by the policy
        }

        try
        {
            if (pending.IsCancellationRequested || entry.Record.State.Status != ContainerStatus.Restarting || !_containers.ContainsKey(entry.Record.Id))
            {
                return;
            }

            LogRestarting(entry.Record.Id, entry.Record.RestartCount, pending.Delay.TotalMilliseconds);
            await StartLockedAsync(entry, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is EngineException or IOException or UnauthorizedAccessException or NativeException or TimeoutException)
        {
            LogRestartFailed(entry.Record.Id, e);
            ContainerRecord record = entry.Record;
            record = record with { State = record.State with { Status = ContainerStatus.Exited, Error = e.Message } };
            entry.Publish(record);
            Persist(record);
            entry.SignalExit(record.State.ExitCode);
        }
        finally
        {
            entry.Transition.Release();
        }
    }

    /// <summary>
    /// A stop or kill through the API: the policy must not undo it, and a pending restart is cancelled (the
    /// container is then simply exited). True when the container was only waiting to restart.
    /// </summary>
    private async Task<bool> MarkStoppedByUserAsync(ContainerEntry entry, CancellationToken cancellationToken)
    {
        await entry.Transition.WaitAsync(cancellationToken).ConfigureAwait(false);
        bool wasRestarting;
        ContainerRecord record;
        try
        {
            CancelPendingRestart(entry.Record.Id);
            record = entry.Record;
            wasRestarting = record.State.Status == ContainerStatus.Restarting;
            if (!_containers.ContainsKey(record.Id) || (record.HasBeenManuallyStopped && !wasRestarting))
            {
                return false;
            }

            record = record with
            {
                HasBeenManuallyStopped = true,
                State = wasRestarting ? record.State with { Status = ContainerStatus.Exited } : record.State,
            };
            entry.Publish(record);
            Persist(record);
        }
        finally
        {
            entry.Transition.Release();
        }

        if (wasRestarting)
        {
            entry.SignalExit(record.State.ExitCode);
        }

        return wasRestarting;
    }

    /// <summary>A start through the API (or at boot) begins afresh: no restarts counted, not stopped by the user.</summary>
    private void ResetRestartPolicy(ContainerEntry entry)
    {
        CancelPendingRestart(entry.Record.Id);
        if (_restarts.TryGetValue(entry.Record.Id, out RestartTracker? tracker))
        {
            lock (tracker)
            {
                tracker.Backoff = TimeSpan.Zero;
            }
        }

        ContainerRecord record = entry.Record;
        if (record.RestartCount != 0 || record.HasBeenManuallyStopped)
        {
            entry.Publish(record with { RestartCount = 0, HasBeenManuallyStopped = false });
        }
    }

    private void CancelPendingRestart(string id)
    {
        if (_restarts.TryGetValue(id, out RestartTracker? tracker))
        {
            lock (tracker)
            {
                tracker.Pending?.Cancel();
                tracker.Pending = null;
            }
        }
    }

    /// <summary>A restart the daemon's stop interrupted: the container is simply exited; the boot pass decides again.</summary>
    private ContainerRecord SettleInterruptedRestart(ContainerEntry entry)
    {
        ContainerRecord record = entry.Record with { State = entry.Record.State with { Status = ContainerStatus.Exited } };
        entry.Publish(record);
        Persist(record);
        return record;
    }

    /// <summary>
    /// At daemon start, as Docker: <c>always</c> containers start again, <c>unless-stopped</c> ones unless stopped by
    /// hand, <c>on-failure</c> ones that failed (not by hand) with retries left.
    /// </summary>
    private async Task StartByPolicyAtBootAsync(CancellationToken cancellationToken)
    {
        foreach (ContainerEntry entry in _containers.Values.ToList())
        {
            ContainerRecord record = entry.Record;
            RestartPolicy? policy = record.HostConfig.RestartPolicy;
            if (record.State.Status != ContainerStatus.Exited || policy is null)
            {
                continue;
            }

            bool start = policy.Name switch
            {
                "always" => true,
                "unless-stopped" => !record.HasBeenManuallyStopped,
                "on-failure" => !record.HasBeenManuallyStopped && record.State.ExitCode != 0
                    && (policy.MaximumRetryCount == 0 || record.RestartCount < policy.MaximumRetryCount),
                _ => false,
            };
            if (!start)
            {
                continue;
            }

            try
            {
                await StartAsync(record.Id, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is EngineException or IOException or UnauthorizedAccessException or NativeException or TimeoutException)
            {
                LogRestartFailed(record.Id, e);
            }
        }
    }

    public Task<ContainerUpdateResponse> UpdateAsync(string nameOrId, ContainerUpdateRequest request, CancellationToken cancellationToken) =>
        UpdateLockedAsync(Lookup(nameOrId), request, cancellationToken);

    private async Task<ContainerUpdateResponse> UpdateLockedAsync(ContainerEntry entry, ContainerUpdateRequest request, CancellationToken cancellationToken)
    {
        await entry.Transition.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ContainerRecord record = entry.Record;
            HostConfig host = record.HostConfig;
            if (request.RestartPolicy is { } policy && policy.Name.Length > 0)
            {
                if (host.AutoRemove && policy.Name != "no")
                {
                    throw EngineException.Invalid("Restart policy cannot be updated because AutoRemove is enabled for the container");
                }

                ValidateRestartPolicy(host with { RestartPolicy = policy });
                host = host with { RestartPolicy = policy };
            }

            host = host with
            {
                Memory = request.Memory is > 0 ? request.Memory.Value : host.Memory,
                CpuShares = request.CpuShares is > 0 ? request.CpuShares.Value : host.CpuShares,
                NanoCpus = request.NanoCpus is > 0 ? request.NanoCpus.Value : host.NanoCpus,
                PidsLimit = request.PidsLimit is not null and not 0 ? request.PidsLimit : host.PidsLimit,
            };
            record = record with { HostConfig = host };
            entry.Publish(record);
            Persist(record);
            Emit(record, "update");
            var warnings = new List<string>();
            if (record.IsRunning && (request.Memory is > 0 || request.CpuShares is > 0 || request.NanoCpus is > 0 || request.PidsLimit is not null and not 0))
            {
                warnings.Add("resource limits are stored and apply from the container's next start");
            }

            return new ContainerUpdateResponse { Warnings = warnings };
        }
        finally
        {
            entry.Transition.Release();
        }
    }

    private sealed class RestartTracker
    {
        public TimeSpan Backoff { get; set; }

        public PendingRestart? Pending { get; set; }
    }

    /// <summary>One scheduled restart: its back-off, and the cancellation a stop, a start or a removal triggers.</summary>
    private sealed class PendingRestart(TimeSpan delay)
    {
        private readonly TaskCompletionSource _cancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TimeSpan Delay { get; } = delay;

        /// <summary>Completes when the restart is called off.</summary>
        public Task Cancelled => _cancelled.Task;

        public bool IsCancellationRequested => _cancelled.Task.IsCompleted;

        public void Cancel() => _cancelled.TrySetResult();
    }

    [LoggerMessage(EventId = 130, Level = LogLevel.Information, Message = "container {Id}: restart {Count} by its policy after {Milliseconds:F0} ms")]
    private partial void LogRestarting(string id, int count, double milliseconds);

    [LoggerMessage(EventId = 131, Level = LogLevel.Warning, Message = "container {Id}: restart by its policy failed")]
    private partial void LogRestartFailed(string id, Exception exception);
}
