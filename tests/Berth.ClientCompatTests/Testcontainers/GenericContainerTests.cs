using System.Net;
using System.Text;
using Berth.ClientCompatTests.Infrastructure;
using Berth.IntegrationTests.Infrastructure;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;

namespace Berth.ClientCompatTests.Testcontainers;

/// <summary>Testcontainers' generic <see cref="ContainerBuilder"/> on busybox, with each kind of wait strategy, unchanged.</summary>
public sealed class GenericContainerTests(DaemonFixture fixture) : TestcontainersTest(fixture)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public Task A_log_message_wait_returns_once_the_line_is_logged_and_exec_and_copied_files_work() =>
        RunAsync(
            new ContainerBuilder("busybox:latest")
                .WithName(Names.Unique("tc-log"))
                .WithResourceMapping(Encoding.UTF8.GetBytes("from the test\n"), "/etc/berth-test/greeting.txt")
                .WithEnvironment("GREETING", "hi")
                .WithCommand("sh", "-c", "echo starting; sleep 1; echo \"$GREETING, ready\" >&2; exec sleep 300")
                .WithWaitStrategy(Wait.ForUnixContainer().UntilMessageIsLogged("hi, ready"))
                .Build(),
            StartTimeout,
            async (container, ct) =>
            {
                Assert.Equal(TestcontainersStates.Running, container.State);
                (string stdout, string stderr) = await container.GetLogsAsync(timestampsEnabled: false, ct: ct);
                (string stamped, _) = await container.GetLogsAsync(ct: ct);
                Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z starting\n$", stamped);
                Assert.Equal("starting\n", stdout);
                Assert.Equal("hi, ready\n", stderr);

                ExecResult exec = await container.ExecAsync(["cat", "/etc/berth-test/greeting.txt"], ct);
                Assert.Equal(0, exec.ExitCode);
                Assert.Equal("from the test\n", exec.Stdout);
                ExecResult failing = await container.ExecAsync(["sh", "-c", "echo nope >&2; exit 3"], ct);
                Assert.Equal(3, failing.ExitCode);
                Assert.Equal("nope\n", failing.Stderr);

                byte[] read = await container.ReadFileAsync("/etc/berth-test/greeting.txt", ct);
                Assert.Equal("from the test\n", Encoding.UTF8.GetString(read));
            });

    [Fact]
    public Task Port_waits_inside_and_outside_the_container_and_the_mapped_port_serves() =>
        RunAsync(
            new ContainerBuilder("busybox:latest")
                .WithName(Names.Unique("tc-port"))
                .WithPortBinding(8080, assignRandomHostPort: true)
                .WithCommand("sh", "-c", "mkdir -p /www && echo served-by-berth > /www/index.html && sleep 1 && exec httpd -f -p 8080 -h /www")
                // The internal check runs a shell probe in the container (grep in /proc/net/tcp*, else nc, else bash's /dev/tcp);
                // the external one connects to the published port from the host.
                .WithWaitStrategy(Wait.ForUnixContainer().UntilInternalTcpPortIsAvailable(8080).UntilExternalTcpPortIsAvailable(8080))
                .Build(),
            StartTimeout,
            async (container, ct) =>
            {
                ushort port = container.GetMappedPublicPort(8080);
                Assert.NotEqual(8080, port);
                // 127.0.0.1, or the bridge's gateway when Testcontainers finds itself in a container (/.dockerenv): both reach the port.
                Assert.Equal("served-by-berth\n", await GetAsync($"http://{container.Hostname}:{port}/index.html", ct));
            });

    [Fact]
    public Task An_http_wait_retries_until_the_path_answers_200() =>
        RunAsync(
            new ContainerBuilder("busybox:latest")
                .WithName(Names.Unique("tc-http"))
                .WithPortBinding(8080, assignRandomHostPort: true)
                // httpd answers 404 for a while, then /health appears.
                .WithCommand("sh", "-c", "mkdir -p /www && httpd -p 8080 -h /www && sleep 2 && echo healthy > /www/health && exec sleep 300")
                .WithWaitStrategy(Wait.ForUnixContainer().UntilHttpRequestIsSucceeded(request => request.ForPort(8080).ForPath("/health").ForStatusCode(HttpStatusCode.OK)))
                .Build(),
            StartTimeout,
            async (container, ct) =>
            {
                Assert.Equal("healthy\n", await GetAsync($"http://{container.Hostname}:{container.GetMappedPublicPort(8080)}/health", ct));
                ExecResult probe = await container.ExecAsync(["sh", "-c", "test -f /www/health"], ct);
                Assert.Equal(0, probe.ExitCode);
            });

    private static async Task<string> GetAsync(string url, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return await http.GetStringAsync(new Uri(url), cancellationToken);
    }
}
