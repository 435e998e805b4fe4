using System.Globalization;

namespace Berth.Api.Client;

/// <summary>An Engine API version such as <c>1.50</c>, compared numerically (1.9 &lt; 1.10).</summary>
public readonly record struct ApiVersion(int Major, int Minor) : IComparable<ApiVersion>
{
    /// <summary>The newest version this client speaks.</summary>
    public static readonly ApiVersion Max = new(1, 50);

    /// <summary>The oldest version Berth serves (and that Docker daemons assume when they send no header).</summary>
    public static readonly ApiVersion Min = new(1, 24);

    public static bool TryParse(string? text, out ApiVersion version)
    {
        version = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        string value = text.Trim();
        if (value.StartsWith('v'))
        {
            value = value[1..];
        }

        int dot = value.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0
            || !int.TryParse(value.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out int major)
            || !int.TryParse(value.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int minor))
        {
            return false;
        }

        version = new ApiVersion(major, minor);
        return true;
    }

    public static ApiVersion Parse(string text) =>
        TryParse(text, out ApiVersion v) ? v : throw new FormatException($"invalid API version \"{text}\"");

    /// <summary>Docker's negotiation: the server's version when older than ours, else ours.</summary>
    public static ApiVersion Negotiate(ApiVersion server, ApiVersion client) => server < client ? server : client;

    public int CompareTo(ApiVersion other) => Major != other.Major ? Major.CompareTo(other.Major) : Minor.CompareTo(other.Minor);

    public static bool operator <(ApiVersion left, ApiVersion right) => left.CompareTo(right) < 0;

    public static bool operator >(ApiVersion left, ApiVersion right) => left.CompareTo(right) > 0;

    public static bool operator <=(ApiVersion left, ApiVersion right) => left.CompareTo(right) <= 0;

    public static bool operator >=(ApiVersion left, ApiVersion right) => left.CompareTo(right) >= 0;

    public override string ToString() => Major.ToString(CultureInfo.InvariantCulture) + "." + Minor.ToString(CultureInfo.InvariantCulture);
}
