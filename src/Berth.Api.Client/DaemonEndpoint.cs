using System.Net;
using System.Net.Sockets;

namespace Berth.Api.Client;

/// <summary>
/// Where the daemon listens: a unix socket path or a TCP host and port, parsed from Docker's host
/// syntax (<c>unix:///run/berth/berth.sock</c>, <c>tcp://127.0.0.1:2375</c>).
/// </summary>
public sealed class DaemonEndpoint
{
    /// <summary>The socket berthd listens on unless told otherwise.</summary>
    public const string DefaultHost = "unix:///run/berth/berth.sock";

    private DaemonEndpoint(string host, string? socketPath, string? tcpHost, int tcpPort)
    {
        Host = host;
        SocketPath = socketPath;
        TcpHost = tcpHost;
        TcpPort = tcpPort;
    }

    /// <summary>The host as a URL, the way error messages show it (<c>unix:///run/berth/berth.sock</c>).</summary>
    public string Host { get; }

    /// <summary>The unix socket path, or null for TCP.</summary>
    public string? SocketPath { get; }

    /// <summary>The TCP host name or address, or null for a unix socket.</summary>
    public string? TcpHost { get; }

    public int TcpPort { get; }

    public bool IsUnixSocket => SocketPath is not null;

    /// <summary>The host to use: the <c>-H</c> flag, else <c>BERTH_HOST</c>, else <c>DOCKER_HOST</c>, else <see cref="DefaultHost"/>.</summary>
    public static string ResolveHost(string? flagValue, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (!string.IsNullOrEmpty(flagValue))
        {
            return flagValue;
        }

        string? fromEnv = environment("BERTH_HOST");
        if (!string.IsNullOrEmpty(fromEnv))
        {
            return fromEnv;
        }

        fromEnv = environment("DOCKER_HOST");
        return string.IsNullOrEmpty(fromEnv) ? DefaultHost : fromEnv;
    }

    /// <summary>Parses <c>unix://PATH</c>, <c>tcp://HOST[:PORT]</c> (<c>http://</c> is taken as tcp) or a bare absolute socket path.</summary>
    /// <exception cref="FormatException">The host cannot be used.</exception>
    public static DaemonEndpoint Parse(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        string value = host.Trim();
        if (value.StartsWith('/'))
        {
            return new DaemonEndpoint("unix://" + value, value, null, 0);
        }

        int sep = value.IndexOf("://", StringComparison.Ordinal);
        if (sep <= 0)
        {
            throw new FormatException($"unable to parse berth host `{host}`");
        }

        string scheme = value[..sep].ToLowerInvariant();
        string rest = value[(sep + 3)..];
        switch (scheme)
        {
            case "unix":
                {
                    string path = rest.Length == 0 ? DefaultHost["unix://".Length..] : rest;
                    return new DaemonEndpoint("unix://" + path, path, null, 0);
                }
            case "tcp":
            case "http":
                {
                    int slash = rest.IndexOf('/', StringComparison.Ordinal);
                    if (slash >= 0)
                    {
                        string tail = rest[slash..];
                        if (tail != "/")
                        {
                            throw new FormatException($"unable to parse berth host `{host}`: a path is not supported");
                        }

                        rest = rest[..slash];
                    }

                    (string name, int port) = SplitHostPort(rest, host);
                    if (name.Length == 0)
                    {
                        name = "127.0.0.1";
                    }

                    string shown = name.Contains(':', StringComparison.Ordinal) ? $"[{name}]" : name;
                    return new DaemonEndpoint($"tcp://{shown}:{port}", null, name, port);
                }
            default:
                throw new FormatException($"unable to parse berth host `{host}`: protocol not supported: {scheme}");
        }
    }

    /// <summary>The socket address to connect to.</summary>
    public EndPoint ToEndPoint() =>
        SocketPath is not null
            ? new UnixDomainSocketEndPoint(SocketPath)
            : IPAddress.TryParse(TcpHost, out IPAddress? address)
                ? new IPEndPoint(address, TcpPort)
                : new DnsEndPoint(TcpHost!, TcpPort);

    /// <summary>Opens a new stream connection to the daemon.</summary>
    public async ValueTask<Socket> ConnectAsync(CancellationToken cancellationToken)
    {
        EndPoint endPoint = ToEndPoint();
        Socket socket = SocketPath is not null
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public override string ToString() => Host;

    private static (string Host, int Port) SplitHostPort(string value, string original)
    {
        const int defaultPort = 2375;
        if (value.StartsWith('['))
        {
            int close = value.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new FormatException($"unable to parse berth host `{original}`");
            }

            string name = value[1..close];
            string after = value[(close + 1)..];
            if (after.Length == 0)
            {
                return (name, defaultPort);
            }

            return after[0] == ':' ? (name, ParsePort(after[1..], original)) : throw new FormatException($"unable to parse berth host `{original}`");
        }

        int colon = value.LastIndexOf(':');
        if (colon < 0)
        {
            return (value, defaultPort);
        }

        if (value.IndexOf(':', StringComparison.Ordinal) != colon)
        {
            return (value, defaultPort); // a bare IPv6 address
        }

        return (value[..colon], ParsePort(value[(colon + 1)..], original));
    }

    private static int ParsePort(string text, string original) =>
        int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int port) && port is > 0 and < 65536
            ? port
            : throw new FormatException($"unable to parse berth host `{original}`: invalid port \"{text}\"");
}
