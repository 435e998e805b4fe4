using System.Text;
using System.Text.Json;

namespace Berth.Api.Client;

/// <summary>
/// Docker's list filters (<c>-f key=value</c>): several values per key, sent as the JSON object
/// <c>{"key":{"value":true}}</c> that every daemon version understands.
/// </summary>
public sealed class ApiFilters
{
    private readonly SortedDictionary<string, SortedSet<string>> _values = new(StringComparer.Ordinal);

    public bool IsEmpty => _values.Count == 0;

    public IEnumerable<string> Keys => _values.Keys;

    public ApiFilters Add(string key, string value)
    {
        if (!_values.TryGetValue(key, out SortedSet<string>? set))
        {
            set = new SortedSet<string>(StringComparer.Ordinal);
            _values[key] = set;
        }

        set.Add(value);
        return this;
    }

    /// <summary>Adds a <c>key=value</c> filter as typed on the command line.</summary>
    /// <exception cref="FormatException">There is no '='.</exception>
    public ApiFilters AddArgument(string argument)
    {
        ArgumentNullException.ThrowIfNull(argument);
        int eq = argument.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
        {
            throw new FormatException($"bad format of filter (expected name=value)");
        }

        return Add(argument[..eq].Trim().ToLowerInvariant(), argument[(eq + 1)..]);
    }

    public IReadOnlyCollection<string> Get(string key) => _values.TryGetValue(key, out SortedSet<string>? set) ? set : [];

    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            foreach ((string key, SortedSet<string> values) in _values)
            {
                writer.WriteStartObject(key);
                foreach (string value in values)
                {
                    writer.WriteBoolean(value, true);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }
}

/// <summary>GET /containers/json parameters.</summary>
public sealed record ContainerListOptions
{
    public bool All { get; init; }

    /// <summary>Only the N most recently created containers (0 or less: no limit).</summary>
    public int Limit { get; init; }

    public bool Size { get; init; }

    public ApiFilters? Filters { get; init; }
}

/// <summary>GET /images/json parameters.</summary>
public sealed record ImageListOptions
{
    public bool All { get; init; }

    public bool Digests { get; init; }

    public ApiFilters? Filters { get; init; }
}

/// <summary>GET /containers/{id}/logs parameters.</summary>
public sealed record LogsOptions
{
    public bool Stdout { get; init; } = true;

    public bool Stderr { get; init; } = true;

    public bool Follow { get; init; }

    public bool Timestamps { get; init; }

    public bool Details { get; init; }

    /// <summary>"all" or a number of lines.</summary>
    public string? Tail { get; init; }

    /// <summary>A UNIX timestamp (<c>seconds[.nanoseconds]</c>).</summary>
    public string? Since { get; init; }

    public string? Until { get; init; }
}

/// <summary>POST /containers/{id}/attach parameters.</summary>
public sealed record AttachOptions
{
    public bool Stdin { get; init; }

    public bool Stdout { get; init; } = true;

    public bool Stderr { get; init; } = true;

    /// <summary>Also replay the log before streaming.</summary>
    public bool Logs { get; init; }

    public string? DetachKeys { get; init; }
}

/// <summary>Wait conditions of POST /containers/{id}/wait.</summary>
public static class WaitCondition
{
    public const string NotRunning = "not-running";
    public const string NextExit = "next-exit";
    public const string Removed = "removed";
}

/// <summary>What GET /_ping's headers say.</summary>
public sealed record PingResponse
{
    public string? ApiVersion { get; init; }

    public string? OSType { get; init; }

    public bool Experimental { get; init; }

    public string? BuilderVersion { get; init; }
}
