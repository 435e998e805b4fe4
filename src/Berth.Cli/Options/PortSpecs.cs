using System.Globalization;
using System.Net;
using Berth.Api.Types;
using Berth.Cli.Parsing;

namespace Berth.Cli.Options;

/// <summary>docker's <c>nat.ParsePortSpec</c>: <c>[ip:][hostPort:]containerPort[/proto]</c>, with ranges.</summary>
internal static class PortSpecs
{
    public static List<(string Port, PortBinding Binding)> Parse(string spec)
    {
        (string ip, string hostPort, string containerPart) = SplitParts(spec);
        if (ip.StartsWith('[') && ip.EndsWith(']'))
        {
            ip = ip[1..^1];
        }

        if (ip.Length > 0 && !IPAddress.TryParse(ip, out _))
        {
            throw Error(spec, $"invalid IP address: {ip}");
        }

        (string proto, string containerPort) = SplitProto(containerPart);
        if (containerPort.Length == 0)
        {
            throw Error(spec, $"no port specified: {spec}<empty>");
        }

        (int cStart, int cEnd) = ParseRange(containerPort, spec, "invalid containerPort: " + containerPort);
        int hStart = 0, hEnd = 0;
        if (hostPort.Length > 0)
        {
            (hStart, hEnd) = ParseRange(hostPort, spec, "invalid hostPort: " + hostPort);
        }

        if (hostPort.Length > 0 && cEnd - cStart != hEnd - hStart && cEnd != cStart)
        {
            throw Error(spec, $"invalid ranges specified for container and host Ports: {containerPort} and {hostPort}");
        }

        var result = new List<(string, PortBinding)>();
        for (int i = 0; i <= cEnd - cStart; i++)
        {
            string host = hostPort;
            if (hostPort.Length > 0 && cEnd - cStart == hEnd - hStart)
            {
                host = (hStart + i).ToString(CultureInfo.InvariantCulture);
            }

            string port = (cStart + i).ToString(CultureInfo.InvariantCulture) + "/" + proto;
            result.Add((port, new PortBinding { HostIp = ip, HostPort = host }));
        }

        return result;
    }

    /// <summary><c>--expose 80</c>, <c>--expose 8000-8010/udp</c>.</summary>
    public static List<string> ParseExpose(string spec)
    {
        (string proto, string port) = SplitProto(spec);
        (int start, int end) = ParseRange(port, spec, "invalid range format for --expose: " + spec);
        var result = new List<string>();
        for (int p = start; p <= end; p++)
        {
            result.Add(p.ToString(CultureInfo.InvariantCulture) + "/" + proto);
        }

        return result;
    }

    private static (string Ip, string HostPort, string ContainerPort) SplitParts(string raw)
    {
        string[] parts = raw.Split(':');
        int n = parts.Length;
        return n switch
        {
            1 => ("", "", parts[0]),
            2 => ("", parts[0], parts[1]),
            3 => (parts[0], parts[1], parts[2]),
            _ => (string.Join(':', parts[..(n - 2)]), parts[n - 2], parts[n - 1]),
        };
    }

    private static (string Proto, string Port) SplitProto(string raw)
    {
        int slash = raw.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return ("tcp", raw);
        }

        string proto = raw[(slash + 1)..].ToLowerInvariant();
        if (proto.Length == 0)
        {
            proto = "tcp";
        }

        if (proto is not ("tcp" or "udp" or "sctp"))
        {
            throw new FlagParseException($"invalid argument \"{raw}\" for \"-p, --publish\" flag: invalid proto: {proto}");
        }

        return (proto, raw[..slash]);
    }

    private static (int Start, int End) ParseRange(string text, string spec, string message)
    {
        int dash = text.IndexOf('-', StringComparison.Ordinal);
        string first = dash < 0 ? text : text[..dash];
        string last = dash < 0 ? text : text[(dash + 1)..];
        if (!int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out int start)
            || !int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out int end)
            || start > 65535 || end > 65535 || end < start)
        {
            throw Error(spec, message);
        }

        return (start, end);
    }

    private static FlagParseException Error(string spec, string message) =>
        new($"invalid argument \"{spec}\" for \"-p, --publish\" flag: {message}");
}

/// <summary>docker's <c>--mount</c> CSV: <c>type=bind,source=/a,target=/b,readonly</c>.</summary>
internal static class MountSpecs
{
    public static MountSpec Parse(string value)
    {
        string type = "volume";
        string? source = null, target = null, propagation = null, subpath = null, consistency = null;
        bool? readOnly = null, noCopy = null, nonRecursive = null, createMountpoint = null;
        long? tmpfsSize = null;
        int? tmpfsMode = null;
        Dictionary<string, string>? volumeOptions = null, volumeLabels = null;
        string? volumeDriver = null;
        foreach (string field in value.Split(','))
        {
            if (field.Length == 0)
            {
                continue;
            }

            int eq = field.IndexOf('=', StringComparison.Ordinal);
            string key = (eq < 0 ? field : field[..eq]).Trim().ToLowerInvariant();
            string? v = eq < 0 ? null : field[(eq + 1)..];
            switch (key)
            {
                case "type": type = Require(v, key, value); break;
                case "source" or "src": source = Require(v, key, value); break;
                case "target" or "dst" or "destination": target = Require(v, key, value); break;
                case "readonly" or "ro": readOnly = v is null || ParseBool(v, key, value); break;
                case "consistency": consistency = v; break;
                case "bind-propagation": propagation = v; break;
                case "bind-nonrecursive": nonRecursive = v is null || ParseBool(v, key, value); break;
                case "bind-create-mountpoint": createMountpoint = v is null || ParseBool(v, key, value); break;
                case "volume-nocopy": noCopy = v is null || ParseBool(v, key, value); break;
                case "volume-subpath": subpath = v; break;
                case "volume-driver": volumeDriver = Require(v, key, value); break;
                case "volume-opt" or "volume-label":
                    {
                        string pair = Require(v, key, value);
                        int split = pair.IndexOf('=', StringComparison.Ordinal);
                        Dictionary<string, string> into = key == "volume-opt" ? (volumeOptions ??= new(StringComparer.Ordinal)) : (volumeLabels ??= new(StringComparer.Ordinal));
                        into[split < 0 ? pair : pair[..split]] = split < 0 ? "" : pair[(split + 1)..];
                        break;
                    }

                case "tmpfs-size":
                    try
                    {
                        tmpfsSize = Units.RamInBytes(Require(v, key, value));
                    }
                    catch (FormatException e)
                    {
                        throw Error(value, e.Message);
                    }

                    break;
                case "tmpfs-mode":
                    tmpfsMode = int.TryParse(Require(v, key, value), NumberStyles.None, CultureInfo.InvariantCulture, out int octal)
                        ? Convert.ToInt32(octal.ToString(CultureInfo.InvariantCulture), 8)
                        : throw Error(value, $"invalid value for {key}: {v}");
                    break;
                default:
                    throw Error(value, $"unexpected key '{key}' in '{field}'");
            }
        }

        if (target is null)
        {
            throw Error(value, "target is required");
        }

        return new MountSpec
        {
            Type = type,
            Source = source,
            Target = target,
            ReadOnly = readOnly,
            Consistency = consistency,
            BindOptions = propagation is not null || nonRecursive is not null || createMountpoint is not null
                ? new MountBindOptions { Propagation = propagation, NonRecursive = nonRecursive, CreateMountpoint = createMountpoint }
                : null,
            VolumeOptions = noCopy is not null || subpath is not null || volumeOptions is not null || volumeLabels is not null || volumeDriver is not null
                ? new MountVolumeOptions
                {
                    NoCopy = noCopy,
                    Subpath = subpath,
                    Labels = volumeLabels,
                    DriverConfig = volumeOptions is not null || volumeDriver is not null ? new MountDriverConfig { Name = volumeDriver, Options = volumeOptions } : null,
                }
                : null,
            TmpfsOptions = tmpfsSize is not null || tmpfsMode is not null ? new MountTmpfsOptions { SizeBytes = tmpfsSize, Mode = tmpfsMode } : null,
        };
    }

    private static string Require(string? v, string key, string spec) =>
        v ?? throw Error(spec, $"invalid field '{key}' must be a key=value pair");

    private static bool ParseBool(string v, string key, string spec) => v.ToLowerInvariant() switch
    {
        "1" or "true" => true,
        "0" or "false" => false,
        _ => throw Error(spec, $"invalid value for {key}: {v}"),
    };

    private static FlagParseException Error(string spec, string message) =>
        new($"invalid argument \"{spec}\" for \"--mount\" flag: {message}");
}
