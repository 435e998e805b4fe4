namespace Berth.Cli.Tests;

public class CliTests
{
    [Fact]
    public async Task Unknown_flag_prints_docker_message_and_exits_125()
    {
        using var console = new TestConsole();
        int code = await console.RunAsync("run", "--foo", "busybox");
        Assert.Equal(125, code);
        Assert.Equal("unknown flag: --foo\nSee 'berth run --help'.\n", console.Err.ToString());
    }

    [Fact]
    public async Task Unknown_flag_of_a_subcommand_names_its_full_path()
    {
        using var console = new TestConsole();
        Assert.Equal(125, await console.RunAsync("container", "ls", "--nope"));
        Assert.Equal("unknown flag: --nope\nSee 'berth container ls --help'.\n", console.Err.ToString());
    }

    [Fact]
    public async Task Version_flag_prints_version_line()
    {
        using var console = new TestConsole();
        Assert.Equal(0, await console.RunAsync("-v"));
        Assert.StartsWith("Berth version 0.1.0, build ", console.Out.ToString());
    }

    [Fact]
    public async Task Missing_arguments_are_reported_with_usage()
    {
        using var console = new TestConsole();
        Assert.Equal(1, await console.RunAsync("rm"));
        Assert.Equal(
            "\"berth rm\" requires at least 1 argument.\nSee 'berth rm --help'.\n\nUsage:  berth rm [OPTIONS] CONTAINER [CONTAINER...]\n\nRemove one or more containers\n",
            console.Err.ToString());
    }

    [Fact]
    public async Task Help_shows_usage_aliases_and_options()
    {
        using var console = new TestConsole();
        Assert.Equal(0, await console.RunAsync("ps", "--help"));
        string help = console.Out.ToString();
        Assert.StartsWith("\nUsage:  berth ps [OPTIONS]\n\nList containers\n\nAliases:\n  berth container ls, berth container list, berth container ps, berth ps\n\nOptions:\n  -a, --all ", help);
        Assert.DoesNotContain("--help", help);
    }

    [Fact]
    public async Task Run_dash_h_is_hostname_not_help()
    {
        using var console = new TestConsole();
        int code = await console.RunAsync("run", "-h", "box", "busybox");
        Assert.Equal(125, code); // parsed fine, then the daemon is unreachable
        Assert.Contains("Cannot connect to the Berth daemon at unix:///nonexistent/berth-test.sock. Is the berth daemon running?", console.Err.ToString());
    }

    [Fact]
    public async Task Unreachable_daemon_is_exit_1_for_normal_commands()
    {
        using var console = new TestConsole();
        Assert.Equal(1, await console.RunAsync("ps"));
        Assert.Equal("Cannot connect to the Berth daemon at unix:///nonexistent/berth-test.sock. Is the berth daemon running?\n", console.Err.ToString());
    }

    [Fact]
    public async Task Unknown_command_is_reported()
    {
        using var console = new TestConsole();
        Assert.Equal(1, await console.RunAsync("frobnicate"));
        Assert.Equal("berth: 'frobnicate' is not a berth command.\nSee 'berth --help'\n", console.Err.ToString());
    }

    [Fact]
    public async Task Management_command_without_subcommand_prints_its_help()
    {
        using var console = new TestConsole();
        Assert.Equal(0, await console.RunAsync("image"));
        Assert.Contains("Usage:  berth image COMMAND", console.Out.ToString());
        Assert.Contains("  bootstrap   Create a base image", console.Out.ToString());
    }

    [Fact]
    public async Task Global_flags_come_before_the_command()
    {
        using var console = new TestConsole();
        await console.RunAsync("-H", "unix:///tmp/x.sock", "--debug", "ps");
        Assert.Equal("unix:///tmp/x.sock", console.Context.Globals.Host);
        Assert.True(console.Context.Globals.Debug);
    }

    [Fact]
    public async Task Invalid_attach_stream_is_a_flag_error()
    {
        using var console = new TestConsole();
        Assert.Equal(125, await console.RunAsync("run", "-a", "bogus", "busybox"));
        Assert.StartsWith("invalid argument \"bogus\" for \"-a, --attach\" flag", console.Err.ToString());
    }

    [Theory]
    [InlineData("ps")]
    [InlineData("images")]
    [InlineData("network", "ls")]
    [InlineData("events")]
    [InlineData("container", "prune", "-f")]
    [InlineData("image", "prune", "-f")]
    [InlineData("network", "prune", "-f")]
    [InlineData("volume", "ls")]
    public async Task A_filter_without_a_value_is_refused_before_any_request(params string[] command)
    {
        // docker: `invalid argument "dangling" for "-f, --filter" flag: bad format of filter (expected name=value)`, exit 125.
        using var console = new TestConsole();
        Assert.Equal(125, await console.RunAsync([.. command, "--filter", "dangling"]));
        Assert.StartsWith("invalid argument \"dangling\" for \"-f, --filter\" flag: bad format of filter (expected name=value)", console.Err.ToString());
    }

    [Theory]
    [InlineData("OCI runtime create failed: exec: \"nope\": executable file not found in $PATH", 127)]
    [InlineData("failed to create task: open /x: no such file or directory", 127)]
    [InlineData("exec /bin/sh: permission denied", 126)]
    [InlineData("exec /data: is a directory", 126)]
    [InlineData("exec /bin/app: exec format error", 126)]
    [InlineData("Conflict. The container name \"/web\" is already in use", 125)]
    public void Run_errors_map_to_docker_exit_codes(string message, int code)
    {
        Assert.Equal(code, Commands.RunCommand.ExitCodeFor(message));
    }

    [Fact]
    public void Run_errors_read_like_docker()
    {
        StatusException e = Commands.RunCommand.RunError("Error response from daemon: boom");
        Assert.Equal(125, e.ExitCode);
        Assert.Equal("berth: Error response from daemon: boom\n\nRun 'berth run --help' for more information", e.Message);
    }
}
