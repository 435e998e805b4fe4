using Berth.Api.Types;
using Berth.Engine.Containers;
using Berth.Engine.Events;
using Berth.Primitives;

namespace Berth.UnitTests;

public class LifecycleTests
{
    private static Dictionary<string, IReadOnlyList<string>> Filters(params (string Key, string Value)[] pairs) =>
        pairs.GroupBy(p => p.Key).ToDictionary(g => g.Key, g => (IReadOnlyList<string>)[.. g.Select(p => p.Value)]);

    private static EventMessage Container(string action, string id = "abc123", string name = "web", string image = "busybox", params (string, string)[] extra)
    {
        var attributes = new Dictionary<string, string> { ["name"] = name, ["image"] = image };
        foreach ((string k, string v) in extra)
        {
            attributes[k] = v;
        }

        return new EventMessage { Type = "container", Action = action, Actor = new EventActor { ID = id, Attributes = attributes } };
    }

    [Fact]
    public void Event_filters_match_as_docker_does()
    {
        Assert.True(new EventFilter(Filters(("container", "web"))).Matches(Container("start")));
        Assert.True(new EventFilter(Filters(("container", "abc"))).Matches(Container("start")));
        Assert.False(new EventFilter(Filters(("container", "db"))).Matches(Container("start")));
        Assert.True(new EventFilter(Filters(("event", "start"), ("event", "die"))).Matches(Container("die")));
        Assert.False(new EventFilter(Filters(("event", "start"))).Matches(Container("die")));
        Assert.True(new EventFilter(Filters(("event", "health_status"))).Matches(Container("health_status: healthy")));
        Assert.False(new EventFilter(Filters(("event", "health"))).Matches(Container("health_status: healthy")));
        Assert.True(new EventFilter(Filters(("image", "busybox:latest"))).Matches(Container("start")));
        Assert.True(new EventFilter(Filters(("label", "tier=web"))).Matches(Container("start", extra: ("tier", "web"))));
        Assert.False(new EventFilter(Filters(("label", "tier=db"))).Matches(Container("start", extra: ("tier", "web"))));
        Assert.False(new EventFilter(Filters(("type", "image"))).Matches(Container("start")));
        Assert.Equal("invalid filter 'colour'", Assert.Throws<EngineException>(() => new EventFilter(Filters(("colour", "red")))).Message);
    }

    [Fact]
    public void Event_times_parse_the_forms_clients_send()
    {
        long now = 1_700_000_000_000_000_000;
        Assert.Equal(1_700_000_000_123_456_789, EventTime.Parse("1700000000.123456789", now, "since"));
        Assert.Equal(1_700_000_000_500_000_000, EventTime.Parse("1700000000.5", now, "since"));
        Assert.Equal(1_700_000_000_000_000_000, EventTime.Parse("1700000000", now, "since"));
        Assert.Equal(now - 600_000_000_000, EventTime.Parse("10m", now, "since"));
        Assert.Null(EventTime.Parse("", now, "since"));
    }

    [Fact]
    public async Task The_event_service_replays_history_between_since_and_until_then_ends()
    {
        var log = new EventLog();
        EventMessage first = log.Publish("container", "create", "a");
        EventMessage second = log.Publish("container", "start", "a");
        log.Publish("container", "die", "a");
        using var service = new EventService(log);
        var seen = new List<string>();
        await foreach (EventMessage m in service.Read(Nanos(first.TimeNano), Nanos(second.TimeNano), Filters(), CancellationToken.None))
        {
            seen.Add(m.Action);
        }

        Assert.Equal(["create", "start"], seen);
    }

    private static string Nanos(long nanos) => $"{nanos / 1_000_000_000}.{nanos % 1_000_000_000:000000000}";

    [Fact]
    public void Health_turns_unhealthy_after_retries_and_healthy_at_once()
    {
        var fail = new HealthcheckResult { ExitCode = 1 };
        ContainerHealth health = new();
        health = HealthMonitor.Next(health, fail, retries: 2, countsAsFailure: false);
        Assert.Equal(("starting", 0), (health.Status, health.FailingStreak)); // in the start period failures do not count
        health = HealthMonitor.Next(health, fail, 2, true);
        Assert.Equal(("starting", 1), (health.Status, health.FailingStreak));
        health = HealthMonitor.Next(health, fail, 2, true);
        Assert.Equal(("unhealthy", 2), (health.Status, health.FailingStreak));
        for (int i = 0; i < 5; i++)
        {
            health = HealthMonitor.Next(health, fail, 2, true);
        }

        Assert.Equal(HealthMonitor.MaxLogEntries, health.Log.Count);
        health = HealthMonitor.Next(health, new HealthcheckResult { ExitCode = 0 }, 2, true);
        Assert.Equal(("healthy", 0), (health.Status, health.FailingStreak));
        Assert.Equal("30s", HealthMonitor.GoDuration(TimeSpan.FromSeconds(30)));
        Assert.Equal("200ms", HealthMonitor.GoDuration(TimeSpan.FromMilliseconds(200)));
    }
}
