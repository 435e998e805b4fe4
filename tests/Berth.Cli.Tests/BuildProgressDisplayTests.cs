using Berth.Cli.Commands;

namespace Berth.Cli.Tests;

/// <summary>berth build's output modes: plain passes the stream through, tty folds each step's output into a live window.</summary>
public class BuildProgressDisplayTests
{
    private const string Stream = "Step 1/2 : FROM busybox\n ---> abc\nStep 2/2 : RUN make\n ---> Running in 0123456789ab\n";

    [Fact]
    public async Task Plain_mode_writes_the_stream_as_it_comes()
    {
        using var output = new StringWriter();
        using var display = new BuildProgressDisplay(output, live: false);
        await display.WriteAsync(Stream);
        await display.WriteAsync("compiling\n");
        await display.FinishAsync();
        Assert.Equal(Stream + "compiling\n", output.ToString());
    }

    [Fact]
    public async Task Tty_mode_keeps_step_lines_shows_the_last_output_lines_in_a_window_and_folds_it_when_the_step_ends()
    {
        using var output = new StringWriter();
        using var display = new BuildProgressDisplay(output, live: true);
        await display.WriteAsync(Stream);
        for (int i = 1; i <= 10; i++)
        {
            await display.WriteAsync($"line {i}\n");
        }

        string during = output.ToString();
        Assert.Contains("Step 2/2 : RUN make\n", during, StringComparison.Ordinal);
        // Redrawn in place: cursor up and erase line before each redraw.
        Assert.Contains("\u001b[1A\u001b[2K", during, StringComparison.Ordinal);
        string lastFrame = during[(during.LastIndexOf("\u001b[2K", StringComparison.Ordinal) + 4)..];
        Assert.Equal(BuildProgressDisplay.WindowLines, lastFrame.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("line 10", lastFrame, StringComparison.Ordinal);
        Assert.DoesNotContain("line 4", lastFrame, StringComparison.Ordinal);

        await display.WriteAsync("Removing intermediate container 0123456789ab\n ---> def\n");
        await display.FinishAsync();
        string after = output.ToString()[during.Length..];
        Assert.EndsWith("Removing intermediate container 0123456789ab\n ---> def\n", after, StringComparison.Ordinal);
        Assert.DoesNotContain("line", after, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tty_mode_leaves_a_failing_step_s_output_on_screen()
    {
        using var output = new StringWriter();
        using var display = new BuildProgressDisplay(output, live: true);
        await display.WriteAsync(Stream + "error: no rule\npartial");
        await display.FailAsync();
        Assert.EndsWith("error: no rule\npartial\n", output.ToString(), StringComparison.Ordinal);
    }
}
