using Berth.Api.Types;

namespace Berth.Engine.Containers;

/// <summary>docker stats: samples of the container's cgroup counters, each carrying the previous one's CPU figures.</summary>
public sealed partial class ContainerService : IContainerStatsBackend
{
    private static readonly TimeSpan StatsInterval = TimeSpan.FromSeconds(1);

    public async Task StatsAsync(string nameOrId, bool stream, bool oneShot, Func<ContainerStatsResponse, Task> write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        ContainerEntry entry = Lookup(nameOrId);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _shutdown.Token);
        ContainerStatsResponse? previous = null;
        bool first = true;
        while (true)
        {
            ContainerRecord record = entry.Record;
            if (!record.IsRunning)
            {
                // Docker answers a stopped container with one empty sample and ends the stream.
                await write(new ContainerStatsResponse { Name = record.Name, Id = record.Id }).ConfigureAwait(false);
                return;
            }

            ContainerStatsResponse sample = CgroupStatsReader.Sample(record.Id, record.Name, record.State.Pid, _host);
            if (previous is not null)
            {
                sample = sample with { Preread = previous.Read, PrecpuStats = previous.CpuStats };
            }

            // Without streaming (and without one-shot) the first sample only primes the CPU figures.
            if (stream || oneShot || !first)
            {
                await write(sample).ConfigureAwait(false);
                if (!stream)
                {
                    return;
                }
            }

            first = false;
            previous = sample;
            try
            {
                await Task.Delay(StatsInterval, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
