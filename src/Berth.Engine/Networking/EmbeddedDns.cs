using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Berth.Engine.Networking;

/// <summary>
/// Docker's embedded DNS for user networks: a UDP and TCP server on each user network's gateway, port 53, answering
/// the names, short ids and aliases of the containers on that network (A, AAAA) and their addresses (PTR), and
/// forwarding every other question to the host's resolvers (from /etc/resolv.conf; berthd runs on the host, so
/// loopback resolvers work too) over the transport it came on.
/// </summary>
public sealed partial class EmbeddedDns(ILogger<EmbeddedDns> logger) : IDisposable
{
    private static readonly TimeSpan UpstreamTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan TcpIdleTimeout = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, Server> _servers = new(StringComparer.Ordinal);
    private readonly Lazy<(IReadOnlyList<IPEndPoint> Upstreams, IReadOnlyList<string> Search)> _host = new(ReadHostResolvConf);

    private sealed record Server(Socket Udp, Socket? Tcp, CancellationTokenSource Stop);

    /// <summary>How one network's names are known: (name, asking address) → addresses, and address → the name a PTR answers.</summary>
    private sealed record Resolver(Func<string, IPAddress, IReadOnlyList<IPAddress>> Names, Func<IPAddress, string?> Addresses);

    /// <summary>The host's search domains (kept in the containers' resolv.conf and stripped from questions).</summary>
    public IReadOnlyList<string> SearchDomains => _host.Value.Search;

    /// <summary>
    /// Serves a network on its gateway, UDP and TCP port 53; <paramref name="resolve"/> maps a name, as the container at
    /// the asking address knows it (links are per container), to addresses on that network, <paramref name="reverse"/>
    /// an address to the name its PTR record answers (null: not ours, forwarded).
    /// </summary>
    public void Start(string networkId, IPAddress gateway, Func<string, IPAddress, IReadOnlyList<IPAddress>> resolve, Func<IPAddress, string?> reverse)
    {
        if (_servers.ContainsKey(networkId))
        {
            return;
        }

        var udp = new Socket(gateway.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            udp.Bind(new IPEndPoint(gateway, 53));
        }
        catch (SocketException e)
        {
            udp.Dispose();
            LogBindFailed(gateway.ToString(), "udp", e);
            return;
        }

        // TCP: answers too big for UDP come back truncated and the client asks again here (dig +tcp, nslookup -vc).
        Socket? tcp = new(gateway.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            tcp.Bind(new IPEndPoint(gateway, 53));
            tcp.Listen(64);
        }
        catch (SocketException e)
        {
            tcp.Dispose();
            tcp = null;
            LogBindFailed(gateway.ToString(), "tcp", e);
        }

        var server = new Server(udp, tcp, new CancellationTokenSource());
        _servers[networkId] = server;
        var resolver = new Resolver(resolve, reverse);
        _ = ServeUdpAsync(server, resolver);
        if (tcp is not null)
        {
            _ = AcceptTcpAsync(tcp, resolver, server.Stop.Token);
        }
    }

    public void Stop(string networkId)
    {
        if (_servers.TryRemove(networkId, out Server? server))
        {
            server.Stop.Cancel();
            server.Udp.Dispose();
            server.Tcp?.Dispose();
            server.Stop.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (string id in _servers.Keys)
        {
            Stop(id);
        }
    }

    private async Task ServeUdpAsync(Server server, Resolver resolver)
    {
        var buffer = new byte[4096];
        CancellationToken stop = server.Stop.Token;
        while (!stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await server.Udp.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), stop).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (stop.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            byte[] query = buffer.AsSpan(0, received.ReceivedBytes).ToArray();
            _ = AnswerUdpAsync(server.Udp, query, received.RemoteEndPoint, resolver, stop);
        }
    }

    private async Task AnswerUdpAsync(Socket socket, byte[] query, EndPoint client, Resolver resolver, CancellationToken stop)
    {
        try
        {
            byte[]? response = await RespondAsync(query, ((IPEndPoint)client).Address, resolver, overTcp: false, stop).ConfigureAwait(false);
            if (response is not null)
            {
                await socket.SendToAsync(response, SocketFlags.None, client, stop).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task AcceptTcpAsync(Socket listener, Resolver resolver, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stop).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (stop.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            _ = ServeTcpAsync(client, resolver, stop);
        }
    }

    /// <summary>One TCP client: length-prefixed queries answered in turn until it closes or stays idle (RFC 7766).</summary>
    private async Task ServeTcpAsync(Socket client, Resolver resolver, CancellationToken stop)
    {
        IPAddress asking = (client.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
        using var stream = new NetworkStream(client, ownsSocket: true);
        try
        {
            while (true)
            {
                byte[]? query = await ReadFramedAsync(stream, TcpIdleTimeout, stop).ConfigureAwait(false);
                if (query is null)
                {
                    return;
                }

                byte[]? response = await RespondAsync(query, asking, resolver, overTcp: true, stop).ConfigureAwait(false);
                if (response is null)
                {
                    return;
                }

                await WriteFramedAsync(stream, response, stop).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or IOException or SocketException)
        {
        }
    }

    /// <summary>A local answer (names and addresses of the network), else the upstreams' over the same transport, else SERVFAIL.</summary>
    private async Task<byte[]?> RespondAsync(byte[] query, IPAddress client, Resolver resolver, bool overTcp, CancellationToken stop)
    {
        DnsWire.Question? question = DnsWire.ReadQuestion(query);
        if (question is { Class: DnsWire.ClassIn } asked && AnswerLocally(query, asked, client, resolver) is { } local)
        {
            return overTcp ? local : DnsWire.FitUdp(local, asked, DnsWire.UdpLimit(query, asked));
        }

        byte[]? response = overTcp
            ? await ForwardTcpAsync(query, stop).ConfigureAwait(false)
            : await ForwardUdpAsync(query, stop).ConfigureAwait(false);
        if (response is null && question is { } failed)
        {
            response = DnsWire.Answer(query, failed, Array.Empty<IPAddress>(), DnsWire.ServerFailure);
        }

        return response;
    }

    /// <summary>
    /// PTR of a container's address: its name on the network (Docker's <c>name.network</c>). A name of the network:
    /// its A or AAAA addresses, and an empty NOERROR for a family it lacks or any other type, as Docker answers.
    /// Null when the question is not about the network.
    /// </summary>
    private byte[]? AnswerLocally(byte[] query, DnsWire.Question question, IPAddress client, Resolver resolver)
    {
        if (question.Type == DnsWire.TypePtr)
        {
            IPAddress? address = DnsWire.ReverseAddress(question.Name);
            string? name = address is null ? null : resolver.Addresses(address);
            return name is null ? null : DnsWire.AnswerWith(query, question, [DnsWire.Record.Pointer(name)], DnsWire.NoError);
        }

        IReadOnlyList<IPAddress> local = Lookup(question.Name, name => resolver.Names(name, client));
        if (local.Count == 0)
        {
            return null;
        }

        AddressFamily? family = question.Type switch
        {
            DnsWire.TypeA => AddressFamily.InterNetwork,
            DnsWire.TypeAaaa => AddressFamily.InterNetworkV6,
            _ => null,
        };
        return DnsWire.Answer(query, question, [.. local.Where(a => a.AddressFamily == family)], DnsWire.NoError);
    }

    /// <summary>The name as asked, or with one of the host's search domains taken off (resolvers try those first).</summary>
    private IReadOnlyList<IPAddress> Lookup(string name, Func<string, IReadOnlyList<IPAddress>> resolve)
    {
        IReadOnlyList<IPAddress> found = resolve(name);
        if (found.Count > 0)
        {
            return found;
        }

        foreach (string domain in SearchDomains)
        {
            string suffix = "." + domain.TrimEnd('.').ToLowerInvariant();
            if (name.EndsWith(suffix, StringComparison.Ordinal))
            {
                found = resolve(name[..^suffix.Length]);
                if (found.Count > 0)
                {
                    return found;
                }
            }
        }

        return [];
    }

    private async Task<byte[]?> ForwardUdpAsync(byte[] query, CancellationToken stop)
    {
        foreach (IPEndPoint upstream in _host.Value.Upstreams)
        {
            using var socket = new Socket(upstream.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
            timeout.CancelAfter(UpstreamTimeout);
            try
            {
                await socket.ConnectAsync(upstream, timeout.Token).ConfigureAwait(false);
                await socket.SendAsync(query, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                var buffer = new byte[4096];
                int length = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                return buffer[..length]; // a truncated (TC) answer goes back as it is: the client retries over TCP
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
                if (stop.IsCancellationRequested)
                {
                    return null;
                }
            }
        }

        return null;
    }

    /// <summary>A query that came over TCP goes upstream over TCP: its answer may be larger than any UDP one.</summary>
    private async Task<byte[]?> ForwardTcpAsync(byte[] query, CancellationToken stop)
    {
        foreach (IPEndPoint upstream in _host.Value.Upstreams)
        {
            using var socket = new Socket(upstream.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
            timeout.CancelAfter(UpstreamTimeout);
            try
            {
                await socket.ConnectAsync(upstream, timeout.Token).ConfigureAwait(false);
                using var stream = new NetworkStream(socket, ownsSocket: false);
                await WriteFramedAsync(stream, query, timeout.Token).ConfigureAwait(false);
                byte[]? response = await ReadFramedAsync(stream, UpstreamTimeout, timeout.Token).ConfigureAwait(false);
                if (response is not null)
                {
                    return response;
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or IOException)
            {
                if (stop.IsCancellationRequested)
                {
                    return null;
                }
            }
        }

        return null;
    }

    /// <summary>One DNS-over-TCP message (two-byte big-endian length, then the message); null at a clean end of stream.</summary>
    private static async Task<byte[]?> ReadFramedAsync(Stream stream, TimeSpan idle, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(idle);
        var prefix = new byte[2];
        int read = await stream.ReadAtLeastAsync(prefix, 2, throwOnEndOfStream: false, timeout.Token).ConfigureAwait(false);
        if (read < 2)
        {
            return null;
        }

        int length = (prefix[0] << 8) | prefix[1];
        var message = new byte[length];
        await stream.ReadExactlyAsync(message, timeout.Token).ConfigureAwait(false);
        return message;
    }

    private static async Task WriteFramedAsync(Stream stream, byte[] message, CancellationToken cancellationToken)
    {
        var framed = new byte[message.Length + 2];
        framed[0] = (byte)(message.Length >> 8);
        framed[1] = (byte)message.Length;
        message.CopyTo(framed, 2);
        await stream.WriteAsync(framed, cancellationToken).ConfigureAwait(false);
    }

    private static (IReadOnlyList<IPEndPoint>, IReadOnlyList<string>) ReadHostResolvConf()
    {
        var upstreams = new List<IPEndPoint>();
        var search = new List<string>();
        if (File.Exists("/etc/resolv.conf"))
        {
            foreach (string line in File.ReadLines("/etc/resolv.conf"))
            {
                string[] words = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                if (words.Length >= 2 && words[0] == "nameserver" && IPAddress.TryParse(words[1], out IPAddress? address))
                {
                    upstreams.Add(new IPEndPoint(address, 53));
                }
                else if (words.Length >= 2 && words[0] is "search" or "domain")
                {
                    search.AddRange(words.Skip(1));
                }
            }
        }

        if (upstreams.Count == 0)
        {
            upstreams.Add(new IPEndPoint(IPAddress.Parse("8.8.8.8"), 53));
        }

        return (upstreams, search);
    }

    [LoggerMessage(EventId = 620, Level = LogLevel.Warning, Message = "embedded DNS cannot listen on {Address}:53/{Transport}")]
    private partial void LogBindFailed(string address, string transport, Exception exception);
}
