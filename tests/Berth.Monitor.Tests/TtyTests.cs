using System.Net.Sockets;
using System.Text;
using Xunit;

namespace Berth.Monitor.Tests;

/// <summary>berth-monitor with <c>--tty</c>: the PTY master arrives over runc's console socket (needs root).</summary>
public sealed class TtyTests
{
    [Fact]
    public async Task A_tty_container_talks_through_its_terminal_and_takes_resize()
    {
        await using var harness = MonitorHarness.Create("sh", "-c", "read x; stty size; echo got $x");
        TestBundle.UseTerminal(harness.Bundle);
        _ = await harness.LaunchAsync(stdin: true, tty: true);
        Assert.False(File.Exists(Path.Combine(harness.State, "console.sock")), "the console socket is removed once the terminal arrived");
        using Socket attach = await harness.AttachAsync();
        using Socket wait = await harness.ConnectAsync("wait");
        await harness.StartAsync();

        using (Socket resize = await harness.ConnectAsync("resize 12 34"))
        {
            using var timeout = new CancellationTokenSource(MonitorHarness.Timeout);
            Assert.Equal(0, await resize.ReceiveAsync(new byte[1], SocketFlags.None, timeout.Token)); // done, then closed
        }

        await attach.SendAsync(Encoding.ASCII.GetBytes("hello\n"), SocketFlags.None);
        (string stdout, string stderr) = await MonitorHarness.ReadFramesAsync(attach);

        // The terminal echoes the input and turns \n into \r\n; everything is stdout.
        Assert.Equal("hello\r\n12 34\r\ngot hello\r\n", stdout);
        Assert.Equal("", stderr);
        Assert.Equal(0, (await MonitorHarness.ReadWaitAnswerAsync(wait)).GetProperty("exitCode").GetInt32());
        await harness.WaitForMonitorExitAsync();
    }
}
