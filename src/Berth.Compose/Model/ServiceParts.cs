using System.Globalization;
using Berth.Compose.Loading;

namespace Berth.Compose;

/// <summary>One published or exposed port of a service (<c>"127.0.0.1:8080:80/tcp"</c> or the long syntax).</summary>
public sealed record ServicePort(string HostIp, int Target, string Published, string Protocol)
{
    /// <summary>Parses one <c>ports</c> entry; a range (<c>"9000-9002:9000-9002"</c>) gives one port per number.</summary>
    public static IReadOnlyList<ServicePort> Parse(ComposeNode node)
    {
        if (node is MapNode map)
        {
            string longTarget = Text(map["target"]) ?? throw ComposeException.At(map.Mark, "port target is required");
            return [new ServicePort(Text(map["host_ip"]) ?? "", ParsePort(longTarget, map.Mark), Text(map["published"]) ?? "", Text(map["protocol"]) ?? "tcp")];
        }

        string text = Text(node) ?? throw ComposeException.At(node.Mark, "invalid port");
        string protocol = "tcp";
        int slash = text.LastIndexOf('/');
        if (slash >= 0)
        {
            protocol = text[(slash + 1)..];
            text = text[..slash];
        }

        // [[ip:]published:]target; an IPv6 host address is bracketed.
        string ip = "";
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']', StringComparison.Ordinal);
            ip = text[1..close];
            text = text[(close + 2)..];
        }

        string[] parts = text.Split(':');
        (string published, string target) = parts.Length switch
        {
            1 => ("", parts[0]),
            2 => (parts[0], parts[1]),
            3 => (parts[1], parts[2]),
            _ => throw ComposeException.At(node.Mark, $"invalid port \"{Text(node)}\""),
        };
        if (parts.Length == 3)
        {
            ip = parts[0];
        }

        (int first, int last) = Range(target, node.Mark);
        if (first == last)
        {
            return [new ServicePort(ip, first, published, protocol)];
        }

        var result = new List<ServicePort>();
        (int pubFirst, int pubLast) = published.Length == 0 ? (0, 0) : Range(published, node.Mark);
        for (int port = first; port <= last; port++)
        {
            string pub = published.Length == 0 ? "" : pubLast - pubFirst == last - first
                ? (pubFirst + port - first).ToString(CultureInfo.InvariantCulture)
                : published;
            result.Add(new ServicePort(ip, port, pub, protocol));
        }

        return result;
    }

    private static (int First, int Last) Range(string text, SourceMark mark)
    {
        int dash = text.IndexOf('-', StringComparison.Ordinal);
        return dash < 0 ? (ParsePort(text, mark), ParsePort(text, mark)) : (ParsePort(text[..dash], mark), ParsePort(text[(dash + 1)..], mark));
    }

    private static int ParsePort(string text, SourceMark mark) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is > 0 and <= 65535
            ? port
            : throw ComposeException.At(mark, $"invalid port \"{text}\"");

    internal static string? Text(ComposeNode? node) => node.AsText();
}

/// <summary>One <c>volumes</c> entry of a service: a named volume, a bind mount or a tmpfs.</summary>
public sealed record ServiceVolume(string Type, string? Source, string Target, bool ReadOnly)
{
    public string? Propagation { get; init; }

    public bool NoCopy { get; init; }

    public long? TmpfsSize { get; init; }

    public string? Subpath { get; init; }

    /// <summary>The short syntax: <c>[SOURCE:]TARGET[:MODE]</c>; a source with a '/' or '.' or '~' is a host path.</summary>
    public static ServiceVolume ParseShort(string text)
    {
        string[] parts = text.Split(':');
        if (parts.Length == 1)
        {
            return new ServiceVolume("volume", null, parts[0], false);
        }

        string source = parts[0];
        string target = parts[1];
        string mode = parts.Length > 2 ? parts[2] : "";
        string[] options = mode.Split(',', StringSplitOptions.RemoveEmptyEntries);
        bool bind = source.StartsWith('/') || source.StartsWith('.') || source.StartsWith('~');
        return new ServiceVolume(bind ? "bind" : "volume", source, target, options.Contains("ro"))
        {
            Propagation = options.FirstOrDefault(o => o is "shared" or "rshared" or "slave" or "rslave" or "private" or "rprivate"),
            NoCopy = options.Contains("nocopy"),
        };
    }

    public static ServiceVolume Parse(ComposeNode node)
    {
        if (node is ScalarNode { Value: { } text })
        {
            return ParseShort(text);
        }

        var map = (MapNode)node;
        string type = ServicePort.Text(map["type"]) ?? "volume";
        string target = ServicePort.Text(map["target"]) ?? throw ComposeException.At(map.Mark, "volume target is required");
        bool readOnly = ServicePort.Text(map["read_only"]) is "true" or "True";
        long? size = null;
        if (map["tmpfs"] is MapNode tmpfs && ServicePort.Text(tmpfs["size"]) is { } sizeText)
        {
            size = Units.ParseBytes(sizeText, tmpfs.Mark);
        }

        return new ServiceVolume(type, ServicePort.Text(map["source"]), target, readOnly)
        {
            Propagation = map["bind"] is MapNode bind ? ServicePort.Text(bind["propagation"]) : null,
            NoCopy = map["volume"] is MapNode volume && ServicePort.Text(volume["nocopy"]) is "true",
            Subpath = map["volume"] is MapNode v2 ? ServicePort.Text(v2["subpath"]) : null,
            TmpfsSize = size,
        };
    }
}

/// <summary>Compose's byte sizes (<c>512m</c>, <c>1gb</c>) and durations (<c>1m30s</c>).</summary>
public static class Units
{
    public static long ParseBytes(string text, SourceMark mark)
    {
        string t = text.Trim().ToLowerInvariant();
        int end = 0;
        while (end < t.Length && (char.IsAsciiDigit(t[end]) || t[end] == '.'))
        {
            end++;
        }

        if (end == 0 || !double.TryParse(t[..end], NumberStyles.Float, CultureInfo.InvariantCulture, out double number))
        {
            throw ComposeException.At(mark, $"invalid size: '{text}'");
        }

        long factor = t[end..].TrimEnd('b', 'i') switch
        {
            "" => 1,
            "k" => 1L << 10,
            "m" => 1L << 20,
            "g" => 1L << 30,
            "t" => 1L << 40,
            _ => throw ComposeException.At(mark, $"invalid size: '{text}'"),
        };
        return (long)(number * factor);
    }

    /// <summary>Go's duration syntax (<c>1h2m3.5s</c>, <c>500ms</c>, <c>10us</c>); a bare number is seconds.</summary>
    public static TimeSpan ParseDuration(string text, SourceMark mark)
    {
        string t = text.Trim();
        if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds))
        {
            return TimeSpan.FromSeconds(seconds);
        }

        double totalNanos = 0;
        int i = 0;
        while (i < t.Length)
        {
            int start = i;
            while (i < t.Length && (char.IsAsciiDigit(t[i]) || t[i] == '.'))
            {
                i++;
            }

            int unitStart = i;
            while (i < t.Length && !char.IsAsciiDigit(t[i]) && t[i] != '.')
            {
                i++;
            }

            if (start == unitStart || !double.TryParse(t[start..unitStart], NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            {
                throw ComposeException.At(mark, $"invalid duration: '{text}'");
            }

            totalNanos += value * (t[unitStart..i] switch
            {
                "ns" => 1,
                "us" or "µs" => 1e3,
                "ms" => 1e6,
                "s" => 1e9,
                "m" => 60e9,
                "h" => 3600e9,
                _ => throw ComposeException.At(mark, $"invalid duration: '{text}'"),
            });
        }

        return TimeSpan.FromTicks((long)(totalNanos / 100));
    }
}
