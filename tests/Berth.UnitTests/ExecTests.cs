using Berth.Engine.Containers;
using Berth.Runtime;

namespace Berth.UnitTests;

public class ExecExitCodeTests
{
    [Theory]
    [InlineData(0, null, 0)]
    [InlineData(4, null, 4)]
    [InlineData(137, null, 137)]
    [InlineData(1, "exec failed: unable to start container process: exec: \"nosuch\": executable file not found in $PATH", 127)]
    [InlineData(1, "exec failed: unable to start container process: exec: \"/x\": stat /x: no such file or directory", 127)]
    [InlineData(1, "exec failed: unable to start container process: exec: \"/etc/hostname\": permission denied", 126)]
    public void The_monitors_exit_frame_maps_to_dockers_exit_code(int exitCode, string? error, int expected)
    {
        Assert.Equal(expected, ExecService.ExitCodeOf(new MonitorExecExit { ExitCode = exitCode, Error = error }));
    }

    [Fact]
    public void A_connection_that_ended_without_an_exit_frame_is_126()
    {
        Assert.Equal(126, ExecService.ExitCodeOf(null));
    }
}
