namespace Berth.Daemon;

/// <summary>
/// When <see cref="IdleMemoryTrimmer"/> collects, decided at each tick from the bytes allocated so far and a
/// monotonic clock: at the first quiet tick (less than <c>trickle</c> allocated since the previous one) after a burst
/// (at least <c>burst</c> allocated since the last collection), then up to <c>followUps</c> more quiet ticks at
/// least <c>followUpEvery</c> apart. A new burst starts the follow-ups again.
/// </summary>
internal sealed class TrimSchedule(long burst, long trickle, TimeSpan followUpEvery, int followUps, long allocatedAtStart)
{
    // Nothing collected yet: everything allocated since the process started counts toward the first burst.
    private long _collectedAt;
    private long _previous = allocatedAtStart;
    private int _followUpsLeft;
    private long _nextFollowUpMs;

    /// <summary>Whether to collect now. Call <see cref="Collected"/> after collecting.</summary>
    public bool Tick(long allocated, long nowMs)
    {
        bool quiet = allocated - _previous < trickle;
        _previous = allocated;
        if (!quiet)
        {
            return false;
        }

        if (allocated - _collectedAt >= burst)
        {
            _followUpsLeft = followUps;
        }
        else if (_followUpsLeft == 0 || nowMs < _nextFollowUpMs)
        {
            return false;
        }
        else
        {
            _followUpsLeft--;
        }

        _nextFollowUpMs = nowMs + (long)followUpEvery.TotalMilliseconds;
        return true;
    }

    /// <summary>The collection is done: what the process had allocated by then is behind the next burst.</summary>
    public void Collected(long allocated)
    {
        _collectedAt = allocated;
        _previous = allocated;
    }
}
