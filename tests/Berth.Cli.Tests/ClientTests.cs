using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Berth.Api.Client;
using Berth.Api.Types;

namespace Berth.Cli.Tests;

public class HostTests
{
    [Theory]
    [InlineData("unix:///run/berth/berth.sock", "unix:///run/berth/berth.sock", "/run/berth/berth.sock", null, 0)]
    [InlineData("unix://", "unix:///run/berth/berth.sock", "/run/berth/berth.sock", null, 0)]
    [InlineData("/tmp/b.sock", "unix:///tmp/b.sock", "/tmp/b.sock", null, 0)]
    [InlineData("tcp://127.0.0.1:2376", "tcp://127.0.0.1:2376", null, "127.0.0.1", 2376)]
    [InlineData("tcp://localhost", "tcp://localhost:2375", null, "localhost", 2375)]
    [InlineData("tcp://:2375", "tcp://127.0.0.1:2375", null, "127.0.0.1", 2375)]
    [InlineData("tcp://[::1]:2375", "tcp://[::1]:2375", null, "::1", 2375)]
    [InlineData("http://127.0.0.1:80/", "tcp://127.0.0.1:80", null, "127.0.0.1", 80)]
    public void Hosts_parse(string host, string shown, string? socket, string? tcpHost, int port)
    {
        DaemonEndpoint e = DaemonEndpoint.Parse(host);
        Assert.Equal(shown, e.Host);
        Assert.Equal(socket, e.SocketPath);
        Assert.Equal(tcpHost, e.TcpHost);
        Assert.Equal(port, e.TcpPort);
    }

    [Theory]
    [InlineData("ssh://me@host")]
    [InlineData("berth.sock")]
    [InlineData("tcp://host:notaport")]
    [InlineData("tcp://host:2375/path")]
    public void Bad_hosts_are_rejected(string host) => Assert.Throws<FormatException>(() => DaemonEndpoint.Parse(host));

    [Fact]
    public void Host_precedence_is_flag_then_berth_host_then_docker_host()
    {
        var env = new Dictionary<string, string> { ["BERTH_HOST"] = "unix:///b.sock", ["DOCKER_HOST"] = "unix:///d.sock" };
        Assert.Equal("tcp://x:1", DaemonEndpoint.ResolveHost("tcp://x:1", k => env.GetValueOrDefault(k)));
        Assert.Equal("unix:///b.sock", DaemonEndpoint.ResolveHost(null, k => env.GetValueOrDefault(k)));
        env.Remove("BERTH_HOST");
        Assert.Equal("unix:///d.sock", DaemonEndpoint.ResolveHost("", k => env.GetValueOrDefault(k)));
        env.Clear();
        Assert.Equal(DaemonEndpoint.DefaultHost, DaemonEndpoint.ResolveHost(null, k => env.GetValueOrDefault(k)));
    }

    [Fact]
    public void Api_versions_compare_numerically_and_negotiate_down()
    {
        Assert.True(ApiVersion.Parse("1.9") < ApiVersion.Parse("1.10"));
        Assert.Equal("1.44", ApiVersion.Negotiate(ApiVersion.Parse("1.44"), ApiVersion.Max).ToString());
        Assert.Equal("1.50", ApiVersion.Negotiate(ApiVersion.Parse("1.51"), ApiVersion.Max).ToString());
        Assert.False(ApiVersion.TryParse("one.two", out _));
    }

    [Fact]
    public async Task Missing_socket_gives_docker_like_message()
    {
        using var client = new BerthClient(DaemonEndpoint.Parse("unix:///nonexistent/dir/berth.sock"));
        DaemonUnavailableException e = await Assert.ThrowsAsync<DaemonUnavailableException>(() => client.PingAsync(CancellationToken.None));
        Assert.Equal("Cannot connect to the Berth daemon at unix:///nonexistent/dir/berth.sock. Is the berth daemon running?", e.Message);
    }

    [Fact]
    public void Filters_serialize_like_docker()
    {
        var filters = new ApiFilters().AddArgument("status=exited").AddArgument("label=a=b").Add("status", "created");
        Assert.Equal("{\"label\":{\"a=b\":true},\"status\":{\"created\":true,\"exited\":true}}", filters.ToJson());
    }

    [Fact]
    public void Error_bodies_become_daemon_messages()
    {
        BerthApiException json = BerthClient.CreateApiException(HttpStatusCode.NotFound, Encoding.UTF8.GetBytes("{\"message\":\"No such container: x\"}"), "application/json", "/v1.50/containers/x/json");
        Assert.Equal("Error response from daemon: No such container: x", json.Message);
        Assert.True(json.IsNotFound);
        BerthApiException text = BerthClient.CreateApiException(HttpStatusCode.InternalServerError, Encoding.UTF8.GetBytes("boom\n"), "text/plain", "/x");
        Assert.Equal("Error response from daemon: boom", text.Message);
    }
}

public class DemultiplexerTests
{
    private static byte[] Frame(StdStreamKind kind, string text)
    {
        byte[] payload = Encoding.UTF8.GetBytes(text);
        byte[] frame = new byte[8 + payload.Length];
        StdStreamCodec.WriteHeader(frame, kind, payload.Length);
        payload.CopyTo(frame, 8);
        return frame;
    }

    [Fact]
    public async Task Frames_go_to_their_streams()
    {
        byte[] input = [.. Frame(StdStreamKind.Stdout, "out1\n"), .. Frame(StdStreamKind.Stderr, "err\n"), .. Frame(StdStreamKind.Stdout, "out2\n"), .. Frame(StdStreamKind.Stdin, "in\n")];
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        long written = await StdStreamCodec.DemultiplexAsync(new MemoryStream(input), stdout, stderr, CancellationToken.None);
        Assert.Equal("out1\nout2\nin\n", Encoding.UTF8.GetString(stdout.ToArray()));
        Assert.Equal("err\n", Encoding.UTF8.GetString(stderr.ToArray()));
        Assert.Equal(17, written);
    }

    [Fact]
    public void Header_is_stream_then_big_endian_length()
    {
        byte[] header = new byte[8];
        StdStreamCodec.WriteHeader(header, StdStreamKind.Stderr, 0x01020304);
        Assert.Equal(new byte[] { 2, 0, 0, 0, 1, 2, 3, 4 }, header);
    }

    [Fact]
    public async Task Frames_split_across_reads_are_reassembled()
    {
        byte[] input = [.. Frame(StdStreamKind.Stdout, new string('x', 100_000)), .. Frame(StdStreamKind.Stderr, "tail")];
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        await StdStreamCodec.DemultiplexAsync(new TrickleStream(input, 3), stdout, stderr, CancellationToken.None);
        Assert.Equal(100_000, stdout.Length);
        Assert.Equal("tail", Encoding.UTF8.GetString(stderr.ToArray()));
    }

    [Fact]
    public async Task Truncated_stream_ends_quietly_like_docker()
    {
        byte[] whole = Frame(StdStreamKind.Stdout, "complete");
        byte[] partial = Frame(StdStreamKind.Stdout, "cut-off");
        byte[] input = [.. whole, .. partial[..10]];
        var stdout = new MemoryStream();
        await StdStreamCodec.DemultiplexAsync(new MemoryStream(input), stdout, new MemoryStream(), CancellationToken.None);
        Assert.StartsWith("complete", Encoding.UTF8.GetString(stdout.ToArray()));
    }

    [Fact]
    public async Task System_error_frame_is_raised()
    {
        byte[] input = Frame(StdStreamKind.SystemError, "container died");
        BerthProtocolException e = await Assert.ThrowsAsync<BerthProtocolException>(
            () => StdStreamCodec.DemultiplexAsync(new MemoryStream(input), new MemoryStream(), new MemoryStream(), CancellationToken.None));
        Assert.Equal("error from daemon in stream: container died", e.Message);
    }

    [Fact]
    public async Task Unknown_stream_is_rejected()
    {
        byte[] input = [9, 0, 0, 0, 0, 0, 0, 1, 0];
        await Assert.ThrowsAsync<BerthProtocolException>(
            () => StdStreamCodec.DemultiplexAsync(new MemoryStream(input), new MemoryStream(), new MemoryStream(), CancellationToken.None));
    }

    [Fact]
    public async Task Progress_stream_yields_each_line()
    {
        string text = "{\"status\":\"Creating busybox\"}\r\n\r\n{\"id\":\"abc\",\"status\":\"Done\"}\n{\"error\":\"bad\"}";
        var messages = new List<ProgressMessage>();
        await foreach (ProgressMessage m in BerthClient.ReadProgressAsync(new MemoryStream(Encoding.UTF8.GetBytes(text)), CancellationToken.None))
        {
            messages.Add(m);
        }

        Assert.Equal(3, messages.Count);
        Assert.Equal("Creating busybox\n", Commands.ImageCommands.ProgressLine(messages[0]));
        Assert.Equal("abc: Done\n", Commands.ImageCommands.ProgressLine(messages[1]));
        Assert.Equal("bad", messages[2].Error);
    }

    /// <summary>Returns at most N bytes per read, to exercise reassembly.</summary>
    [Fact]
    public async Task Interleaved_streams_keep_their_order_in_one_sink()
    {
        byte[] input = [.. Frame(StdStreamKind.Stdout, "1"), .. Frame(StdStreamKind.Stderr, "2"), .. Frame(StdStreamKind.Stdout, "3"), .. Frame(StdStreamKind.Stderr, "4")];
        var sink = new MemoryStream();
        await StdStreamCodec.DemultiplexAsync(new MemoryStream(input), sink, sink, CancellationToken.None);
        Assert.Equal("1234", Encoding.UTF8.GetString(sink.ToArray()));
    }

    [Fact]
    public async Task A_big_frame_after_small_ones_keeps_its_place()
    {
        string big = new('b', 40_000);
        byte[] input = [.. Frame(StdStreamKind.Stdout, "small1 "), .. Frame(StdStreamKind.Stdout, "small2 "), .. Frame(StdStreamKind.Stdout, big), .. Frame(StdStreamKind.Stdout, " end")];
        var stdout = new MemoryStream();
        await StdStreamCodec.DemultiplexAsync(new MemoryStream(input), stdout, new MemoryStream(), CancellationToken.None);
        Assert.Equal("small1 small2 " + big + " end", Encoding.UTF8.GetString(stdout.ToArray()));
    }

    [Fact]
    public async Task Output_in_hand_is_written_before_waiting_for_more()
    {
        // The first read yields one frame, the second waits until that frame has reached stdout: batching must not
        // hold interactive output back while the source is quiet.
        var stdout = new MemoryStream();
        var source = new GatedStream(Frame(StdStreamKind.Stdout, "prompt$ "), Frame(StdStreamKind.Stdout, "done"), () => stdout.Length > 0);
        await StdStreamCodec.DemultiplexAsync(source, stdout, new MemoryStream(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("prompt$ done", Encoding.UTF8.GetString(stdout.ToArray()));
    }

    [Fact]
    public async Task Many_small_frames_become_few_writes()
    {
        var payload = new List<byte>();
        for (int i = 0; i < 1000; i++)
        {
            payload.AddRange(Frame(StdStreamKind.Stdout, new string('x', 100) + "\n"));
        }

        var stdout = new CountingStream();
        long written = await StdStreamCodec.DemultiplexAsync(new MemoryStream([.. payload]), stdout, new MemoryStream(), CancellationToken.None);
        Assert.Equal(101_000, written);
        Assert.Equal(101_000, stdout.Length);
        Assert.InRange(stdout.Writes, 1, 10);
    }

    private sealed class CountingStream : MemoryStream
    {
        public int Writes { get; private set; }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Writes++;
            return base.WriteAsync(buffer, cancellationToken);
        }
    }

    /// <summary>Gives <paramref name="first"/>, then <paramref name="second"/> once <paramref name="ready"/> holds (bounded), then ends.</summary>
    private sealed class GatedStream(byte[] first, byte[] second, Func<bool> ready) : Stream
    {
        private int _step;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            switch (_step++)
            {
                case 0:
                    first.CopyTo(buffer);
                    return first.Length;
                case 1:
                    for (int i = 0; i < 200 && !ready(); i++)
                    {
                        await Task.Delay(10, cancellationToken);
                    }

                    if (!ready())
                    {
                        throw new IOException("the first frame was not written before the next read");
                    }

                    second.CopyTo(buffer);
                    return second.Length;
                default:
                    return 0;
            }
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private sealed class TrickleStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, chunk));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, chunk)], cancellationToken);
    }
}

public class TopFormatTests
{
    [Fact]
    public void Top_is_a_table_with_dockers_spacing()
    {
        var top = new Berth.Api.Types.ContainerTopResponse
        {
            Titles = ["UID", "PID", "CMD"],
            Processes = [["root", "4242", "sleep 300"]],
        };
        Assert.Equal(
            "UID                 PID                 CMD\nroot                4242                sleep 300\n",
            Berth.Cli.Commands.ContainerControlCommands.FormatTop(top));
    }
}

public class ChangeCommandTests
{
    [Theory]
    [InlineData("repo", "repo", null)]
    [InlineData("repo:v1", "repo", "v1")]
    [InlineData("localhost:5000/repo", "localhost:5000/repo", null)]
    [InlineData("localhost:5000/repo:v2", "localhost:5000/repo", "v2")]
    public void References_split_into_repository_and_tag(string reference, string repository, string? tag) =>
        Assert.Equal((repository, tag), Berth.Cli.Commands.ChangeCommands.SplitReference(reference));

    [Fact]
    public void Changes_print_as_docker_diff_does()
    {
        Assert.Equal("C /etc", Berth.Cli.Commands.ChangeCommands.FormatChange(new Berth.Api.Types.FilesystemChange { Path = "/etc", Kind = 0 }));
        Assert.Equal("A /new", Berth.Cli.Commands.ChangeCommands.FormatChange(new Berth.Api.Types.FilesystemChange { Path = "/new", Kind = 1 }));
        Assert.Equal("D /gone", Berth.Cli.Commands.ChangeCommands.FormatChange(new Berth.Api.Types.FilesystemChange { Path = "/gone", Kind = 2 }));
    }
}
