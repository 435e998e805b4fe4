using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>
/// <c>berth compose</c> against the shared berthd: real multi-service busybox applications on user networks with
/// named volumes and healthcheck-gated dependencies, convergence (a second up changes nothing, a change recreates
/// only the changed service and its dependents), scaling, interpolation and override files, validation errors with
/// their location, and that <c>down -v</c> leaves nothing with the project's label. Each test has its own project
/// name and runs <c>down -v</c> in its cleanup, whatever happened.
/// </summary>
public sealed class ComposeTests(DaemonFixture fixture)
{
    private const string WebAndWorker = """
        services:
          web:
            image: busybox
            command: ["sh", "-c", "mkdir -p /www && echo hello-$${GREETING:-nobody} > /www/index.html && exec httpd -f -p 80 -h /www"]
            environment:
              GREETING: ${GREETING:-world}
            healthcheck:
              test: ["CMD", "wget", "-q", "-O", "-", "http://localhost/"]
              interval: 500ms
              timeout: 2s
              retries: 20
            networks: [appnet]
          worker:
            image: busybox
            command: ["sh", "-c", "wget -q -O - http://web/ > /data/page && cat /data/page && exec sleep 300"]
            init: true
            depends_on:
              web:
                condition: service_healthy
            volumes: ["data:/data"]
            networks: [appnet]
          other:
            image: busybox
            command: ["sleep", "300"]
            init: true
        volumes:
          data:
        networks:
          appnet:
        """;

    private sealed class Project(DaemonFixture fixture) : IAsyncDisposable
    {
        public string Name { get; } = Names.Unique("cp");

        public string Dir { get; } = Directory.CreateTempSubdirectory("berth-compose-it-").FullName;

        public Project Write(string file, string text)
        {
            File.WriteAllText(Path.Combine(Dir, file), text);
            return this;
        }

        public Task<CommandResult> RunAsync(params string[] args) => RunAsync(args, null);

        public Task<CommandResult> RunAsync(string[] args, IReadOnlyDictionary<string, string?>? environment) =>
            ProcessRunner.RunAsync(
                Binaries.Cli,
                ["-H", "unix://" + fixture.Daemon.SocketPath, "compose", "--project-directory", Dir, "-p", Name, .. args],
                environment,
                timeout: TimeSpan.FromMinutes(2));

        public async Task<CommandResult> SucceedAsync(params string[] args)
        {
            CommandResult result = await RunAsync(args);
            Assert.True(result.ExitCode == 0, result.ToString());
            return result;
        }

        /// <summary>container name → ID of the project's containers.</summary>
        public async Task<Dictionary<string, string>> ContainersAsync()
        {
            CommandResult ps = await fixture.Docker.SucceedAsync("ps", "-a", "--no-trunc", "--filter", "label=com.docker.compose.project=" + Name, "--format", "{{.Names}} {{.ID}}");
            return ps.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).ToDictionary(p => p[0], p => p[1]);
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await RunAsync("down", "-v", "--remove-orphans", "-t", "1");
            }
            finally
            {
                Directory.Delete(Dir, recursive: true);
            }
        }
    }

    [Fact]
    public async Task A_healthcheck_gated_worker_reaches_web_by_service_name_on_a_user_network_and_down_v_leaves_nothing()
    {
        await using var project = new Project(fixture).Write("compose.yaml", WebAndWorker);

        CommandResult up = await project.SucceedAsync("up", "-d");

        // The worker started only once web was healthy, and found it by its service name.
        Assert.Contains($"Container {project.Name}-web-1  Healthy", up.Stderr, StringComparison.Ordinal);
        Assert.True(up.Stderr.IndexOf($"{project.Name}-web-1  Healthy", StringComparison.Ordinal) < up.Stderr.IndexOf($"{project.Name}-worker-1  Starting", StringComparison.Ordinal), up.Stderr);
        string page = (await fixture.Docker.WaitForOutputAsync(s => s.Contains("hello-world", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "exec", $"{project.Name}-worker-1", "cat", "/data/page")).Stdout;
        Assert.Equal("hello-world\n", page);
        CommandResult logs = await project.SucceedAsync("logs", "--no-color", "worker");
        Assert.Contains("worker-1  | hello-world", logs.Stdout, StringComparison.Ordinal);

        // Compose v2's names and labels, so other tools see one project.
        string labels = (await fixture.Docker.SucceedAsync("inspect", "-f",
            "{{index .Config.Labels \"com.docker.compose.project\"}} {{index .Config.Labels \"com.docker.compose.service\"}} {{index .Config.Labels \"com.docker.compose.container-number\"}} {{index .Config.Labels \"com.docker.compose.oneoff\"}} {{len (index .Config.Labels \"com.docker.compose.config-hash\")}}",
            $"{project.Name}-worker-1")).Stdout.Trim();
        Assert.Equal($"{project.Name} worker 1 False 64", labels);
        Assert.Equal("appnet", (await fixture.Docker.SucceedAsync("network", "inspect", "-f", "{{index .Labels \"com.docker.compose.network\"}}", project.Name + "_appnet")).Stdout.Trim());
        Assert.Equal("data", (await fixture.Docker.SucceedAsync("volume", "inspect", "-f", "{{index .Labels \"com.docker.compose.volume\"}}", project.Name + "_data")).Stdout.Trim());
        CommandResult ps = await project.SucceedAsync("ps", "--format", "{{.Name}} {{.Service}} {{.State}}");
        Assert.Equal(
            [$"{project.Name}-other-1 other running", $"{project.Name}-web-1 web running", $"{project.Name}-worker-1 worker running"],
            ps.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(project.Name, (await project.SucceedAsync("ls")).Stdout, StringComparison.Ordinal);

        await project.SucceedAsync("down", "-v", "-t", "1");

        string filter = "label=com.docker.compose.project=" + project.Name;
        Assert.Equal("", (await fixture.Docker.SucceedAsync("ps", "-aq", "--filter", filter)).Stdout.Trim());
        Assert.Equal("", (await fixture.Docker.SucceedAsync("network", "ls", "-q", "--filter", filter)).Stdout.Trim());
        Assert.Equal("", (await fixture.Docker.SucceedAsync("volume", "ls", "-q", "--filter", filter)).Stdout.Trim());
    }

    [Fact]
    public async Task A_second_up_changes_nothing_and_a_change_recreates_only_that_service_and_its_dependents()
    {
        await using var project = new Project(fixture).Write("compose.yaml", WebAndWorker);
        await project.SucceedAsync("up", "-d");
        Dictionary<string, string> first = await project.ContainersAsync();
        Assert.Equal(3, first.Count);

        CommandResult again = await project.SucceedAsync("up", "-d");

        Assert.Equal(first, await project.ContainersAsync());
        Assert.DoesNotContain("Recreate", again.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Creating", again.Stderr, StringComparison.Ordinal);

        // web's environment changes through interpolation: web and the worker that depends on it are recreated, other is not.
        CommandResult changed = await project.RunAsync(["up", "-d"], new Dictionary<string, string?> { ["GREETING"] = "compose" });
        Assert.True(changed.ExitCode == 0, changed.ToString());

        Dictionary<string, string> second = await project.ContainersAsync();
        Assert.Equal(first[$"{project.Name}-other-1"], second[$"{project.Name}-other-1"]);
        Assert.NotEqual(first[$"{project.Name}-web-1"], second[$"{project.Name}-web-1"]);
        Assert.NotEqual(first[$"{project.Name}-worker-1"], second[$"{project.Name}-worker-1"]);
        await fixture.Docker.WaitForOutputAsync(s => s.Contains("hello-compose", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "exec", $"{project.Name}-worker-1", "cat", "/data/page");
    }

    [Fact]
    public async Task Scale_adds_and_removes_numbered_replicas()
    {
        await using var project = new Project(fixture).Write("compose.yaml", """
            services:
              app:
                image: busybox
                command: ["sleep", "300"]
                init: true
            """);

        await project.SucceedAsync("up", "-d", "--scale", "app=3");

        Assert.Equal(
            [$"{project.Name}-app-1", $"{project.Name}-app-2", $"{project.Name}-app-3"],
            (await project.ContainersAsync()).Keys.Order(StringComparer.Ordinal));
        string index2 = (await project.SucceedAsync("exec", "-T", "--index", "2", "app", "hostname")).Stdout.Trim();
        Assert.Equal((await project.ContainersAsync())[$"{project.Name}-app-2"][..12], index2);

        await project.SucceedAsync("up", "-d", "--scale", "app=1");

        Assert.Equal([$"{project.Name}-app-1"], (await project.ContainersAsync()).Keys);
    }

    [Fact]
    public async Task Interpolation_from_dotenv_and_an_override_file_shape_the_running_service()
    {
        await using var project = new Project(fixture)
            .Write(".env", "MESSAGE=from-dotenv\nSLEEP=300\n")
            .Write("compose.yaml", """
                services:
                  app:
                    image: busybox
                    command: ["sleep", "${SLEEP}"]
                    init: true
                    environment:
                      MESSAGE: ${MESSAGE:?MESSAGE must be set}
                      LEVEL: base
                """)
            .Write("compose.override.yaml", """
                services:
                  app:
                    environment:
                      LEVEL: override
                    labels:
                      team: ${TEAM:-core}
                """);

        CommandResult config = await project.SucceedAsync("config");
        Assert.Contains("MESSAGE: from-dotenv", config.Stdout, StringComparison.Ordinal);
        Assert.Contains("LEVEL: override", config.Stdout, StringComparison.Ordinal);
        Assert.Contains("team: core", config.Stdout, StringComparison.Ordinal);
        Assert.Contains("- \"300\"", config.Stdout, StringComparison.Ordinal);

        await project.SucceedAsync("up", "-d");

        string env = (await project.SucceedAsync("exec", "-T", "app", "sh", "-c", "echo $MESSAGE $LEVEL")).Stdout.Trim();
        Assert.Equal("from-dotenv override", env);
        Assert.Equal("core", (await fixture.Docker.SucceedAsync("inspect", "-f", "{{index .Config.Labels \"team\"}}", $"{project.Name}-app-1")).Stdout.Trim());
        string oneOff = (await project.SucceedAsync("run", "--rm", "-T", "-e", "LEVEL=run", "app", "sh", "-c", "echo $LEVEL")).Stdout.Trim();
        Assert.Equal("run", oneOff);
    }

    [Fact]
    public async Task An_invalid_file_fails_with_its_file_line_and_key()
    {
        await using var project = new Project(fixture)
            .Write("compose.yaml", "services:\n  web:\n    image: busybox\n    ports: \"80:80\"\n")
            .Write("second.yaml", "services:\n  web:\n    image: busybox\n    foo: bar\n");

        CommandResult config = await project.RunAsync("config");
        CommandResult up = await project.RunAsync("-f", Path.Combine(project.Dir, "second.yaml"), "up", "-d");

        Assert.NotEqual(0, config.ExitCode);
        Assert.Contains("compose.yaml:4: services.web.ports must be a list", config.Stderr, StringComparison.Ordinal);
        Assert.NotEqual(0, up.ExitCode);
        Assert.Contains("second.yaml:4: services.web Additional property foo is not allowed", up.Stderr, StringComparison.Ordinal);
        Assert.Equal("", (await fixture.Docker.SucceedAsync("ps", "-aq", "--filter", "label=com.docker.compose.project=" + project.Name)).Stdout.Trim());
    }

    [Fact]
    public async Task Attached_up_prefixes_each_line_and_returns_the_exit_code_of_the_chosen_service()
    {
        await using var project = new Project(fixture).Write("compose.yaml", """
            services:
              job:
                image: busybox
                command: ["sh", "-c", "echo first; echo second; exit 3"]
              sidecar:
                image: busybox
                command: ["sleep", "300"]
                init: true
            """);

        CommandResult up = await project.RunAsync("up", "--exit-code-from", "job", "--no-color");

        Assert.Equal(3, up.ExitCode);
        Assert.Contains("job-1      | first\njob-1      | second\n", up.Stdout.Replace("sidecar-1  | ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains("Aborting on container exit", up.Stderr, StringComparison.Ordinal);
        Assert.Equal("exited", (await fixture.Docker.SucceedAsync("inspect", "-f", "{{.State.Status}}", $"{project.Name}-sidecar-1")).Stdout.Trim());
    }
}
