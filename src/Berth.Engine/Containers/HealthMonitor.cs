using System.Collections.Concurrent;
using System.Globalization;
using Berth.Api.Types;
using Berth.Engine.Events;
using Microsoft.Extensions.Logging;

namespace Berth.Engine.Containers;

/// <summary>
/// Docker's health checks: while a container with a check runs, its test is run as an exec every interval (every
/// start interval during the start period) with a timeout; <c>retries</c> failures in a row make it unhealthy, a
/// success healthy. Failures in the start period do not count. The last 5 results are kept in State.Health, and
/// each change of status is a <c>health_status: STATUS</c> event. The checker follows the container's start and
/// die events, so it ends with the run it checks.
/// </summary>
public sealed partial class HealthMonitor(ContainerService containers, ExecService execs, EventLog events, ILogger<HealthMonitor> logger) : IDisposable
{
    public const int MaxLogEntries = 5;
    private static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DefaultStartInterval = TimeSpan.FromSeconds(5);
    private const int DefaultRetries = 3;

    private readonly ConcurrentDictionary<string, CancellationTokenSource> _checkers = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private EventSubscription? _subscription;

    /// <summary>Begins checking the running containers and follows starts and exits from now on.</summary>
    public void Start()
    {
        (_, _subscription) = events.Subscribe();
        _ = FollowAsync(_subscription);
        foreach (ContainerRecord record in containers.RunningRecords)
        {
            Begin(record);
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _subscription?.Dispose();
        foreach (string id in _checkers.Keys)
        {
            End(id);
        }

        _stopping.Dispose();
    }

    private async Task FollowAsync(EventSubscription subscription)
    {
        try
        {
            await foreach (EventMessage message in subscription.Reader.ReadAllAsync(_stopping.Token).ConfigureAwait(false))
            {
                if (message.Type != "container")
                {
                    continue;
                }

                switch (message.Action)
                {
                    case "start" when containers.Find(message.Actor.ID) is { } record:
                        Begin(record);
                        break;
                    case "die" or "destroy":
                        End(message.Actor.ID);
                        break;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Begin(ContainerRecord record)
    {
        if (containers.HealthCheckOf(record) is not { } check)
        {
            return;
        }

        End(record.Id);
        var cancel = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        _checkers[record.Id] = cancel;
        _ = CheckAsync(record, check, cancel.Token);
    }

    private void End(string id)
    {
        if (_checkers.TryRemove(id, out CancellationTokenSource? cancel))
        {
            cancel.Cancel();
            cancel.Dispose();
        }
    }

    private async Task CheckAsync(ContainerRecord record, HealthConfig check, CancellationToken cancellationToken)
    {
        string id = record.Id;
        DateTimeOffset? startedAt = record.State.StartedAt;
        TimeSpan interval = Duration(check.Interval, DefaultInterval);
        TimeSpan timeout = Duration(check.Timeout, DefaultTimeout);
        TimeSpan startPeriod = Duration(check.StartPeriod, TimeSpan.Zero);
        TimeSpan startInterval = Duration(check.StartInterval, DefaultStartInterval);
        int retries = check.Retries > 0 ? check.Retries : DefaultRetries;
        IReadOnlyList<string> command = check.Test![0] == "CMD-SHELL"
            ? [.. record.Config.Shell is { Count: > 0 } shell ? shell : ["/bin/sh", "-c"], string.Join(' ', check.Test.Skip(1))]
            : [.. check.Test.Skip(1)];
        try
        {
            ContainerHealth? health = await containers.UpdateHealthAsync(id, startedAt, current => current ?? new ContainerHealth(), cancellationToken).ConfigureAwait(false);
            while (health is not null)
            {
                bool inStartPeriod = DateTimeOffset.UtcNow - (startedAt ?? DateTimeOffset.UtcNow) < startPeriod;
                await Task.Delay(inStartPeriod && health.Status == "starting" ? startInterval : interval, cancellationToken).ConfigureAwait(false);
                DateTimeOffset start = DateTimeOffset.UtcNow;
                HealthcheckResult result = await ProbeAsync(id, command, timeout, start, cancellationToken).ConfigureAwait(false);
                bool countsAsFailure = start - (startedAt ?? start) >= startPeriod;
                string before = health.Status;
                health = await containers.UpdateHealthAsync(id, startedAt, current => Next(current, result, retries, countsAsFailure), cancellationToken).ConfigureAwait(false);
                if (health is not null && health.Status != before)
                {
                    LogHealthChanged(id, health.Status); // the event went out with the change (UpdateHealthAsync)
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (e is Primitives.EngineException or IOException or System.Net.Sockets.SocketException)
        {
            LogCheckFailed(id, e); // the container went away under the probe
        }
    }

    private async Task<HealthcheckResult> ProbeAsync(string id, IReadOnlyList<string> command, TimeSpan timeout, DateTimeOffset start, CancellationToken cancellationToken)
    {
        (int ExitCode, string Output)? outcome;
        try
        {
            outcome = await execs.ProbeAsync(id, command, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Primitives.EngineException e) when (e.Kind == Primitives.ErrorKind.Conflict)
        {
            throw new OperationCanceledException(e.Message, e); // not running any more: the die event ends this checker
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            // The monitor connection failed: a failed probe; if the container is gone the record update ends the checker.
            return new HealthcheckResult { Start = ContainerViews.Time(start), End = ContainerViews.Time(DateTimeOffset.UtcNow), ExitCode = -1, Output = e.Message };
        }

        return new HealthcheckResult
        {
            Start = ContainerViews.Time(start),
            End = ContainerViews.Time(DateTimeOffset.UtcNow),
            ExitCode = outcome?.ExitCode ?? -1,
            Output = outcome?.Output ?? $"Health check exceeded timeout ({GoDuration(timeout)})",
        };
    }

    /// <summary>Docker's rules: 0 is a success (healthy at once), anything else a failure counted outside the start period.</summary>
    public static ContainerHealth Next(ContainerHealth? current, HealthcheckResult result, int retries, bool countsAsFailure)
    {
        current ??= new ContainerHealth();
        IReadOnlyList<HealthcheckResult> log = [.. current.Log.Append(result).TakeLast(MaxLogEntries)];
        if (result.ExitCode == 0)
        {
            return new ContainerHealth { Status = "healthy", FailingStreak = 0, Log = log };
        }

        if (!countsAsFailure && current.Status == "starting")
        {
            return current with { Log = log };
        }

        int streak = current.FailingStreak + 1;
        return new ContainerHealth { Status = streak >= retries ? "unhealthy" : current.Status, FailingStreak = streak, Log = log };
    }

    private static TimeSpan Duration(long nanoseconds, TimeSpan fallback) => nanoseconds > 0 ? TimeSpan.FromTicks(nanoseconds / 100) : fallback;

    /// <summary>Go's time.Duration text for the timeouts Docker reports: 30s, 200ms, 1m30s.</summary>
    public static string GoDuration(TimeSpan value)
    {
        if (value < TimeSpan.FromSeconds(1))
        {
            return value.TotalMilliseconds.ToString(CultureInfo.InvariantCulture) + "ms";
        }

        string seconds = (value.TotalSeconds % 60).ToString(CultureInfo.InvariantCulture) + "s";
        int minutes = (int)value.TotalMinutes;
        return minutes == 0 ? seconds : minutes >= 60 ? $"{minutes / 60}h{minutes % 60}m{seconds}" : $"{minutes}m{seconds}";
    }

    [LoggerMessage(EventId = 140, Level = LogLevel.Information, Message = "container {Id} is {Status}")]
    private partial void LogHealthChanged(string id, string status);

    [LoggerMessage(EventId = 141, Level = LogLevel.Debug, Message = "health check of container {Id} ended")]
    private partial void LogCheckFailed(string id, Exception exception);
}
