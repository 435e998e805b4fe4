namespace Berth.Cli.Tests;

/// <summary><c>berth compose</c>'s command line: project flags before and after the subcommand, help, errors, config output.</summary>
public sealed class ComposeCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-compose-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Config_prints_the_merged_project_with_flags_before_or_after_the_subcommand()
    {
        string main = Write("compose.yaml", "services:\n  web:\n    image: busybox:${TAG:-1}\n");
        string extra = Write("extra.yaml", "services:\n  web:\n    command: [\"true\"]\n");
        using var console = new TestConsole();
        console.Env["TAG"] = "2";

        Assert.Equal(0, await console.RunAsync("compose", "-f", main, "-p", "demo", "config", "-f", extra));

        Assert.Equal(
            "name: demo\nservices:\n  web:\n    command:\n      - \"true\"\n    image: busybox:2\n    networks:\n      default: null\nnetworks:\n  default: {}\n",
            console.StdoutText);
    }

    [Fact]
    public async Task Config_services_and_quiet()
    {
        string main = Write("compose.yaml", "services:\n  b: {image: busybox}\n  a: {image: busybox, profiles: [x]}\n");
        using var console = new TestConsole();

        Assert.Equal(0, await console.RunAsync("compose", "--project-directory", _dir, "--profile", "x", "config", "--services"));
        Assert.Equal("b\na\n", console.StdoutText);
        Assert.Equal(0, await console.RunAsync("compose", "-f", main, "config", "-q"));
    }

    [Fact]
    public async Task An_invalid_file_exits_15_with_its_location()
    {
        string main = Write("compose.yaml", "services:\n  web:\n    image: busybox\n    prots: [\"80\"]\n");
        using var console = new TestConsole();

        Assert.Equal(15, await console.RunAsync("compose", "-f", main, "config"));

        Assert.Equal("compose.yaml:4: services.web Additional property prots is not allowed\n", console.Err.ToString());
    }

    [Fact]
    public async Task Help_lists_the_commands_and_an_unknown_one_is_refused()
    {
        using var console = new TestConsole();

        Assert.Equal(0, await console.RunAsync("compose", "--help"));
        Assert.Contains("  up          Create and start containers\n", console.StdoutText, StringComparison.Ordinal);
        Assert.Equal(0, await console.RunAsync("compose", "up", "--help"));
        Assert.Contains("--abort-on-container-exit", console.StdoutText, StringComparison.Ordinal);
        Assert.Equal(1, await console.RunAsync("compose", "frobnicate"));
        Assert.Contains("unknown docker command: \"compose frobnicate\"", console.Err.ToString(), StringComparison.Ordinal);
        Assert.Equal(125, await console.RunAsync("compose", "up", "--nope"));
    }

    [Fact]
    public async Task Bad_flag_combinations_are_refused_before_any_work()
    {
        string main = Write("compose.yaml", "services:\n  web: {image: busybox}\n");
        using var console = new TestConsole();

        Assert.Equal(1, await console.RunAsync("compose", "-f", main, "up", "-d", "--abort-on-container-exit"));
        Assert.Contains("incompatible", console.Err.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, await console.RunAsync("compose", "-f", main, "up", "--scale", "nope=2", "-d"));
    }
}
