using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Berth.Api.Client;

/// <summary>
/// A connection taken over ("hijacked") for a raw bidirectional byte stream, as attach and exec start
/// use it: the client sends an HTTP/1.1 request with <c>Connection: Upgrade</c> and <c>Upgrade: tcp</c>,
/// the daemon answers <c>101 UPGRADED</c> (or <c>200 OK</c>, which old daemons and clients use), and from
/// then on the socket carries the container's stdio. <see cref="Stream"/> reads the bytes that came in
/// with the response head first, then the socket; writes go to the container's stdin.
/// </summary>
public sealed class HijackedConnection : IAsyncDisposable, IDisposable
{
    private const int MaxHeadSize = 64 * 1024;
    private const int MaxErrorBodySize = 1024 * 1024;

    private readonly Socket _socket;

    private HijackedConnection(Socket socket, Stream stream, int statusCode)
    {
        _socket = socket;
        Stream = stream;
        StatusCode = statusCode;
    }

    /// <summary>The raw stream: multiplexed frames without a TTY, plain bytes with one.</summary>
    public Stream Stream { get; }

    /// <summary>101 when the daemon upgraded, 200 when it just kept the connection.</summary>
    public int StatusCode { get; }

    /// <summary>Half-closes the connection: the container sees end-of-file on stdin, output keeps coming.</summary>
    public void CloseWrite()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // Already closed by the daemon: nothing left to signal.
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        Stream.Dispose();
        _socket.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Sends the upgrade request on a new connection and reads the response head.</summary>
    /// <exception cref="BerthApiException">The daemon answered with an error status.</exception>
    /// <exception cref="DaemonUnavailableException">The daemon cannot be reached.</exception>
    internal static async Task<HijackedConnection> OpenAsync(
        DaemonEndpoint endpoint,
        string method,
        string pathAndQuery,
        string hostHeader,
        string userAgent,
        ReadOnlyMemory<byte> body,
        string? contentType,
        CancellationToken cancellationToken)
    {
        Socket socket;
        try
        {
            socket = await endpoint.ConnectAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new DaemonUnavailableException(endpoint.Host, e);
        }

        try
        {
            var network = new NetworkStream(socket, ownsSocket: false);
            byte[] request = BuildRequest(method, pathAndQuery, hostHeader, userAgent, body.Length, contentType);
            await network.WriteAsync(request, cancellationToken).ConfigureAwait(false);
            if (!body.IsEmpty)
            {
                await network.WriteAsync(body, cancellationToken).ConfigureAwait(false);
            }

            (int status, Dictionary<string, string> headers, byte[] buffer, int headEnd, int filled) =
                await ReadHeadAsync(network, cancellationToken).ConfigureAwait(false);

            if (status is 101 or (>= 200 and < 300))
            {
                var stream = new HijackedStream(network, buffer, headEnd, filled);
                return new HijackedConnection(socket, stream, status);
            }

            byte[] errorBody = await ReadBodyAsync(network, headers, buffer, headEnd, filled, cancellationToken).ConfigureAwait(false);
            headers.TryGetValue("Content-Type", out string? type);
            throw BerthClient.CreateApiException((HttpStatusCode)status, errorBody, type, pathAndQuery);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    internal static byte[] BuildRequest(string method, string pathAndQuery, string hostHeader, string userAgent, int bodyLength, string? contentType)
    {
        var sb = new StringBuilder(256);
        sb.Append(method).Append(' ').Append(pathAndQuery).Append(" HTTP/1.1\r\n");
        sb.Append("Host: ").Append(hostHeader).Append("\r\n");
        sb.Append("User-Agent: ").Append(userAgent).Append("\r\n");
        sb.Append("Content-Type: ").Append(contentType ?? "text/plain").Append("\r\n");
        if (bodyLength > 0)
        {
            sb.Append("Content-Length: ").Append(bodyLength.ToString(CultureInfo.InvariantCulture)).Append("\r\n");
        }

        sb.Append("Connection: Upgrade\r\n");
        sb.Append("Upgrade: tcp\r\n");
        sb.Append("\r\n");
        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    /// <summary>Reads up to the end of the response head; bytes after it stay in the buffer (from headEnd to filled).</summary>
    internal static async Task<(int Status, Dictionary<string, string> Headers, byte[] Buffer, int HeadEnd, int Filled)> ReadHeadAsync(
        Stream network, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[4096];
        int filled = 0;
        int scanFrom = 0;
        while (true)
        {
            int end = buffer.AsSpan(scanFrom, filled - scanFrom).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                int headEnd = scanFrom + end + 4;
                (int status, Dictionary<string, string> headers) = ParseHead(Encoding.Latin1.GetString(buffer, 0, headEnd - 4));
                return (status, headers, buffer, headEnd, filled);
            }

            scanFrom = Math.Max(0, filled - 3);
            if (filled == buffer.Length)
            {
                if (buffer.Length >= MaxHeadSize)
                {
                    throw new BerthProtocolException("the daemon's response head is too large");
                }

                Array.Resize(ref buffer, buffer.Length * 2);
            }

            int read = await network.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new BerthProtocolException("the daemon closed the connection before answering");
            }

            filled += read;
        }
    }

    internal static (int Status, Dictionary<string, string> Headers) ParseHead(string head)
    {
        string[] lines = head.Split("\r\n");
        string statusLine = lines[0];
        string[] parts = statusLine.Split(' ', 3);
        if (parts.Length < 2 || !parts[0].StartsWith("HTTP/", StringComparison.Ordinal)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int status))
        {
            throw new BerthProtocolException($"malformed HTTP response \"{statusLine}\"");
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 1; i < lines.Length; i++)
        {
            int colon = lines[i].IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                headers[lines[i][..colon].Trim()] = lines[i][(colon + 1)..].Trim();
            }
        }

        return (status, headers);
    }

    private static async Task<byte[]> ReadBodyAsync(
        Stream network, Dictionary<string, string> headers, byte[] buffer, int headEnd, int filled, CancellationToken cancellationToken)
    {
        using var body = new MemoryStream();
        body.Write(buffer, headEnd, filled - headEnd);
        bool chunked = headers.TryGetValue("Transfer-Encoding", out string? te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase);
        long? length = headers.TryGetValue("Content-Length", out string? cl)
            && long.TryParse(cl, NumberStyles.None, CultureInfo.InvariantCulture, out long parsed) ? parsed : null;

        byte[] chunk = new byte[4096];
        while (body.Length < MaxErrorBodySize && (length is null || body.Length < length))
        {
            if (chunked && EndsChunked(body))
            {
                break;
            }

            int read = await network.ReadAsync(chunk, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            body.Write(chunk, 0, read);
        }

        byte[] raw = body.ToArray();
        if (length is long n && raw.Length > n)
        {
            raw = raw[..(int)n];
        }

        return chunked ? DecodeChunked(raw) : raw;
    }

    private static bool EndsChunked(MemoryStream body) =>
        body.Length >= 5 && body.GetBuffer().AsSpan(0, (int)body.Length).EndsWith("0\r\n\r\n"u8);

    internal static byte[] DecodeChunked(byte[] raw)
    {
        using var output = new MemoryStream();
        int pos = 0;
        while (pos < raw.Length)
        {
            int lineEnd = raw.AsSpan(pos).IndexOf("\r\n"u8);
            if (lineEnd < 0)
            {
                break;
            }

            string sizeText = Encoding.ASCII.GetString(raw, pos, lineEnd).Split(';')[0].Trim();
            if (!int.TryParse(sizeText, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int size) || size == 0)
            {
                break;
            }

            pos += lineEnd + 2;
            size = Math.Min(size, raw.Length - pos);
            output.Write(raw, pos, size);
            pos += size + 2;
        }

        return output.ToArray();
    }

    /// <summary>Reads what came in after the response head first, then the socket.</summary>
    private sealed class HijackedStream(NetworkStream network, byte[] pending, int start, int end) : Stream
    {
        private int _start = start;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> destination)
        {
            if (TakeBuffered(destination, out int n))
            {
                return n;
            }

            return network.Read(destination);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
        {
            if (TakeBuffered(destination.Span, out int n))
            {
                return ValueTask.FromResult(n);
            }

            return network.ReadAsync(destination, cancellationToken);
        }

        public override void Write(byte[] buffer, int offset, int count) => network.Write(buffer, offset, count);

        public override void Write(ReadOnlySpan<byte> source) => network.Write(source);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            network.WriteAsync(buffer, offset, count, cancellationToken);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
            network.WriteAsync(source, cancellationToken);

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                network.Dispose();
            }

            base.Dispose(disposing);
        }

        private bool TakeBuffered(Span<byte> destination, out int count)
        {
            count = 0;
            if (_start >= end || destination.IsEmpty)
            {
                return false;
            }

            count = Math.Min(destination.Length, end - _start);
            pending.AsSpan(_start, count).CopyTo(destination);
            _start += count;
            return true;
        }
    }
}
