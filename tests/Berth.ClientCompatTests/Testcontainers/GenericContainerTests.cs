using System.Net;
using System.Text;
using Berth.ClientCompatTests.Infrastructure;
using Berth.IntegrationTests.Infrastructure;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;

namespace Berth.ClientCompatTests.Testcontainers;

/// <summary>Testcontainers' generic <see cref="ContainerBuilder"/> on busybox, with each kind of wait strategy, unchanged.</summary>
public sealed class GenericContainerTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly DaemonFixture _fixture;

    public GenericContainerTests(DaemonFixture fixture)
    {
        _fixture = fixture;
        TestcontainersSetup.Configure(fixture);
    }

    [Fact]
    public async Task A_log_message_wait_returns_once_the_line_is_logged_and_exec_and_copied_files_work()
    {
        IContainer container = new ContainerBuilder("busybox:latest")
            .WithName(Names.Unique("tc-log"))
            .WithResourceMapping(Encoding.UTF8.GetBytes("from the test\n"), "/etc/berth-test/greeting.txt")
            .WithEnvironment("GREETING", "hi")
            .WithCommand("sh", "-c", "echo starting; sleep 1; echo \"$GREETING, ready\" >&2; exec sleep 300")
            .WithWaitStrategy(Wait.ForUnixContainer().UntilMessageIsLogged("hi, ready"))
            .Build();
        string? id = null;
        try
        {
            using var cts = new CancellationTokenSource(StartTimeout);
            await container.StartAsync(cts.Token);
            id = container.Id;

            Assert.Equal(TestcontainersStates.Running, container.State);
            (string stdout, string stderr) = await container.GetLogsAsync(timestampsEnabled: false, ct: cts.Token);
            (string stamped, _) = await container.GetLogsAsync(ct: cts.Token);
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z starting\n$", stamped);
            Assert.Equal("starting\n", stdout);
            Assert.Equal("hi, ready\n", stderr);

            ExecResult exec = await container.ExecAsync(["cat", "/etc/berth-test/greeting.txt"], cts.Token);
            Assert.Equal(0, exec.ExitCode);
            Assert.Equal("from the test\n", exec.Stdout);
            ExecResult failing = await container.ExecAsync(["sh", "-c", "echo nope >&2; exit 3"], cts.Token);
            Assert.Equal(3, failing.ExitCode);
            Assert.Equal("nope\n", failing.Stderr);

            byte[] read = await container.ReadFileAsync("/etc/berth-test/greeting.txt", cts.Token);
            Assert.Equal("from the test\n", Encoding.UTF8.GetString(read));
        }
        finally
        {
            await container.DisposeAsync();
        }

        await AssertGoneAsync(id);
    }

    [Fact]
    public async Task Port_waits_inside_and_outside_the_container_and_the_mapped_port_serves()
    {
        IContainer container = new ContainerBuilder("busybox:latest")
            .WithName(Names.Unique("tc-port"))
            .WithPortBinding(8080, assignRandomHostPort: true)
            .WithCommand("sh", "-c", "mkdir -p /www && echo served-by-berth > /www/index.html && sleep 1 && exec httpd -f -p 8080 -h /www")
            // The internal check runs a shell probe in the container (grep in /proc/net/tcp*, else nc, else bash's /dev/tcp);
            // the external one connects to the published port from the host.
            .WithWaitStrategy(Wait.ForUnixContainer().UntilInternalTcpPortIsAvailable(8080).UntilExternalTcpPortIsAvailable(8080))
            .Build();
        string? id = null;
        try
        {
            using var cts = new CancellationTokenSource(StartTimeout);
            await container.StartAsync(cts.Token);
            id = container.Id;

            ushort port = container.GetMappedPublicPort(8080);
            Assert.NotEqual(8080, port);
            // 127.0.0.1, or the bridge's gateway when Testcontainers finds itself in a container (/.dockerenv): both reach the port.
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            Assert.Equal("served-by-berth\n", await http.GetStringAsync(new Uri($"http://{container.Hostname}:{port}/index.html"), cts.Token));
        }
        finally
        {
            await container.DisposeAsync();
        }

        await AssertGoneAsync(id);
    }

    [Fact]
    public async Task An_http_wait_retries_until_the_path_answers_200()
    {
        IContainer container = new ContainerBuilder("busybox:latest")
            .WithName(Names.Unique("tc-http"))
            .WithPortBinding(8080, assignRandomHostPort: true)
            // httpd answers 404 for a while, then /health appears.
            .WithCommand("sh", "-c", "mkdir -p /www && httpd -p 8080 -h /www && sleep 2 && echo healthy > /www/health && exec sleep 300")
            .WithWaitStrategy(Wait.ForUnixContainer().UntilHttpRequestIsSucceeded(request => request.ForPort(8080).ForPath("/health").ForStatusCode(HttpStatusCode.OK)))
            .Build();
        string? id = null;
        try
        {
            using var cts = new CancellationTokenSource(StartTimeout);
            await container.StartAsync(cts.Token);
            id = container.Id;

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            Assert.Equal("healthy\n", await http.GetStringAsync(new Uri($"http://{container.Hostname}:{container.GetMappedPublicPort(8080)}/health"), cts.Token));
            ExecResult probe = await container.ExecAsync(["sh", "-c", "test -f /www/health"], cts.Token);
            Assert.Equal(0, probe.ExitCode);
        }
        finally
        {
            await container.DisposeAsync();
        }

        await AssertGoneAsync(id);
    }

    /// <summary>Disposing a Testcontainers container removes it from the daemon.</summary>
    private async Task AssertGoneAsync(string? id)
    {
        Assert.NotNull(id);
        using HttpResponseMessage response = await _fixture.Api.GetAsync($"/containers/{id}/json");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
