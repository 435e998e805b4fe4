using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>
/// docker-compose 1.29 (Debian's package, a docker-py 5 client: API 1.41 unless COMPOSE_API_VERSION pins another), unchanged, against the shared
/// berthd: a project of busybox services on a user network, with a named volume, a published port, a healthcheck and
/// depends_on. Each test has its own project name and directory and ends with <c>down -v</c>, pass or fail.
/// </summary>
public sealed class DockerComposeV1Tests(DaemonFixture fixture)
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Compose file 3.7: the flows of `up`, `ps`, `logs`, `exec`, `run`, scaling, stop/start/restart, top/pause/kill/rm, `down -v`.</summary>
    private const string Project37 = """
        version: "3.7"
        services:
          db:
            image: busybox
            command: ["sh", "-c", "echo db ready; echo stored > /data/v; exec httpd -f -p 8080 -h /data"]
            stop_grace_period: 1s
            volumes: ["data:/data"]
            networks: [back]
            healthcheck:
              test: ["CMD", "wget", "-q", "-O", "-", "http://localhost:8080/v"]
              interval: 1s
              timeout: 2s
              retries: 20
          web:
            image: busybox
            command: ["sh", "-c", "echo web-content > /tmp/index.html; echo web up; exec httpd -f -p 80 -h /tmp"]
            stop_grace_period: 1s
            depends_on: [db]
            ports: ["127.0.0.1::80"]
            networks: [back]
          worker:
            image: busybox
            command: ["sh", "-c", "echo worker $$GREETING; exec sleep 300"]
            stop_grace_period: 1s
            environment:
              GREETING: hello
            depends_on: [db]
            networks: [back]
        volumes:
          data: {}
        networks:
          back: {}
        """;

    /// <summary>Compose file 2.1, run at API 1.24 (the oldest berthd serves), with depends_on that waits for a healthy service.</summary>
    private const string Project21 = """
        version: "2.1"
        services:
          app:
            depends_on:
              db:
                condition: service_healthy
            image: busybox
            command: ["sh", "-c", "wget -q -O - http://db:8080/v && exec sleep 300"]
            stop_signal: SIGKILL
          db:
            # The shell form this time (CMD-SHELL), and the default timeout.
            healthcheck: {test: "wget -q -O - http://localhost:8080/v", interval: 1s, retries: 20}
            image: busybox
            command: ["sh", "-c", "echo ok > /tmp/v; exec httpd -f -p 8080 -h /tmp"]
            stop_signal: SIGKILL
        """;

    /// <summary>A service built from a Dockerfile beside the compose file (its image is PROJECT_app), and a foreground <c>up</c> that attaches to the output.</summary>
    private const string ProjectWithBuild = """
        version: "3.7"
        services:
          app:
            build: ./app
          once:
            image: busybox
            command: ["sh", "-c", "echo once done"]
        """;

    private sealed class ComposeProject(string directory, string name, string socketPath, string dockerConfig, string? apiVersion) : IAsyncDisposable
    {
        public string Name => name;

        public string Directory => directory;

        public Task<CommandResult> RunAsync(params string[] args) =>
            ProcessRunner.RunAsync("docker-compose", ["--no-ansi", "-p", name, .. args], new Dictionary<string, string?>
            {
                ["DOCKER_HOST"] = "unix://" + socketPath,
                ["DOCKER_TLS_VERIFY"] = null,
                ["DOCKER_CERT_PATH"] = null,
                ["COMPOSE_API_VERSION"] = apiVersion,
                ["COMPOSE_FILE"] = Path.Combine(directory, "docker-compose.yml"),
                ["COMPOSE_PROJECT_NAME"] = null,
                // run and exec go through the docker CLI, compose's default: its dockerpty fallback attaches only after
                // the start (a lazy map in Python 3), so a quick one-off's output can be lost, against Docker too.
                ["COMPOSE_INTERACTIVE_NO_CLI"] = null,
                ["DOCKER_CONFIG"] = dockerConfig,
                ["DOCKER_CONTEXT"] = null,
                ["DOCKER_API_VERSION"] = null,
            }, timeout: CommandTimeout);

        public async Task<CommandResult> SucceedAsync(params string[] args)
        {
            CommandResult result = await RunAsync(args);
            Assert.True(result.ExitCode == 0, result.ToString());
            return result;
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                _ = await RunAsync("down", "-v", "-t", "1", "--remove-orphans");
            }
            catch (TimeoutException)
            {
                // The fixture reports and removes what is left.
            }
            finally
            {
                System.IO.Directory.Delete(directory, recursive: true);
            }
        }
    }

    private ComposeProject Create(string composeFile, string? apiVersion = null)
    {
        string directory = Directory.CreateTempSubdirectory("bt-compose-").FullName;
        File.WriteAllText(Path.Combine(directory, "docker-compose.yml"), composeFile);
        return new ComposeProject(directory, Names.Unique("compose"), fixture.Daemon.SocketPath, Path.Combine(fixture.Daemon.Root, "docker-config"), apiVersion);
    }

    private async Task<string[]> ProjectContainersAsync(string project, params string[] filters)
    {
        CommandResult ps = await fixture.Docker.SucceedAsync(
            ["ps", "-a", "--filter", "label=com.docker.compose.project=" + project, .. filters.SelectMany(f => new[] { "--filter", f }), "--format", "{{.Names}} {{.State}}"]);
        return [.. ps.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)];
    }

    [Fact]
    public async Task Config_validates_and_normalizes_the_file()
    {
        await using ComposeProject project = Create(Project37);
        CommandResult services = await project.SucceedAsync("config", "--services");
        Assert.Equal(["db", "web", "worker"], services.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
        CommandResult config = await project.SucceedAsync("config");
        Assert.Contains("GREETING: hello", config.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Up_ps_port_exec_logs_run_scale_stop_start_restart_top_pause_kill_rm_and_down_work_on_a_project()
    {
        await using ComposeProject project = Create(Project37);
        string p = project.Name;
        await project.SucceedAsync("up", "-d");
        Assert.Equal([$"{p}_db_1 running", $"{p}_web_1 running", $"{p}_worker_1 running"], await ProjectContainersAsync(p));
        CommandResult ps = await project.SucceedAsync("ps");
        Assert.Equal(3, ps.Stdout.Split('\n').Count(line => line.Contains(" Up", StringComparison.Ordinal)));

        // The healthcheck runs: db turns healthy.
        await fixture.Docker.WaitForOutputAsync(o => o.Trim() == "healthy", TimeSpan.FromSeconds(60), "inspect", "--format", "{{.State.Health.Status}}", $"{p}_db_1");

        // The published port reaches web's httpd from the host.
        string published = (await project.SucceedAsync("port", "web", "80")).Stdout.Trim();
        Assert.StartsWith("127.0.0.1:", published, StringComparison.Ordinal);
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) })
        {
            Assert.Equal("web-content\n", await http.GetStringAsync($"http://{published}/index.html"));
        }

        // Service names resolve on the project's network; the named volume holds what db wrote.
        CommandResult exec = await project.SucceedAsync("exec", "-T", "worker", "wget", "-q", "-O", "-", "http://db:8080/v");
        Assert.Equal("stored\n", exec.Stdout);
        CommandResult failing = await project.RunAsync("exec", "-T", "worker", "sh", "-c", "exit 4");
        Assert.True(failing.ExitCode == 4, failing.ToString());

        CommandResult logs = await project.SucceedAsync("logs", "--no-color");
        Assert.Contains("db ready", logs.Stdout, StringComparison.Ordinal);
        Assert.Contains("worker hello", logs.Stdout, StringComparison.Ordinal);
        Assert.Contains("web up", logs.Stdout, StringComparison.Ordinal);

        // run --rm: a one-off container on the network, its output and exit code, and nothing left behind.
        CommandResult run = await project.SucceedAsync("run", "--rm", "-T", "worker", "sh", "-c", "ping -c 1 -W 5 web >/dev/null && echo reached web");
        Assert.Equal("reached web\n", run.Stdout);
        CommandResult runFailing = await project.RunAsync("run", "--rm", "-T", "worker", "sh", "-c", "exit 3");
        Assert.True(runFailing.ExitCode == 3, runFailing.ToString());
        Assert.Empty(await ProjectContainersAsync(p, "label=com.docker.compose.oneoff=True"));

        await project.SucceedAsync("up", "-d", "--scale", "worker=3");
        Assert.Equal(3, (await ProjectContainersAsync(p, "label=com.docker.compose.service=worker", "status=running")).Length);
        await project.SucceedAsync("scale", "worker=1");
        Assert.Equal([$"{p}_worker_1 running"], await ProjectContainersAsync(p, "label=com.docker.compose.service=worker"));

        await project.SucceedAsync("stop", "-t", "1");
        Assert.All(await ProjectContainersAsync(p), c => Assert.EndsWith(" exited", c, StringComparison.Ordinal));
        await project.SucceedAsync("start");
        Assert.All(await ProjectContainersAsync(p), c => Assert.EndsWith(" running", c, StringComparison.Ordinal));
        string before = (await fixture.Docker.SucceedAsync("inspect", "--format", "{{.State.StartedAt}}", $"{p}_worker_1")).Stdout;
        await project.SucceedAsync("restart", "-t", "1", "worker");
        Assert.NotEqual(before, (await fixture.Docker.SucceedAsync("inspect", "--format", "{{.State.StartedAt}}", $"{p}_worker_1")).Stdout);

        string worker = $"{p}_worker_1";
        Assert.Contains("sleep 300", (await project.SucceedAsync("top", "worker")).Stdout, StringComparison.Ordinal);
        await project.SucceedAsync("pause", "worker");
        Assert.Equal([worker + " paused"], await ProjectContainersAsync(p, "label=com.docker.compose.service=worker"));
        await project.SucceedAsync("unpause", "worker");
        await project.SucceedAsync("kill", "-s", "SIGKILL", "worker");
        Assert.Equal([worker + " exited"], await ProjectContainersAsync(p, "label=com.docker.compose.service=worker"));
        await project.SucceedAsync("rm", "-f", "worker");
        Assert.Empty(await ProjectContainersAsync(p, "label=com.docker.compose.service=worker"));

        await project.SucceedAsync("down", "-v", "-t", "1");
        Assert.Empty(await ProjectContainersAsync(p));
        Assert.Equal("", (await fixture.Docker.SucceedAsync("volume", "ls", "-q", "--filter", "name=" + p)).Stdout.Trim());
        Assert.Equal("", (await fixture.Docker.SucceedAsync("network", "ls", "-q", "--filter", "name=" + p)).Stdout.Trim());
    }

    [Fact]
    public async Task A_version_2_1_file_at_api_1_24_runs_and_depends_on_waits_for_a_healthy_service()
    {
        await using ComposeProject project = Create(Project21, apiVersion: "1.24");
        string p = project.Name;
        await project.SucceedAsync("up", "-d");
        // up returned only once db was healthy, so app's first request found it serving.
        Assert.Equal("healthy\n", (await fixture.Docker.SucceedAsync("inspect", "--format", "{{.State.Health.Status}}", $"{p}_db_1")).Stdout);
        Assert.Equal([$"{p}_app_1 running", $"{p}_db_1 running"], await ProjectContainersAsync(p));
        CommandResult logs = await project.SucceedAsync("logs", "--no-color", "app");
        Assert.Contains("ok", logs.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_then_a_foreground_up_shows_every_services_output_and_down_rmi_local_removes_the_built_image()
    {
        await using ComposeProject project = Create(ProjectWithBuild);
        string name = project.Name;
        string image = name + "_app:latest";
        string context = Path.Combine(project.Directory, "app");
        Directory.CreateDirectory(context);
        await File.WriteAllTextAsync(Path.Combine(context, "Dockerfile"), "FROM busybox\nRUN echo built-by-compose > /msg\nCMD [\"cat\", \"/msg\"]\n");
        try
        {
            CommandResult build = await project.SucceedAsync("build");
            Assert.Contains("Successfully tagged " + image, build.Stdout, StringComparison.Ordinal);

            // Attached before the start, so no output is lost; up ends when both containers have (no --abort-on-container-exit:
            // that stops the others as soon as the first ends, output of theirs in flight or not).
            CommandResult up = await project.SucceedAsync("up");
            Assert.Contains("built-by-compose", up.Stdout, StringComparison.Ordinal);
            Assert.Contains("once done", up.Stdout, StringComparison.Ordinal);

            // local: only images without a name of their own (--rmi all would take busybox from the other tests).
            await project.SucceedAsync("down", "-v", "--rmi", "local");
            Assert.Empty(await ProjectContainersAsync(name));
            Assert.Equal("", (await fixture.Docker.SucceedAsync("images", "-q", image)).Stdout.Trim());
        }
        finally
        {
            _ = await fixture.Docker.RunAsync("rmi", "-f", image);
        }
    }
}
