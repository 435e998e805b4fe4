using Berth.Api.Types;
using Berth.Cli.Formatting;

namespace Berth.Cli.Tests;

public sealed class ProgressRendererTests
{
    private static ProgressMessage Layer(string id, string status, long current = 0, long total = 0) =>
        new() { Id = id, Status = status, ProgressDetail = new ProgressDetail { Current = current, Total = total } };

    [Theory]
    [InlineData(0, 0, 200, "")]
    [InlineData(12_345_678, 45_600_000, 200, "[=============>                                     ]  12.35MB/45.6MB")]
    [InlineData(45_600_000, 45_600_000, 200, "[==================================================>]   45.6MB/45.6MB")]
    [InlineData(512, 1000, 80, "    512B/1kB")]
    [InlineData(1500, 0, 200, "   1.5kB")]
    public void Bars_are_drawn_as_docker_draws_them(long current, long total, int width, string expected) =>
        Assert.Equal(expected, new ProgressDetail { Current = current, Total = total }.Render(width));

    [Fact]
    public void Without_a_terminal_lines_are_plain_and_byte_counts_are_left_out()
    {
        var renderer = new ProgressRenderer(terminal: false);
        string output = string.Concat(
            renderer.Render(new ProgressMessage { Id = "v1", Status = "Pulling from team/app" }),
            renderer.Render(Layer("aaaaaaaaaaaa", "Pulling fs layer")),
            renderer.Render(Layer("aaaaaaaaaaaa", "Downloading", 100, 1000)),
            renderer.Render(Layer("aaaaaaaaaaaa", "Pull complete")),
            renderer.Render(new ProgressMessage { Status = "Digest: sha256:abc" }),
            renderer.Render(new ProgressMessage { Status = "Status: Downloaded newer image for x:v1" }));

        Assert.Equal(
            "v1: Pulling from team/app\naaaaaaaaaaaa: Pulling fs layer\naaaaaaaaaaaa: Pull complete\nDigest: sha256:abc\nStatus: Downloaded newer image for x:v1\n",
            output);
        Assert.DoesNotContain('\u001b', output);
    }

    [Fact]
    public void On_a_terminal_each_layer_keeps_its_line_and_is_redrawn_in_place()
    {
        var renderer = new ProgressRenderer(terminal: true, width: 200);
        Assert.Equal("v1: Pulling from app\n", renderer.Render(new ProgressMessage { Id = "v1", Status = "Pulling from app" }));

        // A new layer opens a line below, goes up to it, draws, and comes back down.
        Assert.Equal("\n\u001b[1A\u001b[2K\raaaaaaaaaaaa: Pulling fs layer\r\u001b[1B", renderer.Render(Layer("aaaaaaaaaaaa", "Pulling fs layer")));
        Assert.Equal("\n\u001b[1A\u001b[2K\rbbbbbbbbbbbb: Pulling fs layer\r\u001b[1B", renderer.Render(Layer("bbbbbbbbbbbb", "Pulling fs layer")));

        // The first layer is two lines up now: its bar is redrawn there.
        Assert.Equal(
            "\u001b[2A\u001b[2K\raaaaaaaaaaaa: Downloading [=========================>                         ]     500B/1kB\r\u001b[2B",
            renderer.Render(Layer("aaaaaaaaaaaa", "Downloading", 500, 1000)));
        Assert.Equal("\u001b[1A\u001b[2K\rbbbbbbbbbbbb: Pull complete\r\u001b[1B", renderer.Render(Layer("bbbbbbbbbbbb", "Pull complete")));

        // A status line ends the block: it is printed below, and a later layer would start a new block.
        Assert.Equal("Digest: sha256:abc\n", renderer.Render(new ProgressMessage { Status = "Digest: sha256:abc" }));
        Assert.Equal("\n\u001b[1A\u001b[2K\raaaaaaaaaaaa: Pull complete\r\u001b[1B", renderer.Render(Layer("aaaaaaaaaaaa", "Pull complete")));
    }
}
