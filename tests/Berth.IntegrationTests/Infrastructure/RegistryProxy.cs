using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Berth.IntegrationTests.Infrastructure;

/// <summary>One request the proxy passed on: what the client asked (its Range header too) and the status upstream gave.</summary>
public sealed record ProxiedRequest(string Method, string Path, string? Range)
{
    public int Status { get; set; }

    /// <summary>Body bytes the proxy passed to the client (fewer than sent when it cut the response).</summary>
    public long BodyBytes { get; set; }

    public DateTime Received { get; } = DateTime.UtcNow;

    /// <summary>When the response ended (or was cut); null while it is still going.</summary>
    public DateTime? Finished { get; set; }
}

/// <summary>
/// A loopback HTTP/1.1 proxy in front of a registry that misbehaves on demand: it cuts the first response of each
/// blob after <see cref="CutBlobAfterBytes"/> body bytes (a connection broken mid-download), drops Range headers
/// (a server that cannot resume), and slows blob bodies to <see cref="BytesPerSecond"/>. Every request is recorded.
/// Each connection carries one request (it asks upstream to close), so responses need no parsing beyond their head.
/// </summary>
public sealed class RegistryProxy : LoopbackServer
{
    private readonly string _upstreamHost;
    private readonly int _upstreamPort;
    private readonly List<ProxiedRequest> _requests = [];
    private readonly HashSet<string> _cut = new(StringComparer.Ordinal);
    private readonly HashSet<string> _failed = new(StringComparer.Ordinal);

    public RegistryProxy(string upstreamAuthority)
    {
        var upstream = new Uri("http://" + upstreamAuthority);
        _upstreamHost = upstream.Host;
        _upstreamPort = upstream.Port;
        Start();
    }

    public long? CutBlobAfterBytes { get; set; }

    public bool IgnoreRange { get; set; }

    /// <summary>Answers the first GET of each blob with this status itself (a 503 from an overloaded registry).</summary>
    public int? FailFirstBlobGetWith { get; set; }

    /// <summary>0 for no limit.</summary>
    public long BytesPerSecond { get; set; }

    public IReadOnlyList<ProxiedRequest> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>The GETs of one blob, in order.</summary>
    public IReadOnlyList<ProxiedRequest> BlobGets(string digest) =>
        [.. Requests.Where(r => r.Method == "GET" && r.Path.EndsWith("/blobs/" + digest, StringComparison.Ordinal))];

    protected override async Task ServeAsync(Socket client)
    {
        using (client)
        using (var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            try
            {
                (string head, byte[] rest) = await ReadHeadAsync(client);
                if (head.Length == 0)
                {
                    return;
                }

                string[] lines = head.Split("\r\n");
                string[] start = lines[0].Split(' ');
                string? range = lines.Skip(1).FirstOrDefault(l => l.StartsWith("Range:", StringComparison.OrdinalIgnoreCase))?["Range:".Length..].Trim();
                var record = new ProxiedRequest(start[0], start[1], range);
                lock (_requests)
                {
                    _requests.Add(record);
                }

                var forwarded = new StringBuilder(lines[0]).Append("\r\n");
                foreach (string line in lines.Skip(1).Where(l => l.Length > 0))
                {
                    bool drop = line.StartsWith("Connection:", StringComparison.OrdinalIgnoreCase)
                        || (IgnoreRange && line.StartsWith("Range:", StringComparison.OrdinalIgnoreCase));
                    if (!drop)
                    {
                        forwarded.Append(line).Append("\r\n");
                    }
                }

                forwarded.Append("Connection: close\r\n\r\n");
                bool blob = record.Method == "GET" && record.Path.Contains("/blobs/", StringComparison.Ordinal);
                if (blob && FailFirstBlobGetWith is { } failure && FirstTime(_failed, record.Path))
                {
                    record.Status = failure;
                    await client.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {failure} Failing\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), SocketFlags.None, Stopping);
                    record.Finished = DateTime.UtcNow;
                    client.Shutdown(SocketShutdown.Both);
                    return;
                }

                await upstream.ConnectAsync(_upstreamHost, _upstreamPort, Stopping);
                await upstream.SendAsync(Encoding.ASCII.GetBytes(forwarded.ToString()), SocketFlags.None, Stopping);
                if (rest.Length > 0)
                {
                    await upstream.SendAsync(rest, SocketFlags.None, Stopping);
                }

                (string responseHead, byte[] body) = await ReadHeadAsync(upstream);
                string[] status = responseHead.Split(' ', 3);
                record.Status = status.Length > 1 && int.TryParse(status[1], out int code) ? code : 0;
                DateTime headSendBegan = DateTime.UtcNow;
                await client.SendAsync(Encoding.ASCII.GetBytes(responseHead), SocketFlags.None, Stopping);

                long? cutAt = blob && CutBlobAfterBytes is { } cut && FirstTime(_cut, record.Path) ? cut : null;

                record.Finished = await PipeBodyAsync(upstream, client, body, record, cutAt, blob ? BytesPerSecond : 0, headSendBegan);
                client.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or IOException or ObjectDisposedException)
            {
                // A side went away (berthd killed, the test over): this connection is done.
            }
        }
    }

    private static bool FirstTime(HashSet<string> seen, string path)
    {
        lock (seen)
        {
            return seen.Add(path);
        }
    }

    /// <summary>
    /// Passes the body on and answers when the send of its last bytes began: the client may have them all (it knows the
    /// length) and ask for the next blob while upstream has yet to close, or while this thread, preempted, has yet to
    /// read the clock after the send; a stamp taken before that send is earlier than anything the client does with it.
    /// The pace is kept before each send, never after the last one.
    /// </summary>
    private async Task<DateTime> PipeBodyAsync(Socket upstream, Socket client, byte[] first, ProxiedRequest record, long? cutAt, long bytesPerSecond, DateTime headSendBegan)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        byte[] buffer = new byte[1 << 16];
        ReadOnlyMemory<byte> chunk = first;
        DateTime lastSendBegan = headSendBegan; // an empty body: the head was the last of it
        while (true)
        {
            if (chunk.Length == 0)
            {
                int read = await upstream.ReceiveAsync(buffer, SocketFlags.None, Stopping);
                if (read == 0)
                {
                    return lastSendBegan;
                }

                chunk = buffer.AsMemory(0, read);
            }

            if (bytesPerSecond > 0)
            {
                TimeSpan wait = TimeSpan.FromSeconds((double)record.BodyBytes / bytesPerSecond) - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, Stopping);
                }
            }

            lastSendBegan = DateTime.UtcNow;
            if (cutAt is { } limit && record.BodyBytes + chunk.Length >= limit)
            {
                // The cut: exactly `limit` bytes reach the client, then the connection ends (FIN, so none is lost).
                await client.SendAsync(chunk[..(int)(limit - record.BodyBytes)], SocketFlags.None, Stopping);
                record.BodyBytes = limit;
                return lastSendBegan;
            }

            await client.SendAsync(chunk, SocketFlags.None, Stopping);
            record.BodyBytes += chunk.Length;
            chunk = ReadOnlyMemory<byte>.Empty;
        }
    }

    /// <summary>Bytes up to the blank line ending an HTTP head (as text, blank line included), and what came after it.</summary>
    private async Task<(string Head, byte[] Remainder)> ReadHeadAsync(Socket socket)
    {
        var received = new List<byte>();
        byte[] buffer = new byte[8192];
        while (received.Count < 1 << 20)
        {
            int read = await socket.ReceiveAsync(buffer, SocketFlags.None, Stopping);
            if (read == 0)
            {
                return ("", []);
            }

            received.AddRange(buffer.AsSpan(0, read));
            int end = IndexOfBlankLine(received);
            if (end >= 0)
            {
                return (Encoding.ASCII.GetString(received.GetRange(0, end + 4).ToArray()), received.GetRange(end + 4, received.Count - end - 4).ToArray());
            }
        }

        throw new IOException("an HTTP head over 1 MB");
    }

    private static int IndexOfBlankLine(List<byte> bytes)
    {
        for (int i = 0; i + 3 < bytes.Count; i++)
        {
            if (bytes[i] == '\r' && bytes[i + 1] == '\n' && bytes[i + 2] == '\r' && bytes[i + 3] == '\n')
            {
                return i;
            }
        }

        return -1;
    }
}
