using System.Threading.Channels;
using Berth.Api.Types;

namespace Berth.Engine.Events;

/// <summary>
/// The engine's event stream: every service publishes what happened (container create/start/die..., image
/// pull/tag/delete..., network and volume changes) here. The most recent <see cref="Capacity"/> events stay
/// in a ring so `events --since` can replay recent history; live subscribers get each new event through
/// their own bounded channel, and a subscriber too slow to keep up loses the oldest of its backlog, never
/// blocking the publisher.
/// </summary>
public sealed class EventLog
{
    /// <summary>Docker keeps 256; a few more cost nothing.</summary>
    public const int Capacity = 1024;

    private readonly EventMessage[] _ring = new EventMessage[Capacity];
    private readonly List<Channel<EventMessage>> _subscribers = [];
    private readonly Lock _gate = new();
    private long _count;
    private long _lastNanos;

    /// <summary>Records an event. <paramref name="attributes"/> are the actor's (name, image, exitCode, signal...).</summary>
    public EventMessage Publish(string type, string action, string actorId, IReadOnlyDictionary<string, string>? attributes = null)
    {
        lock (_gate)
        {
            // Strictly increasing timestamps keep --since/--until boundaries and replay order exact.
            long nanos = Math.Max((DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100, _lastNanos + 1);
            _lastNanos = nanos;
            bool legacy = type is "container" or "image";
            var message = new EventMessage
            {
                Type = type,
                Action = action,
                Actor = new EventActor { ID = actorId, Attributes = attributes is null ? [] : new Dictionary<string, string>(attributes, StringComparer.Ordinal) },
                Time = nanos / 1_000_000_000,
                TimeNano = nanos,
                Status = legacy ? action : null,
                Id = legacy ? actorId : null,
                From = type == "container" && attributes is not null && attributes.TryGetValue("image", out string? image) ? image : null,
            };
            _ring[_count % Capacity] = message;
            _count++;
            foreach (Channel<EventMessage> subscriber in _subscribers)
            {
                subscriber.Writer.TryWrite(message);
            }

            return message;
        }
    }

    /// <summary>
    /// The events still in the ring, oldest first, and a live subscription that starts right after them (no event
    /// is both replayed and delivered, none falls between). Dispose the subscription to end it.
    /// </summary>
    public (IReadOnlyList<EventMessage> History, EventSubscription Live) Subscribe()
    {
        var channel = Channel.CreateBounded<EventMessage>(new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        lock (_gate)
        {
            long first = Math.Max(0, _count - Capacity);
            var history = new List<EventMessage>((int)(_count - first));
            for (long i = first; i < _count; i++)
            {
                history.Add(_ring[i % Capacity]);
            }

            _subscribers.Add(channel);
            return (history, new EventSubscription(channel.Reader, () => Unsubscribe(channel)));
        }
    }

    private void Unsubscribe(Channel<EventMessage> channel)
    {
        lock (_gate)
        {
            _subscribers.Remove(channel);
        }

        channel.Writer.TryComplete();
    }
}

/// <summary>A live feed of events; disposing it stops delivery.</summary>
public sealed class EventSubscription(ChannelReader<EventMessage> reader, Action unsubscribe) : IDisposable
{
    private int _disposed;

    public ChannelReader<EventMessage> Reader { get; } = reader;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            unsubscribe();
        }
    }
}
