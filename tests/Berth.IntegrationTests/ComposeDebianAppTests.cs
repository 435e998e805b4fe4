using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>
/// The issue's real application on the bootstrapped debian:bookworm: nginx (from apt) in front of an app service (busybox
/// httpd CGI asking redis) and redis-server (from apt) with a named volume, on a user network, the app gated on redis's
/// healthcheck. The three images are built by <c>berth compose</c> from one Dockerfile whose first stage installs the
/// packages once (the build cache shares it between the three targets), so the test pays for one apt run. It runs on
/// its own daemon: the bootstrap and the build write images for a minute, and the shared daemon's image tests have
/// 30-second budgets.
/// The same file then comes up with Debian's docker-compose 1.29 against the same daemon, on the images already built.
/// </summary>
public sealed class ComposeDebianAppTests
{
    private const string Dockerfile = """
        FROM debian:bookworm AS base
        RUN apt-get update && apt-get install -y --no-install-recommends nginx redis-server busybox && rm -rf /var/lib/apt/lists/*

        FROM base AS redis
        CMD ["redis-server", "--protected-mode", "no", "--dir", "/data", "--appendonly", "yes"]

        FROM base AS app
        COPY hits /www/cgi-bin/hits
        RUN chmod 755 /www/cgi-bin/hits
        CMD ["busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]

        FROM base AS web
        COPY nginx.conf /etc/nginx/conf.d/default.conf
        RUN rm -f /etc/nginx/sites-enabled/default
        CMD ["nginx", "-g", "daemon off;"]
        """;

    private const string Hits = "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\necho \"hits $(redis-cli -h redis incr hits) from $(hostname)\"\n";

    private const string NginxConf = """
        upstream app { server app:8080; }
        server {
            listen 80;
            location / { proxy_pass http://app/cgi-bin/hits; }
        }
        """;

    private static string ComposeFile(string tag) => $$"""
        services:
          redis:
            build: {context: ., target: redis}
            image: {{tag}}-redis
            volumes: ["redisdata:/data"]
            healthcheck:
              test: ["CMD", "redis-cli", "ping"]
              interval: 500ms
              timeout: 3s
              retries: 30
            networks: [backend]
          app:
            build: {context: ., target: app}
            image: {{tag}}-app
            depends_on:
              redis: {condition: service_healthy}
            networks: [backend]
          web:
            build: {context: ., target: web}
            image: {{tag}}-web
            depends_on: [app]
            networks: [backend]
        volumes:
          redisdata:
        networks:
          backend:
        """;

    [Fact]
    public async Task Nginx_app_and_redis_from_apt_come_up_scaled_and_converged_and_leave_nothing_behind()
    {
        await using BerthDaemon daemon = BerthDaemon.Create("compose-debian");
        await daemon.StartAsync();
        CommandResult bootstrap = await ProcessRunner.RunAsync(Binaries.Cli, ["-H", "unix://" + daemon.SocketPath, "image", "bootstrap", "debian"], stdin: null, timeout: TimeSpan.FromMinutes(8));
        Assert.True(bootstrap.ExitCode == 0, bootstrap.ToString());
        string project = Names.Unique("deb");
        string dir = Directory.CreateTempSubdirectory("berth-compose-debian-").FullName;
        File.WriteAllText(Path.Combine(dir, "Dockerfile"), Dockerfile);
        File.WriteAllText(Path.Combine(dir, "hits"), Hits);
        File.WriteAllText(Path.Combine(dir, "nginx.conf"), NginxConf);
        File.WriteAllText(Path.Combine(dir, "compose.yaml"), ComposeFile(project));
        Task<CommandResult> Berth(params string[] args) => ProcessRunner.RunAsync(
            Binaries.Cli, ["-H", "unix://" + daemon.SocketPath, "compose", "--project-directory", dir, "-p", project, .. args], timeout: TimeSpan.FromMinutes(6));
        Task<CommandResult> ComposeV1(params string[] args) => ProcessRunner.RunAsync(
            "docker-compose", ["--no-ansi", "--project-directory", dir, "-f", Path.Combine(dir, "compose.yaml"), "-p", project + "v1", .. args],
            new Dictionary<string, string?> { ["DOCKER_HOST"] = "unix://" + daemon.SocketPath, ["DOCKER_CONTEXT"] = null, ["DOCKER_API_VERSION"] = null, ["COMPOSE_FILE"] = null, ["COMPOSE_PROJECT_NAME"] = null },
            timeout: TimeSpan.FromMinutes(3));
        try
        {
            CommandResult up = await Berth("up", "-d", "--scale", "app=3");
            Assert.True(up.ExitCode == 0, up.ToString());

            // nginx balances over the three app replicas, which count in the one redis.
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 1; i <= 9; i++)
            {
                CommandResult hit = await daemon.Docker.WaitForOutputAsync(
                    s => s.StartsWith("hits ", StringComparison.Ordinal), TimeSpan.FromSeconds(30),
                    "exec", $"{project}-web-1", "busybox", "wget", "-q", "-O", "-", "http://127.0.0.1/");
                string[] words = hit.Stdout.Trim().Split(' ');
                Assert.Equal("from", words[2]);
                seen.Add(words[3]);
            }

            Assert.True(seen.Count >= 2, $"nginx reached only {string.Join(",", seen)}");
            Assert.Equal(3, (await Berth("ps", "-q", "app")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
            CommandResult again = await Berth("up", "-d", "--scale", "app=3");
            Assert.True(again.ExitCode == 0 && !again.Stderr.Contains("Recreate", StringComparison.Ordinal), again.ToString());

            CommandResult down = await Berth("down", "-v", "-t", "1");
            Assert.True(down.ExitCode == 0, down.ToString());

            // docker-compose 1.29 (the Python one, Engine API 1.41) brings the same application up on the built images.
            CommandResult v1Up = await ComposeV1("up", "-d");
            Assert.True(v1Up.ExitCode == 0, v1Up.ToString());
            CommandResult v1Hit = await daemon.Docker.WaitForOutputAsync(
                s => s.StartsWith("hits ", StringComparison.Ordinal), TimeSpan.FromSeconds(30),
                "exec", $"{project}v1_web_1", "busybox", "wget", "-q", "-O", "-", "http://127.0.0.1/");
            Assert.StartsWith("hits 1 from ", v1Hit.Stdout, StringComparison.Ordinal); // a new project: its own, empty volume
            CommandResult v1Down = await ComposeV1("down", "-v", "-t", "1");
            Assert.True(v1Down.ExitCode == 0, v1Down.ToString());
        }
        finally
        {
            await ComposeV1("down", "-v", "-t", "1");
            await Berth("down", "-v", "--rmi", "all", "-t", "1");
            Directory.Delete(dir, recursive: true);
        }

        string filter = "label=com.docker.compose.project=" + project;
        Assert.Equal("", (await daemon.Docker.SucceedAsync("ps", "-aq", "--filter", filter)).Stdout.Trim());
        Assert.Equal("", (await daemon.Docker.SucceedAsync("ps", "-aq", "--filter", "label=com.docker.compose.project=" + project + "v1")).Stdout.Trim());
        Assert.Equal("", (await daemon.Docker.SucceedAsync("network", "ls", "-q", "--filter", filter)).Stdout.Trim());
        Assert.Equal("", (await daemon.Docker.SucceedAsync("volume", "ls", "-q", "--filter", filter)).Stdout.Trim());
    }
}
