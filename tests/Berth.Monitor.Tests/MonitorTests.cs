using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Berth.Interop;
using Xunit;

namespace Berth.Monitor.Tests;

/// <summary>berth-monitor against real runc and a busybox bundle (needs root), driven as berthd drives it.</summary>
public sealed class MonitorTests
{
    [Fact]
    public async Task Output_reaches_attach_clients_and_the_json_log()
    {
        await using var harness = MonitorHarness.Create("sh", "-c", "echo out; echo err >&2; printf partial");
        JsonElement sync = await harness.LaunchAsync();
        Assert.True(sync.GetProperty("pid").GetInt32() > 0);
        Assert.True(File.Exists(harness.SocketPath));

        using Socket attach = await harness.AttachAsync();
        using Socket wait = await harness.ConnectAsync("wait");
        await harness.StartAsync();

        (string stdout, string stderr) = await MonitorHarness.ReadFramesAsync(attach);
        Assert.Equal("out\npartial", stdout);
        Assert.Equal("err\n", stderr);

        JsonElement exit = await MonitorHarness.ReadWaitAnswerAsync(wait);
        Assert.Equal(0, exit.GetProperty("exitCode").GetInt32());
        AssertTimestamp(exit.GetProperty("finishedAt").GetString()!);

        await harness.WaitForMonitorExitAsync();
        var entries = File.ReadAllLines(harness.LogPath)
            .Select(line => JsonDocument.Parse(line).RootElement)
            .Select(e =>
            {
                AssertTimestamp(e.GetProperty("time").GetString()!);
                return (e.GetProperty("stream").GetString(), e.GetProperty("log").GetString());
            })
            .ToList();
        Assert.Equal([("stdout", "out\n"), ("stdout", "partial")], entries.Where(e => e.Item1 == "stdout"));
        Assert.Equal([("stderr", "err\n")], entries.Where(e => e.Item1 == "stderr"));
        AssertExitFile(harness, 0);
    }

    [Fact]
    public async Task Wait_is_answered_only_after_all_output_is_delivered()
    {
        // Far more than the pipes hold (64 KiB each), so the container exits while output is still in flight.
        const int Lines = 20000;
        await using var harness = MonitorHarness.Create(
            "sh", "-c", $"i=0; while [ $i -lt {Lines} ]; do echo line$i; echo err$i >&2; i=$((i+1)); done");
        _ = await harness.LaunchAsync();
        using Socket attach = await harness.AttachAsync();
        using Socket wait = await harness.ConnectAsync("wait");
        await harness.StartAsync();

        Task<(string Stdout, string Stderr)> frames = MonitorHarness.ReadFramesAsync(attach);
        Assert.Equal(0, (await MonitorHarness.ReadWaitAnswerAsync(wait)).GetProperty("exitCode").GetInt32());

        // Read at once: the log holds everything by the time wait is answered. (A read can cut a line,
        // and the cut piece is an entry of its own, so entries are joined rather than counted.)
        string expectedOut = string.Concat(Enumerable.Range(0, Lines).Select(i => $"line{i}\n"));
        string expectedErr = string.Concat(Enumerable.Range(0, Lines).Select(i => $"err{i}\n"));
        var log = File.ReadAllLines(harness.LogPath).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        string LogOf(string stream) => string.Concat(log
            .Where(e => e.GetProperty("stream").GetString() == stream)
            .Select(e => e.GetProperty("log").GetString()));
        Assert.Equal(expectedOut, LogOf("stdout"));
        Assert.Equal(expectedErr, LogOf("stderr"));

        (string stdout, string stderr) = await frames;
        Assert.Equal(expectedOut, stdout);
        Assert.Equal(expectedErr, stderr);
        await harness.WaitForMonitorExitAsync();
    }

    [Fact]
    public async Task Wait_reports_the_exit_status()
    {
        await using var harness = MonitorHarness.Create("sh", "-c", "exit 3");
        _ = await harness.LaunchAsync();
        using Socket wait = await harness.ConnectAsync("wait");
        await harness.StartAsync();

        JsonElement exit = await MonitorHarness.ReadWaitAnswerAsync(wait);
        Assert.Equal(3, exit.GetProperty("exitCode").GetInt32());
        await harness.WaitForMonitorExitAsync();
        AssertExitFile(harness, 3);

        // The monitor deleted the container from the runtime on its way out.
        (int state, _) = await harness.RuncAsync("state", harness.Id);
        Assert.NotEqual(0, state);
    }

    [Fact]
    public async Task A_container_killed_by_a_signal_exits_128_plus_the_signal()
    {
        await using var harness = MonitorHarness.Create("sleep", "60");
        int pid = (await harness.LaunchAsync()).GetProperty("pid").GetInt32();
        using Socket attach = await harness.AttachAsync();
        using Socket wait = await harness.ConnectAsync("wait");
        await harness.StartAsync();

        Assert.True(ProcessControl.Kill(pid, 9));
        JsonElement exit = await MonitorHarness.ReadWaitAnswerAsync(wait);
        Assert.Equal(137, exit.GetProperty("exitCode").GetInt32());
        Assert.Equal((string.Empty, string.Empty), await MonitorHarness.ReadFramesAsync(attach));
        await harness.WaitForMonitorExitAsync();
        AssertExitFile(harness, 137);
    }

    [Fact]
    public async Task Stdin_from_an_attach_client_reaches_the_container_until_it_half_closes()
    {
        await using var harness = MonitorHarness.Create("cat");
        _ = await harness.LaunchAsync(stdin: true);
        using Socket attach = await harness.AttachAsync();
        using Socket wait = await harness.ConnectAsync("wait");
        await harness.StartAsync();

        await attach.SendAsync(Encoding.ASCII.GetBytes("hello\nworld"), SocketFlags.None);
        attach.Shutdown(SocketShutdown.Send);

        (string stdout, string stderr) = await MonitorHarness.ReadFramesAsync(attach);
        Assert.Equal("hello\nworld", stdout);
        Assert.Equal(string.Empty, stderr);
        Assert.Equal(0, (await MonitorHarness.ReadWaitAnswerAsync(wait)).GetProperty("exitCode").GetInt32());
        await harness.WaitForMonitorExitAsync();
    }

    [Fact]
    public async Task Without_stdin_the_container_reads_end_of_file()
    {
        await using var harness = MonitorHarness.Create("sh", "-c", "cat; echo done");
        _ = await harness.LaunchAsync();
        using Socket attach = await harness.AttachAsync();
        await harness.StartAsync();

        (string stdout, _) = await MonitorHarness.ReadFramesAsync(attach);
        Assert.Equal("done\n", stdout);
        await harness.WaitForMonitorExitAsync();
        AssertExitFile(harness, 0);
    }

    [Fact]
    public async Task A_create_failure_is_reported_on_the_sync_pipe()
    {
        await using var harness = MonitorHarness.Create("nosuchcmd");
        JsonElement sync = await harness.LaunchAsync();

        Assert.Contains("executable file not found", sync.GetProperty("error").GetString(), StringComparison.Ordinal);
        await harness.WaitForMonitorExitAsync();
        Assert.False(File.Exists(harness.ExitPath));
        (int state, _) = await harness.RuncAsync("state", harness.Id);
        Assert.NotEqual(0, state);
    }

    private static void AssertExitFile(MonitorHarness harness, int exitCode)
    {
        string text = File.ReadAllText(harness.ExitPath);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        JsonElement exit = JsonDocument.Parse(text).RootElement;
        Assert.Equal(exitCode, exit.GetProperty("exitCode").GetInt32());
        AssertTimestamp(exit.GetProperty("finishedAt").GetString()!);
        Assert.False(File.Exists(harness.ExitPath + ".tmp"));
    }

    /// <summary>RFC 3339 in UTC with nanoseconds, as Docker writes it: 2026-11-23T11:00:00.123456789Z.</summary>
    private static void AssertTimestamp(string value)
    {
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$", value);
        DateTime parsed = DateTime.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
        Assert.InRange(parsed, DateTime.UtcNow.AddMinutes(-5), DateTime.UtcNow.AddMinutes(1));
    }
}
