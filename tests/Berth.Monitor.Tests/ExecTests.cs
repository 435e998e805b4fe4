using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Monitor.Tests;

/// <summary>The monitor's <c>exec NAME [stdin]</c> command against real runc (needs root).</summary>
public sealed class ExecTests
{
    [Fact]
    public async Task Exec_streams_output_frames_then_an_exit_frame()
    {
        await using var harness = await RunningAsync();
        WriteProcess(harness, "a1", "sh", "-c", "echo out; echo err >&2; exit 3");

        using Socket exec = await harness.ConnectAsync("exec a1");
        (string stdout, string stderr, JsonElement exit) = await ReadExecAsync(exec);

        Assert.Equal("out\n", stdout);
        Assert.Equal("err\n", stderr);
        Assert.Equal(3, exit.GetProperty("exitCode").GetInt32());
        Assert.False(exit.TryGetProperty("error", out _));
        Assert.False(File.Exists(Path.Combine(harness.State, "a1.exec.json")), "the monitor removes the exec's files");
    }

    [Fact]
    public async Task Exec_with_stdin_gets_the_clients_bytes_until_it_half_closes()
    {
        await using var harness = await RunningAsync();
        WriteProcess(harness, "b2", "cat");

        using Socket exec = await harness.ConnectAsync("exec b2 stdin");
        await exec.SendAsync(Encoding.ASCII.GetBytes("hello\n"), SocketFlags.None);
        exec.Shutdown(SocketShutdown.Send);
        (string stdout, _, JsonElement exit) = await ReadExecAsync(exec);

        Assert.Equal("hello\n", stdout);
        Assert.Equal(0, exit.GetProperty("exitCode").GetInt32());
    }

    [Fact]
    public async Task Exec_of_a_missing_executable_reports_the_runtime_error()
    {
        await using var harness = await RunningAsync();
        WriteProcess(harness, "c3", "nosuchcmd");

        using Socket exec = await harness.ConnectAsync("exec c3");
        (_, _, JsonElement exit) = await ReadExecAsync(exec);

        Assert.NotEqual(0, exit.GetProperty("exitCode").GetInt32());
        Assert.Contains("executable file not found", exit.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("exec ../x")]
    [InlineData("exec A1")]
    [InlineData("exec a1 stdout")]
    [InlineData("exec a1 tty tty")]
    public async Task A_bad_exec_line_closes_the_connection(string line)
    {
        await using var harness = await RunningAsync();

        using Socket exec = await harness.ConnectAsync(line);
        using var timeout = new CancellationTokenSource(MonitorHarness.Timeout);
        Assert.Equal(0, await exec.ReceiveAsync(new byte[16], SocketFlags.None, timeout.Token));
    }

    private static async Task<MonitorHarness> RunningAsync()
    {
        var harness = MonitorHarness.Create("sleep", "30");
        _ = await harness.LaunchAsync();
        await harness.StartAsync();
        return harness;
    }

    private static void WriteProcess(MonitorHarness harness, string name, params string[] args)
    {
        var process = new JsonObject
        {
            ["user"] = new JsonObject { ["uid"] = 0, ["gid"] = 0 },
            ["args"] = new JsonArray([.. args.Select(a => JsonValue.Create(a))]),
            ["env"] = new JsonArray("PATH=/bin"),
            ["cwd"] = "/",
        };
        File.WriteAllText(Path.Combine(harness.State, name + ".exec.json"), process.ToJsonString());
    }

    /// <summary>Reads frames to EOF: stdout, stderr, and the payload of the one stream-0 frame (the exit).</summary>
    private static async Task<(string Stdout, string Stderr, JsonElement Exit)> ReadExecAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(MonitorHarness.Timeout);
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        JsonElement? exit = null;
        byte[] header = new byte[8];
        while (await ReceiveAsync(socket, header, timeout.Token))
        {
            byte[] payload = new byte[BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4))];
            Assert.True(await ReceiveAsync(socket, payload, timeout.Token), "a frame was cut short");
            switch (header[0])
            {
                case 1: stdout.Write(payload); break;
                case 2: stderr.Write(payload); break;
                case 0:
                    Assert.Null(exit);
                    exit = JsonDocument.Parse(payload).RootElement.Clone();
                    break;
                default: throw new InvalidDataException($"stream {header[0]}");
            }
        }

        Assert.True(exit.HasValue, "no exit frame");
        return (Encoding.UTF8.GetString(stdout.ToArray()), Encoding.UTF8.GetString(stderr.ToArray()), exit.Value);
    }

    private static async Task<bool> ReceiveAsync(Socket socket, byte[] buffer, CancellationToken cancellationToken)
    {
        int got = 0;
        while (got < buffer.Length)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(got), SocketFlags.None, cancellationToken);
            if (n == 0)
            {
                Assert.True(got == 0, "EOF inside a frame");
                return false;
            }

            got += n;
        }

        return true;
    }
}
