using System.Net.Sockets;
using System.Text;
using Berth.Api.Client;

namespace Berth.Cli.Tests;

/// <summary>
/// The hijacked attach stream and its framing, against a tiny in-process server on a temporary unix
/// socket (the real daemon's integration tests live elsewhere; this only checks the client's side of
/// the upgrade: request shape, bytes that arrive with the response head, half-close, error answers).
/// </summary>
public sealed class HijackTests : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("berth-cli-test-").FullName;
    private readonly List<string> _requests = [];
    private Socket? _listener;
    private Task? _serverLoop;

    private string SocketPath => Path.Combine(_directory, "berth.sock");

    [Fact]
    public async Task Attach_upgrades_negotiates_the_version_and_streams_frames_both_ways()
    {
        Start(async (head, connection) =>
        {
            if (head.StartsWith("GET /_ping ", StringComparison.Ordinal))
            {
                await SendAsync(connection, "HTTP/1.1 200 OK\r\nApi-Version: 1.44\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK");
                return;
            }

            // The response head and the first frame arrive in the same packet: the client must keep those bytes.
            byte[] head101 = Encoding.ASCII.GetBytes("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
            await connection.SendAsync((byte[])[.. head101, .. Frame(StdStreamKind.Stdout, "hello\n")]);

            // Echo stdin as stderr until the client half-closes.
            var stdin = new MemoryStream();
            byte[] buffer = new byte[1024];
            int n;
            while ((n = await connection.ReceiveAsync(buffer)) > 0)
            {
                stdin.Write(buffer, 0, n);
            }

            await connection.SendAsync(Frame(StdStreamKind.Stderr, "got:" + Encoding.UTF8.GetString(stdin.ToArray())));
            connection.Shutdown(SocketShutdown.Both);
        });

        using var client = new BerthClient(DaemonEndpoint.Parse("unix://" + SocketPath));
        using HijackedConnection attach = await client.AttachContainerAsync("abc", new AttachOptions { Stdin = true }, CancellationToken.None);
        Assert.Equal(101, attach.StatusCode);
        await attach.Stream.WriteAsync("ping"u8.ToArray());
        attach.CloseWrite();

        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        await StdStreamCodec.DemultiplexAsync(attach.Stream, stdout, stderr, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("hello\n", Encoding.UTF8.GetString(stdout.ToArray()));
        Assert.Equal("got:ping", Encoding.UTF8.GetString(stderr.ToArray()));
        string request = _requests.Single(r => r.StartsWith("POST", StringComparison.Ordinal));
        Assert.StartsWith("POST /v1.44/containers/abc/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n", request);
        Assert.Contains("\r\nConnection: Upgrade\r\n", request);
        Assert.Contains("\r\nUpgrade: tcp\r\n", request);
        Assert.Equal("1.44", client.ApiVersion?.ToString());
    }

    [Fact]
    public async Task Attach_accepts_a_plain_200_and_raw_tty_bytes()
    {
        Start(async (head, connection) =>
        {
            if (head.StartsWith("GET /_ping ", StringComparison.Ordinal))
            {
                await SendAsync(connection, "HTTP/1.1 200 OK\r\nApi-Version: 1.50\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK");
                return;
            }

            await SendAsync(connection, "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n");
            await SendAsync(connection, "raw tty output\r\n");
            connection.Shutdown(SocketShutdown.Both);
        });

        using var client = new BerthClient(DaemonEndpoint.Parse("unix://" + SocketPath));
        using HijackedConnection attach = await client.AttachContainerAsync("tty", new AttachOptions(), CancellationToken.None);
        var stdout = new MemoryStream();
        await StdStreamCodec.CopyRawAsync(attach.Stream, stdout, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(200, attach.StatusCode);
        Assert.Equal("raw tty output\r\n", Encoding.UTF8.GetString(stdout.ToArray()));
    }

    [Fact]
    public async Task Attach_error_answer_becomes_api_exception()
    {
        Start(async (head, connection) =>
        {
            if (head.StartsWith("GET /_ping ", StringComparison.Ordinal))
            {
                await SendAsync(connection, "HTTP/1.1 200 OK\r\nApi-Version: 1.50\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK");
                return;
            }

            const string body = "{\"message\":\"No such container: nope\"}";
            await SendAsync(connection, $"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{body.Length:x}\r\n{body}\r\n0\r\n\r\n");
        });

        using var client = new BerthClient(DaemonEndpoint.Parse("unix://" + SocketPath));
        BerthApiException e = await Assert.ThrowsAsync<BerthApiException>(
            () => client.AttachContainerAsync("nope", new AttachOptions(), CancellationToken.None));
        Assert.True(e.IsNotFound);
        Assert.Equal("Error response from daemon: No such container: nope", e.Message);
    }

    public async ValueTask DisposeAsync()
    {
        _listener?.Dispose();
        if (_serverLoop is not null)
        {
            await _serverLoop.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        Directory.Delete(_directory, recursive: true);
    }

    private static byte[] Frame(StdStreamKind kind, string text)
    {
        byte[] payload = Encoding.UTF8.GetBytes(text);
        byte[] frame = new byte[StdStreamCodec.HeaderSize + payload.Length];
        StdStreamCodec.WriteHeader(frame, kind, payload.Length);
        payload.CopyTo(frame, StdStreamCodec.HeaderSize);
        return frame;
    }

    private static async Task SendAsync(Socket connection, string text) => await connection.SendAsync(Encoding.ASCII.GetBytes(text));

    private void Start(Func<string, Socket, Task> handle)
    {
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _listener.Listen(8);
        _serverLoop = Task.Run(async () =>
        {
            var connections = new List<Task>();
            try
            {
                while (true)
                {
                    Socket connection = await _listener.AcceptAsync();
                    connections.Add(Task.Run(async () =>
                    {
                        using (connection)
                        {
                            string head = await ReadHeadAsync(connection);
                            lock (_requests)
                            {
                                _requests.Add(head);
                            }

                            await handle(head, connection);
                        }
                    }));
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // listener closed: the test is over
            }

            await Task.WhenAll(connections);
        });
    }

    /// <summary>Reads one request head byte by byte (so no stream bytes after it are consumed).</summary>
    private static async Task<string> ReadHeadAsync(Socket connection)
    {
        var head = new StringBuilder();
        byte[] one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await connection.ReceiveAsync(one) == 0)
            {
                break;
            }

            head.Append((char)one[0]);
        }

        return head.ToString();
    }
}
