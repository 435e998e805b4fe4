using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Berth.Interop;
using Microsoft.Extensions.Logging;

namespace Berth.Engine.Networking;

/// <summary>
/// Docker's embedded DNS: for every container on a user network, a UDP and TCP server on 127.0.0.11:53 inside the
/// container's own network namespace (the sockets are made on a thread that entered it, then served from berthd's
/// normal async loop). A socket knows its container, so the answer is that container's view: the names, short ids
/// and aliases of the containers on every network it shares with them (A, AAAA) and their addresses (PTR); every
/// other question goes to the container's forwarders (its <c>--dns</c>, else the host's resolvers), from the host's
/// namespace (so loopback resolvers work too), over the transport it came on.
/// </summary>
public sealed partial class EmbeddedDns(ILogger<EmbeddedDns> logger) : IDisposable
{
    /// <summary>The address Docker's embedded resolver listens on in every container.</summary>
    public static readonly IPAddress ListenAddress = IPAddress.Parse("127.0.0.11");

    private static readonly TimeSpan UpstreamTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan TcpIdleTimeout = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, Server> _servers = new(StringComparer.Ordinal);
    private readonly Lazy<(IReadOnlyList<IPEndPoint> Upstreams, IReadOnlyList<string> Search)> _host = new(ReadHostResolvConf);

    private sealed record Server(Socket Udp, Socket? Tcp, CancellationTokenSource Stop);

    /// <summary>
    /// How one container sees names: a name → the addresses it has on a network shared with the asking container, an
    /// address → the name its PTR answers (null: not ours, forwarded), and where everything else goes.
    /// </summary>
    public sealed record Scope(Func<string, IReadOnlyList<IPAddress>> Names, Func<IPAddress, string?> Addresses, IReadOnlyList<IPEndPoint> Upstreams);

    /// <summary>The host's search domains (stripped from questions: resolvers try those first).</summary>
    public IReadOnlyList<string> SearchDomains => _host.Value.Search;

    /// <summary>The host's resolvers (the forwarders of a container without <c>--dns</c>).</summary>
    public IReadOnlyList<IPEndPoint> HostResolvers => _host.Value.Upstreams;

    public bool IsServing(string containerId) => _servers.ContainsKey(containerId);

    /// <summary>
    /// Opens 127.0.0.11:53 (UDP and TCP) inside the network namespace pinned at <paramref name="namespacePath"/> and
    /// serves it for <paramref name="containerId"/> until <see cref="Stop"/>. Already serving: nothing to do.
    /// </summary>
    public async Task ServeAsync(string containerId, string namespacePath, Scope scope)
    {
        if (_servers.ContainsKey(containerId))
        {
            return;
        }

        Socket? udp = null, tcp = null;
        await NetworkNamespace.RunInsideAsync(namespacePath, _ =>
        {
            // A socket belongs to the namespace it was made in, whichever thread uses it afterwards.
            udp = Bound(SocketType.Dgram, ProtocolType.Udp, containerId);
            tcp = udp is null ? null : Bound(SocketType.Stream, ProtocolType.Tcp, containerId);
            try
            {
                tcp?.Listen(64); // answers too big for UDP come back truncated and the client asks again here
            }
            catch (SocketException e)
            {
                tcp?.Dispose();
                tcp = null;
                LogBindFailed(containerId[..12], "Tcp", e);
            }
        }).ConfigureAwait(false);
        if (udp is null)
        {
            return;
        }

        var server = new Server(udp, tcp, new CancellationTokenSource());
        if (!_servers.TryAdd(containerId, server))
        {
            Close(server);
            return;
        }

        _ = ServeUdpAsync(server, scope);
        if (tcp is not null)
        {
            _ = AcceptTcpAsync(tcp, scope, server.Stop.Token);
        }
    }

    private Socket? Bound(SocketType type, ProtocolType protocol, string containerId)
    {
        var socket = new Socket(AddressFamily.InterNetwork, type, protocol);
        try
        {
            socket.Bind(new IPEndPoint(ListenAddress, 53));
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            LogBindFailed(containerId[..12], protocol.ToString(), e);
            return null;
        }
    }

    public void Stop(string containerId)
    {
        if (_servers.TryRemove(containerId, out Server? server))
        {
            Close(server);
        }
    }

    private static void Close(Server server)
    {
        server.Stop.Cancel();
        server.Udp.Dispose();
        server.Tcp?.Dispose();
        server.Stop.Dispose();
    }

    public void Dispose()
    {
        foreach (string id in _servers.Keys)
        {
            Stop(id);
        }
    }

    private async Task ServeUdpAsync(Server server, Scope scope)
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
            _ = AnswerUdpAsync(server.Udp, query, received.RemoteEndPoint, scope, stop);
        }
    }

    private async Task AnswerUdpAsync(Socket socket, byte[] query, EndPoint client, Scope scope, CancellationToken stop)
    {
        try
        {
            byte[]? response = await RespondAsync(query, scope, overTcp: false, stop).ConfigureAwait(false);
            if (response is not null)
            {
                await socket.SendToAsync(response, SocketFlags.None, client, stop).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task AcceptTcpAsync(Socket listener, Scope scope, CancellationToken stop)
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

            _ = ServeTcpAsync(client, scope, stop);
        }
    }

    /// <summary>One TCP client: length-prefixed queries answered in turn until it closes or stays idle (RFC 7766).</summary>
    private async Task ServeTcpAsync(Socket client, Scope scope, CancellationToken stop)
    {
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

                byte[]? response = await RespondAsync(query, scope, overTcp: true, stop).ConfigureAwait(false);
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

    /// <summary>A local answer (names and addresses the container sees), else the forwarders' over the same transport, else SERVFAIL.</summary>
    private async Task<byte[]?> RespondAsync(byte[] query, Scope scope, bool overTcp, CancellationToken stop)
    {
        DnsWire.Question? question = DnsWire.ReadQuestion(query);
        if (question is { Class: DnsWire.ClassIn } asked && AnswerLocally(query, asked, scope) is { } local)
        {
            return overTcp ? local : DnsWire.FitUdp(local, asked, DnsWire.UdpLimit(query, asked));
        }

        byte[]? response = overTcp
            ? await ForwardTcpAsync(query, scope.Upstreams, stop).ConfigureAwait(false)
            : await ForwardUdpAsync(query, scope.Upstreams, stop).ConfigureAwait(false);
        if (response is null && question is { } failed)
        {
            response = DnsWire.Answer(query, failed, Array.Empty<IPAddress>(), DnsWire.ServerFailure);
        }

        return response;
    }

    /// <summary>
    /// PTR of a container's address: its name on the network (Docker's <c>name.network</c>). A name the container
    /// sees: its A or AAAA addresses, and an empty NOERROR for a family it lacks or any other type, as Docker answers.
    /// Null when the question is not about the container's networks.
    /// </summary>
    private byte[]? AnswerLocally(byte[] query, DnsWire.Question question, Scope scope)
    {
        if (question.Type == DnsWire.TypePtr)
        {
            IPAddress? address = DnsWire.ReverseAddress(question.Name);
            string? name = address is null ? null : scope.Addresses(address);
            return name is null ? null : DnsWire.AnswerWith(query, question, [DnsWire.Record.Pointer(name)], DnsWire.NoError);
        }

        IReadOnlyList<IPAddress> local = Lookup(question.Name, scope.Names);
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

    private static async Task<byte[]?> ForwardUdpAsync(byte[] query, IReadOnlyList<IPEndPoint> upstreams, CancellationToken stop)
    {
        foreach (IPEndPoint upstream in upstreams)
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
    private static async Task<byte[]?> ForwardTcpAsync(byte[] query, IReadOnlyList<IPEndPoint> upstreams, CancellationToken stop)
    {
        foreach (IPEndPoint upstream in upstreams)
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

    [LoggerMessage(EventId = 620, Level = LogLevel.Warning, Message = "embedded DNS cannot listen on 127.0.0.11:53/{Transport} in container {Id}")]
    private partial void LogBindFailed(string id, string transport, Exception exception);
}
