using System.Runtime;

namespace Berth.Daemon;

/// <summary>
/// Gives the memory of a burst back to the system once berthd is idle again. The GC keeps the heap a burst grew to
/// (an image bootstrap, a 100 MB `logs`, a build) for the next one; Go's scavenger, which dockerd has, returns it. So
/// when at least <see cref="Burst"/> bytes were allocated since the last trim and almost nothing in the last
/// <see cref="Quiet"/>, berthd runs one aggressive, compacting collection, which decommits the free space, and then
/// trims the native heap the same way. An idle daemon pays one full collection per burst; a busy one never (it is
/// not idle).
/// That first collection cannot take back what the shared array pool keeps: the pool drops a thread's cached array
/// only at the second collection at least 30 s after it first saw it there, and its per-core arrays one per
/// collection once they are a minute old, and an idle daemon collects nothing by itself. So a few follow-up
/// collections come while berthd stays quiet (<see cref="FollowUps"/>, <see cref="FollowUpEvery"/> apart): measured,
/// 2.4 MB of a 6.4 MB heap after a hundred containers with published ports and execs.
/// </summary>
internal sealed partial class IdleMemoryTrimmer(ILogger<IdleMemoryTrimmer> logger) : BackgroundService
{
    // Short enough that a burst's memory is gone a few seconds after it (a client measuring right after its last
    // request sees the idle figure); a pause this long inside a burst costs one needless collection, nothing more.
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(2);
    // Small: a few `run --rm` allocate a few MB, which stay committed in gen0 (3 MB measured) until a collection
    // that an idle daemon never reaches. Collecting a heap of a few MB live takes milliseconds, once per burst.
    private const long Burst = 2L << 20;
    private const long Trickle = 1L << 20;

    // Past the pool's 30 s for thread-cached arrays on the first follow-up; a minute and a half of them in all.
    private static readonly TimeSpan FollowUpEvery = TimeSpan.FromSeconds(32);
    private const int FollowUps = 3;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Start-up (restore, listeners, first requests) counts as a burst: a daemon that is started and left alone
        // settles too.
        var schedule = new TrimSchedule(Burst, Trickle, FollowUpEvery, FollowUps, GC.GetTotalAllocatedBytes());
        using var timer = new PeriodicTimer(Quiet);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (schedule.Tick(GC.GetTotalAllocatedBytes(), Environment.TickCount64))
                {
                    Trim();
                    schedule.Collected(GC.GetTotalAllocatedBytes());
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Trim()
    {
        long before = logger.IsEnabled(LogLevel.Debug) ? Environment.WorkingSet : 0;
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        Berth.Interop.NativeHeap.Trim();
        if (logger.IsEnabled(LogLevel.Debug))
        {
            GCMemoryInfo heap = GC.GetGCMemoryInfo(GCKind.Any);
            LogTrimmed(before >> 10, Environment.WorkingSet >> 10, heap.HeapSizeBytes >> 10, heap.TotalCommittedBytes >> 10);
        }
    }

    [LoggerMessage(EventId = 900, Level = LogLevel.Debug, Message = "idle: memory trimmed, RSS {BeforeKb} KB -> {AfterKb} KB (GC heap {HeapKb} KB, committed {CommittedKb} KB)")]
    private partial void LogTrimmed(long beforeKb, long afterKb, long heapKb, long committedKb);
}
