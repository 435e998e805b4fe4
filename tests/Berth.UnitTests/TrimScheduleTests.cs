using Berth.Daemon;

namespace Berth.UnitTests;

/// <summary>When berthd's idle trimmer collects: once after a burst, then a few follow-ups while it stays quiet.</summary>
public class TrimScheduleTests
{
    private const long MB = 1 << 20;
    private const long Second = 1000;

    // The trimmer's shape: ticks every 2 s, a burst is 2 MB, a tick with less than 1 MB is quiet, 3 follow-ups 32 s apart.
    private static TrimSchedule NewSchedule() => new(burst: 2 * MB, trickle: MB, followUpEvery: TimeSpan.FromSeconds(32), followUps: 3, allocatedAtStart: 0);

    [Fact]
    public void A_burst_is_collected_at_the_first_quiet_tick_not_while_it_goes_on()
    {
        TrimSchedule schedule = NewSchedule();
        Assert.False(schedule.Tick(allocated: 5 * MB, nowMs: 2 * Second));  // 5 MB in the last 2 s: busy
        Assert.False(schedule.Tick(allocated: 9 * MB, nowMs: 4 * Second));
        Assert.True(schedule.Tick(allocated: 9 * MB + 1000, nowMs: 6 * Second));
    }

    [Fact]
    public void After_a_burst_three_follow_ups_come_32_s_apart_while_quiet_and_then_none()
    {
        TrimSchedule schedule = NewSchedule();
        long allocated = 3 * MB;
        Assert.False(schedule.Tick(allocated, 2 * Second));
        Assert.True(schedule.Tick(allocated, 4 * Second));
        schedule.Collected(allocated);

        var collectedAt = new List<long>();
        for (long now = 6 * Second; now <= 300 * Second; now += 2 * Second)
        {
            allocated += 10_000; // requests now and then: less than a burst
            if (schedule.Tick(allocated, now))
            {
                collectedAt.Add(now);
                schedule.Collected(allocated);
            }
        }

        Assert.Equal([36 * Second, 68 * Second, 100 * Second], collectedAt);
    }

    [Fact]
    public void A_new_burst_is_collected_at_once_and_starts_the_follow_ups_again()
    {
        TrimSchedule schedule = NewSchedule();
        Assert.False(schedule.Tick(3 * MB, 2 * Second));
        Assert.True(schedule.Tick(3 * MB, 4 * Second));
        schedule.Collected(3 * MB);
        Assert.True(schedule.Tick(3 * MB, 36 * Second)); // first follow-up
        schedule.Collected(3 * MB);

        Assert.False(schedule.Tick(6 * MB, 38 * Second)); // a new burst, still going on
        Assert.True(schedule.Tick(6 * MB, 40 * Second));  // quiet again: collected without waiting for the follow-up time
        schedule.Collected(6 * MB);

        int followUps = 0;
        for (long now = 42 * Second; now <= 400 * Second; now += 2 * Second)
        {
            if (schedule.Tick(6 * MB, now))
            {
                followUps++;
                schedule.Collected(6 * MB);
            }
        }

        Assert.Equal(3, followUps);
    }

    [Fact]
    public void A_daemon_that_only_trickles_is_never_collected()
    {
        TrimSchedule schedule = NewSchedule();
        long allocated = 0;
        for (long now = 2 * Second; now <= 60 * Second; now += 2 * Second)
        {
            allocated += 50_000;
            Assert.False(schedule.Tick(allocated, now));
        }
    }
}
