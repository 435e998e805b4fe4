using System.Globalization;
using System.Runtime.CompilerServices;
using Berth.Api.Types;
using Berth.Primitives;

namespace Berth.Engine.Events;

/// <summary>GET /events: recent history from the ring and the live feed, filtered as Docker filters them.</summary>
public interface IEventBackend
{
    /// <summary>
    /// Validates the query at once (a bad filter or time is an error before any byte is sent) and returns the events:
    /// those in the ring between <paramref name="since"/> and <paramref name="until"/> (when either is given), then
    /// live ones until <paramref name="until"/> passes, the caller cancels or the daemon stops.
    /// </summary>
    IAsyncEnumerable<EventMessage> Read(string? since, string? until, IReadOnlyDictionary<string, IReadOnlyList<string>> filters, CancellationToken cancellationToken);
}

public sealed class EventService(EventLog log) : IEventBackend, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Ends every live stream (the daemon is stopping: Kestrel would otherwise wait for them).</summary>
    public void BeginShutdown() => _stopping.Cancel();

    public void Dispose() => _stopping.Dispose();

    public IAsyncEnumerable<EventMessage> Read(string? since, string? until, IReadOnlyDictionary<string, IReadOnlyList<string>> filters, CancellationToken cancellationToken)
    {
        var filter = new EventFilter(filters);
        long now = EventTime.NowNanos();
        long? sinceNanos = EventTime.Parse(since, now, "since");
        long? untilNanos = EventTime.Parse(until, now, "until");
        return ReadAsync(filter, sinceNanos, untilNanos, cancellationToken);
    }

    private async IAsyncEnumerable<EventMessage> ReadAsync(EventFilter filter, long? since, long? until, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        (IReadOnlyList<EventMessage> history, EventSubscription live) = log.Subscribe();
        using (live)
        {
            if (since is not null || until is not null)
            {
                foreach (EventMessage message in history)
                {
                    if (message.TimeNano >= (since ?? long.MinValue) && message.TimeNano <= (until ?? long.MaxValue) && filter.Matches(message))
                    {
                        yield return message;
                    }
                }
            }

            if (until is long end && end <= EventTime.NowNanos())
            {
                yield break;
            }

            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
            if (until is long stop)
            {
                linked.CancelAfter(TimeSpan.FromTicks(Math.Max(1, (stop - EventTime.NowNanos()) / 100)));
            }

            while (await WaitToReadAsync(live, linked.Token).ConfigureAwait(false))
            {
                while (live.Reader.TryRead(out EventMessage? message))
                {
                    if (until is long last && message.TimeNano > last)
                    {
                        yield break;
                    }

                    if (message.TimeNano >= (since ?? long.MinValue) && filter.Matches(message))
                    {
                        yield return message;
                    }
                }
            }
        }
    }

    /// <summary>False once the stream should end (until reached, client gone, daemon stopping).</summary>
    private static async Task<bool> WaitToReadAsync(EventSubscription live, CancellationToken cancellationToken)
    {
        try
        {
            return await live.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}

/// <summary>The since/until forms clients send: unix seconds with an optional fraction (what the docker CLI sends), RFC 3339, or a Go duration ago.</summary>
public static class EventTime
{
    public static long NowNanos() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    public static long? Parse(string? value, long nowNanos, string name)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        string[] parts = value.Split('.', 2);
        if (long.TryParse(parts[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long seconds)
            && (parts.Length == 1 || (parts[1].Length is > 0 and <= 9 && parts[1].All(char.IsAsciiDigit))))
        {
            long fraction = parts.Length == 2 ? long.Parse(parts[1].PadRight(9, '0'), CultureInfo.InvariantCulture) : 0;
            return (seconds * 1_000_000_000) + fraction;
        }

        try
        {
            DateTimeOffset now = DateTimeOffset.UnixEpoch.AddTicks(nowNanos / 100);
            DateTimeOffset time = Images.ImageFilters.ParseTimestamp(value, now);
            return (time - DateTimeOffset.UnixEpoch).Ticks * 100;
        }
        catch (EngineException)
        {
            throw EngineException.Invalid($"invalid value for {name}: {value}");
        }
    }
}

/// <summary>Docker's event filters: values of one key are alternatives, keys all have to match.</summary>
public sealed class EventFilter
{
    private static readonly HashSet<string> Keys = ["container", "daemon", "event", "image", "label", "network", "node", "plugin", "scope", "service", "type", "volume", "config", "secret"];

    private readonly IReadOnlyDictionary<string, IReadOnlyList<string>> _filters;

    public EventFilter(IReadOnlyDictionary<string, IReadOnlyList<string>> filters)
    {
        foreach (string key in filters.Keys)
        {
            if (!Keys.Contains(key))
            {
                throw EngineException.Invalid($"invalid filter '{key}'");
            }
        }

        _filters = filters;
    }

    public bool Matches(EventMessage message)
    {
        Dictionary<string, string> attributes = message.Actor.Attributes;
        return MatchesAction(message.Action)
            && Exact("type", message.Type)
            && (!Has("scope") || Exact("scope", message.Scope))
            && NameOrId("container", message)
            && NameOrId("network", message)
            && NameOrId("volume", message)
            && NameOrId("daemon", message)
            && NameOrId("plugin", message)
            && MatchesImage(message)
            && MatchesLabels(attributes);
    }

    private bool Has(string key) => _filters.TryGetValue(key, out IReadOnlyList<string>? values) && values.Count > 0;

    private bool Exact(string key, string value) => !Has(key) || _filters[key].Contains(value, StringComparer.Ordinal);

    /// <summary>
    /// As Docker (moby#25798): <c>health_status</c>, <c>exec_create</c> and <c>exec_start</c> carry a suffix
    /// (<c>health_status: healthy</c>), so a filter naming one of them matches by prefix.
    /// </summary>
    private bool MatchesAction(string action)
    {
        if (!Has("event"))
        {
            return true;
        }

        IReadOnlyList<string> values = _filters["event"];
        bool fuzzy = values.Any(v => v is "health_status" or "exec_create" or "exec_start");
        return values.Any(v => v == action || (fuzzy && action.StartsWith(v, StringComparison.Ordinal)));
    }

    /// <summary>The actor's id or name attribute starts with one of the values.</summary>
    private bool NameOrId(string key, EventMessage message)
    {
        if (!Has(key))
        {
            return true;
        }

        string name = message.Actor.Attributes.GetValueOrDefault("name") ?? "";
        return _filters[key].Any(v => v.Length > 0 && (message.Actor.ID.StartsWith(v, StringComparison.Ordinal) || name.StartsWith(v, StringComparison.Ordinal)));
    }

    private bool MatchesImage(EventMessage message)
    {
        if (!Has("image"))
        {
            return true;
        }

        string image = message.Actor.Attributes.GetValueOrDefault(message.Type == "image" ? "name" : "image") ?? "";
        return _filters["image"].Any(v => v == message.Actor.ID || v == image || v == StripTag(message.Actor.ID) || v == StripTag(image) || StripTag(v) == image);
    }

    private static string StripTag(string reference)
    {
        int slash = reference.LastIndexOf('/');
        int colon = reference.LastIndexOf(':');
        return colon > slash && !reference.StartsWith("sha256:", StringComparison.Ordinal) ? reference[..colon] : reference;
    }

    private bool MatchesLabels(Dictionary<string, string> attributes)
    {
        if (!Has("label"))
        {
            return true;
        }

        foreach (string label in _filters["label"])
        {
            string[] parts = label.Split('=', 2);
            if (!attributes.TryGetValue(parts[0], out string? value) || (parts.Length == 2 && value != parts[1]))
            {
                return false;
            }
        }

        return true;
    }
}
