using Xunit;

namespace Berth.Monitor.Tests;

public sealed class MonitorOptionsTests
{
    [Fact]
    public void Arguments_round_trip_with_absolute_paths()
    {
        MonitorOptions options = MonitorOptions.Parse(
            ["--id", "c1", "--bundle", "b", "--state", "/s", "--runtime", "runc", "--runtime-arg", "--debug", "--runtime-root", "/rr", "--runtime-arg", "--x=y", "--log", "/l.log", "--stdin"]);

        Assert.Equal(Path.GetFullPath("b"), options.Bundle);
        Assert.Equal("/usr/sbin/runc", options.Runtime); // bare names are resolved through PATH: posix_spawn does not search it
        Assert.Equal("/s/monitor.sock", options.SocketPath);
        Assert.True(options.Stdin);
        Assert.False(options.Foreground);

        // runtimeArgs go before --root in every runtime command, in their order.
        Assert.Equal(["/usr/sbin/runc", "--debug", "--x=y", "--root", "/rr"], options.RuntimeCommand());

        MonitorOptions child = MonitorOptions.Parse((options with { Foreground = true }).ToArguments());
        Assert.Equal(options.RuntimeArgs, child.RuntimeArgs);
        Assert.Equal(options with { Foreground = true }, child with { RuntimeArgs = options.RuntimeArgs }); // the list compares by reference
    }

    [Theory]
    [InlineData("--bundle", "/b", "--state", "/s", "--runtime", "/r", "--runtime-root", "/rr", "--log", "/l")]
    [InlineData("--id", "c1", "--bundle")]
    [InlineData("--id", "c1", "--tty")]
    public void Bad_arguments_are_rejected(params string[] args) =>
        Assert.Throws<ArgumentException>(() => MonitorOptions.Parse(args));
}
