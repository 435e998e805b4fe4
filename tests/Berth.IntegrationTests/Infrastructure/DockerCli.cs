namespace Berth.IntegrationTests.Infrastructure;

/// <summary>
/// The real docker CLI (from PATH) against one daemon: its own config dir, no context, no pinned API version. With
/// <paramref name="program"/> = Berth's CLI the same calls drive <c>berth</c> (same commands and flags), so a test can
/// prove a scenario through both.
/// </summary>
public sealed class DockerCli(string socketPath, string configDirectory, string program = "docker")
{
    private readonly string[] _prefix = program == "docker" ? [] : ["-H", "unix://" + socketPath, "--config", configDirectory];

    private readonly Dictionary<string, string?> _environment = new(StringComparer.Ordinal)
    {
        ["DOCKER_HOST"] = "unix://" + socketPath,
        ["DOCKER_CONFIG"] = configDirectory,
        ["DOCKER_CONTEXT"] = null,
        ["DOCKER_API_VERSION"] = null,
        ["DOCKER_TLS_VERIFY"] = null,
        ["DOCKER_CERT_PATH"] = null,
        ["DOCKER_CLI_HINTS"] = "false",
        // The classic builder: `docker build` speaks the /build JSON stream instead of BuildKit's session protocol.
        ["DOCKER_BUILDKIT"] = "0",
    };

    public Task<CommandResult> RunAsync(params string[] args) => RunAsync(args, stdin: null);

    public Task<CommandResult> RunAsync(string[] args, string? stdin, TimeSpan? timeout = null) =>
        ProcessRunner.RunAsync(program, [.. _prefix, .. args], _environment, stdin, timeout);

    /// <summary>Runs a command that must succeed; a failure reports everything it printed.</summary>
    public Task<CommandResult> SucceedAsync(params string[] args) => SucceedAsync(ProcessRunner.DefaultTimeout, args);

    /// <summary>
    /// As <see cref="SucceedAsync(string[])"/>, with room for a fixture's set-up steps, which run while every other
    /// collection starts its own daemon (the busiest minute of a suite on 2 cores).
    /// </summary>
    public async Task<CommandResult> SucceedAsync(TimeSpan timeout, params string[] args)
    {
        CommandResult result = await RunAsync(args, stdin: null, timeout);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    /// <summary><c>docker rm -f</c> for a test's finally block: never throws, whatever state the container is in.</summary>
    public async Task RemoveQuietlyAsync(params string[] names)
    {
        try
        {
            _ = await RunAsync(["rm", "-f", .. names]);
        }
        catch (TimeoutException)
        {
            // The fixture's cleanup deals with what is left.
        }
    }

    /// <summary>Polls <paramref name="args"/> until its stdout satisfies <paramref name="done"/>, bounded by <paramref name="timeout"/>.</summary>
    public async Task<CommandResult> WaitForOutputAsync(Func<string, bool> done, TimeSpan timeout, params string[] args)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            CommandResult result = await RunAsync(args);
            if (result.ExitCode == 0 && done(result.Stdout))
            {
                return result;
            }

            if (clock.Elapsed > timeout)
            {
                Assert.Fail($"condition not met within {timeout.TotalSeconds:F0} s; last result: {result}");
            }

            await Task.Delay(100);
        }
    }
}
