using Berth.Api.Types;

namespace Berth.Engine.Containers;

/// <summary>The health check's view of a container: its effective check and the place its results are recorded.</summary>
public sealed partial class ContainerService
{
    /// <summary>Every running container (the health checker starts with them when the daemon starts).</summary>
    internal IEnumerable<ContainerRecord> RunningRecords => Records.Where(r => r.State.Status == ContainerStatus.Running);

    internal ContainerRecord? Find(string id) => _containers.TryGetValue(id, out ContainerEntry? entry) ? entry.Record : null;

    /// <summary>
    /// The container's health check: its own, with what it leaves out taken from the image's HEALTHCHECK, as Docker
    /// merges them; null when there is none or it is disabled (<c>NONE</c>).
    /// </summary>
    internal HealthConfig? HealthCheckOf(ContainerRecord record)
    {
        HealthConfig? own = record.Config.Healthcheck;
        HealthConfig? image = _images.Snapshot.TryGetValue(record.ImageId, out global::Berth.Images.ImageView? view) && view.Record.Config.Config.Healthcheck is { } h
            ? new HealthConfig { Test = h.Test, Interval = h.Interval, Timeout = h.Timeout, Retries = h.Retries, StartPeriod = h.StartPeriod, StartInterval = h.StartInterval }
            : null;
        HealthConfig? merged = own is null ? image : image is null ? own : own with
        {
            Test = own.Test is { Count: > 0 } ? own.Test : image.Test,
            Interval = own.Interval != 0 ? own.Interval : image.Interval,
            Timeout = own.Timeout != 0 ? own.Timeout : image.Timeout,
            Retries = own.Retries != 0 ? own.Retries : image.Retries,
            StartPeriod = own.StartPeriod != 0 ? own.StartPeriod : image.StartPeriod,
            StartInterval = own.StartInterval != 0 ? own.StartInterval : image.StartInterval,
        };
        return merged?.Test is { Count: > 0 } test && test[0] != "NONE" ? merged : null;
    }

    /// <summary>
    /// Applies <paramref name="update"/> to the health of the run that started at <paramref name="startedAt"/>; null
    /// (nothing recorded) when that run is over.
    /// </summary>
    internal async Task<ContainerHealth?> UpdateHealthAsync(string id, DateTimeOffset? startedAt, Func<ContainerHealth?, ContainerHealth> update, CancellationToken cancellationToken)
    {
        if (!_containers.TryGetValue(id, out ContainerEntry? entry))
        {
            return null;
        }

        await entry.Transition.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ContainerRecord record = entry.Record;
            if (record.State.Status != ContainerStatus.Running || record.State.StartedAt != startedAt)
            {
                return null;
            }

            string? before = record.State.Health?.Status;
            ContainerHealth health = update(record.State.Health);
            record = record with { State = record.State with { Health = health } };
            if (before is not null && health.Status != before)
            {
                // Emitted before the new status is visible: whoever sees "unhealthy" in inspect finds its event too.
                Emit(record, "health_status: " + health.Status);
            }

            entry.Publish(record);
            Persist(record);
            return health;
        }
        finally
        {
            entry.Transition.Release();
        }
    }
}
