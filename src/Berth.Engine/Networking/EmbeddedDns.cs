using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Berth.Engine.Networking;

/// <summary>
/// Docker's embedded DNS for user networks: a UDP server on each user network's gateway, port 53, answering the
/// names, short ids and aliases of the containers on that network, and forwarding every other question to the
/// host's resolvers (from /etc/resolv.conf; berthd runs on the host, so loopback resolvers work too).
/// </summary>
public sealed partial class EmbeddedDns(ILogger<EmbeddedDns> logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, Server> _servers = new(StringComparer.Ordinal);
    private readonly Lazy<(IReadOnlyList<IPEndPoint> Upstreams, IReadOnlyList<string> Search)> _host = new(ReadHostResolvConf);

    private sealed record Server(Socket Socket, CancellationTokenSource Stop);

    /// <summary>The host's search domains (kept in the containers' resolv.conf and stripped from questions).</summary>
    public IReadOnlyList<string> SearchDomains => _host.Value.Search;

    /// <summary>Serves a network on its gateway; <paramref name="resolve"/> maps a name to addresses on that network.</summary>
    public void Start(string networkId, IPAddress gateway, Func<string, IReadOnlyList<IPAddress>> resolve)
    {
        if (_servers.ContainsKey(networkId))
        {
            return;
        }

        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Bind(new IPEndPoint(gateway, 53));
        }
        catch (SocketException e)
        {
            socket.Dispose();
            LogBindFailed(gateway.ToString(), e);
            return;
        }

        var server = new Server(socket, new CancellationTokenSource());
        _servers[networkId] = server;
        _ = ServeAsync(server, resolve);
    }

    public void Stop(string networkId)
    {
        if (_servers.TryRemove(networkId, out Server? server))
        {
            server.Stop.Cancel();
            server.Socket.Dispose();
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

    private async Task ServeAsync(Server server, Func<string, IReadOnlyList<IPAddress>> resolve)
    {
        var buffer = new byte[4096];
        CancellationToken stop = server.Stop.Token;
        while (!stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await server.Socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), stop).ConfigureAwait(false);
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
            _ = AnswerAsync(server.Socket, query, received.RemoteEndPoint, resolve, stop);
        }
    }

    private async Task AnswerAsync(Socket socket, byte[] query, EndPoint client, Func<string, IReadOnlyList<IPAddress>> resolve, CancellationToken stop)
    {
        try
        {
            byte[]? response = null;
            if (DnsWire.ReadQuestion(query) is { } question && question.Class == DnsWire.ClassIn)
            {
                IReadOnlyList<IPAddress> local = Lookup(question.Name, resolve);
                if (local.Count > 0)
                {
                    // AAAA of a container name: the name exists, it has no IPv6 address.
                    response = DnsWire.Answer(query, question, question.Type == DnsWire.TypeA ? local : [], DnsWire.NoError);
                }
            }

            response ??= await ForwardAsync(query, stop).ConfigureAwait(false);
            if (response is null && DnsWire.ReadQuestion(query) is { } failed)
            {
                response = DnsWire.Answer(query, failed, [], DnsWire.ServerFailure);
            }

            if (response is not null)
            {
                await socket.SendToAsync(response, SocketFlags.None, client, stop).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
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

    private async Task<byte[]?> ForwardAsync(byte[] query, CancellationToken stop)
    {
        foreach (IPEndPoint upstream in _host.Value.Upstreams)
        {
            using var socket = new Socket(upstream.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            try
            {
                await socket.ConnectAsync(upstream, timeout.Token).ConfigureAwait(false);
                await socket.SendAsync(query, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                var buffer = new byte[4096];
                int length = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                return buffer[..length];
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

    [LoggerMessage(EventId = 620, Level = LogLevel.Warning, Message = "embedded DNS cannot listen on {Address}:53")]
    private partial void LogBindFailed(string address, Exception exception);
}
