using Berth.ClientCompatTests.Infrastructure;
using Berth.IntegrationTests.Infrastructure;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Berth.ClientCompatTests.DockerDotNet;

/// <summary>Docker.DotNet.Enhanced's event stream (System.MonitorEventsAsync) sees a container's life, filtered to it.</summary>
public sealed class EventTests(DaemonFixture fixture) : DockerClientTest(fixture)
{
    [Fact]
    public async Task The_event_stream_reports_create_start_and_die_of_a_container()
    {
        string name = Names.Unique("dn-events");
        string? id = null;
        var events = new ProgressCollector<Message>(until: m => m.Action == "destroy");
        using var monitorCts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Task monitor = Client.System.MonitorEventsAsync(
            new ContainerEventsParameters
            {
                // From a second ago: what happens before the subscription is in place is replayed, so no event can be missed.
                Since = DateTimeOffset.UtcNow.AddSeconds(-1).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
                Filters = new Dictionary<string, IDictionary<string, bool>>
                {
                    ["type"] = new Dictionary<string, bool> { ["container"] = true },
                    ["container"] = new Dictionary<string, bool> { [name] = true },
                },
            },
            events,
            monitorCts.Token);
        try
        {
            id = await Client.CreateBusyboxAsync(name, tty: false, "sh", "-c", "exit 4");
            Assert.True(await Client.Containers.StartContainerAsync(id, new ContainerStartParameters()));
            Assert.Equal(4, (await Client.Containers.WaitContainerAsync(id)).StatusCode);
            await Client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters());

            await events.Done.WaitAsync(TimeSpan.FromSeconds(30));

            IReadOnlyList<Message> seen = events.Values;
            Assert.All(seen, m => Assert.Equal(id, m.Actor.ID));
            Assert.All(seen, m => Assert.Equal("container", m.Type));
            string[] actions = [.. seen.Select(m => m.Action)];
            Assert.Equal(["create", "start", "die", "destroy"], actions.Where(a => a is "create" or "start" or "die" or "destroy"));
            Message die = seen.Single(m => m.Action == "die");
            Assert.Equal("4", die.Actor.Attributes["exitCode"]);
            Assert.Equal(name, die.Actor.Attributes["name"]);
            Assert.Equal("busybox", die.Actor.Attributes["image"]);
            Assert.True(die.TimeNano > 0);
        }
        finally
        {
            await monitorCts.CancelAsync();
            try
            {
                await monitor;
            }
            catch (OperationCanceledException)
            {
                // The way the stream is ended.
            }

            if (id is not null)
            {
                await Client.RemoveContainerQuietlyAsync(id);
            }
        }
    }
}
