using System.Text;
using Berth.ClientCompatTests.Infrastructure;
using Berth.IntegrationTests.Infrastructure;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Berth.ClientCompatTests.DockerDotNet;

/// <summary>Docker.DotNet.Enhanced drives a container's whole life: create, attach (hijacked), start, logs, wait, inspect, stop, remove.</summary>
public sealed class ContainerTests(DaemonFixture fixture) : DockerClientTest(fixture)
{
    [Fact]
    public async Task Attach_before_start_reads_stdout_and_stderr_apart_and_wait_returns_the_exit_code()
    {
        string id = await Client.CreateBusyboxAsync(Names.Unique("dn-attach"), tty: false, "sh", "-c", "echo out; echo err >&2; exit 3");
        try
        {
            using CancellationTokenSource cts = DockerClients.Bound();
            using MultiplexedStream stream = await Client.Containers.AttachContainerAsync(
                id, new ContainerAttachParameters { Stream = true, Stdout = true, Stderr = true }, cts.Token);
            Assert.True(await Client.Containers.StartContainerAsync(id, new ContainerStartParameters(), cts.Token));

            (string stdout, string stderr) = await stream.ReadOutputToEndAsync(cts.Token);

            Assert.Equal("out\n", stdout);
            Assert.Equal("err\n", stderr);
            ContainerWaitResponse wait = await Client.Containers.WaitContainerAsync(id, cts.Token);
            Assert.Equal(3, wait.StatusCode);
            ContainerInspectResponse inspect = await Client.Containers.InspectContainerAsync(id, cts.Token);
            Assert.Equal("exited", inspect.State!.Status);
            Assert.Equal(3, inspect.State!.ExitCode);
            Assert.False(inspect.Config!.Tty);
            Assert.Equal(["sh", "-c", "echo out; echo err >&2; exit 3"], inspect.Config!.Cmd);
        }
        finally
        {
            await Client.RemoveContainerQuietlyAsync(id);
        }
    }

    [Fact]
    public async Task Attach_with_a_tty_writes_stdin_and_reads_the_raw_terminal_stream()
    {
        CreateContainerResponse created = await Client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = Names.Unique("dn-tty"),
            Image = "busybox",
            Cmd = ["sh", "-c", "read line; echo got:$line; tty"],
            Tty = true,
            OpenStdin = true,
            StdinOnce = true,
            AttachStdin = true,
            AttachStdout = true,
            AttachStderr = true,
        });
        try
        {
            using CancellationTokenSource cts = DockerClients.Bound();
            using MultiplexedStream stream = await Client.Containers.AttachContainerAsync(
                created.ID, new ContainerAttachParameters { Stream = true, Stdin = true, Stdout = true, Stderr = true }, cts.Token);
            Assert.True(await Client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), cts.Token));
            byte[] line = Encoding.ASCII.GetBytes("hello\n");
            await stream.WriteAsync(line, 0, line.Length, cts.Token);

            (string output, string stderr) = await stream.ReadOutputToEndAsync(cts.Token);

            // A terminal: the input is echoed, lines end in CRLF, everything arrives as "stdout" (no multiplexing).
            Assert.Contains("got:hello\r\n", output, StringComparison.Ordinal);
            Assert.Contains("/dev/pts/", output, StringComparison.Ordinal);
            Assert.Equal("", stderr);
            Assert.Equal(0, (await Client.Containers.WaitContainerAsync(created.ID, cts.Token)).StatusCode);
        }
        finally
        {
            await Client.RemoveContainerQuietlyAsync(created.ID);
        }
    }

    [Fact]
    public async Task Logs_follow_streams_lines_as_they_are_written_and_ends_when_the_container_exits()
    {
        // "three" comes only once the test has read the first two lines from the followed stream and released the container.
        string id = await Client.CreateBusyboxAsync(
            Names.Unique("dn-logs"), tty: false, "sh", "-c", "echo one; echo two >&2; while [ ! -f /tmp/go ]; do sleep 0.05; done; echo three");
        try
        {
            using CancellationTokenSource cts = DockerClients.Bound();
            Assert.True(await Client.Containers.StartContainerAsync(id, new ContainerStartParameters(), cts.Token));
            using MultiplexedStream logs = await Client.Containers.GetContainerLogsAsync(
                id, new ContainerLogsParameters { Follow = true, ShowStdout = true, ShowStderr = true, Timestamps = false }, cts.Token);

            var stdout = new StringBuilder();
            var stderr = new StringBuilder();
            byte[] buffer = new byte[4096];
            while (stdout.ToString() != "one\n" || stderr.ToString() != "two\n")
            {
                MultiplexedStream.ReadResult read = await logs.ReadOutputAsync(buffer, 0, buffer.Length, cts.Token);
                Assert.False(read.EOF, $"the followed stream ended early: stdout {stdout}, stderr {stderr}");
                (read.Target == MultiplexedStream.TargetStream.StandardError ? stderr : stdout).Append(Encoding.UTF8.GetString(buffer, 0, read.Count));
            }

            await RunExecAsync(id, ["touch", "/tmp/go"], cts.Token);
            (string rest, string restErr) = await logs.ReadOutputToEndAsync(cts.Token);

            Assert.Equal("three\n", rest);
            Assert.Equal("", restErr);
            Assert.Equal(0, (await Client.Containers.WaitContainerAsync(id, cts.Token)).StatusCode);

            // Not following, with a tail: only the last line.
            using MultiplexedStream tail = await Client.Containers.GetContainerLogsAsync(
                id, new ContainerLogsParameters { ShowStdout = true, ShowStderr = true, Tail = "1" }, cts.Token);
            (string lastOut, string lastErr) = await tail.ReadOutputToEndAsync(cts.Token);
            Assert.Equal("three\n", lastOut);
            Assert.Equal("", lastErr);
        }
        finally
        {
            await Client.RemoveContainerQuietlyAsync(id);
        }
    }

    [Fact]
    public async Task Stop_of_a_running_container_then_remove_leaves_no_container()
    {
        string name = Names.Unique("dn-stop");
        string id = await Client.CreateBusyboxAsync(name, tty: false, "sleep", "300");
        try
        {
            using CancellationTokenSource cts = DockerClients.Bound();
            Assert.True(await Client.Containers.StartContainerAsync(id, new ContainerStartParameters(), cts.Token));
            // Starting what runs already is a 304: the client answers false.
            Assert.False(await Client.Containers.StartContainerAsync(id, new ContainerStartParameters(), cts.Token));
            ContainerInspectResponse running = await Client.Containers.InspectContainerAsync(id, cts.Token);
            Assert.True(running.State!.Running);
            Assert.True(running.State!.Pid > 0);
            Assert.Equal("/" + name, running.Name);

            IList<ContainerListResponse> listed = await Client.Containers.ListContainersAsync(
                new ContainersListParameters { Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = new Dictionary<string, bool> { [name] = true } } }, cts.Token);
            Assert.Equal(id, Assert.Single(listed).ID);

            Assert.True(await Client.Containers.StopContainerAsync(id, new ContainerStopParameters { WaitBeforeKillSeconds = 1 }, cts.Token));
            ContainerInspectResponse stopped = await Client.Containers.InspectContainerAsync(id, cts.Token);
            Assert.False(stopped.State!.Running);
            Assert.Equal(137, stopped.State!.ExitCode); // sleep as pid 1 has no SIGTERM handler, so the signal is ignored: killed after the wait

            await Client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters(), cts.Token);
            await Assert.ThrowsAsync<DockerContainerNotFoundException>(() => Client.Containers.InspectContainerAsync(id, cts.Token));
        }
        finally
        {
            await Client.RemoveContainerQuietlyAsync(id);
        }
    }

    private async Task RunExecAsync(string containerId, string[] command, CancellationToken cancellationToken)
    {
        ContainerExecCreateResponse exec = await Client.Exec.CreateContainerExecAsync(
            containerId, new ContainerExecCreateParameters { Cmd = command, AttachStdout = true, AttachStderr = true }, cancellationToken);
        using MultiplexedStream stream = await Client.Exec.StartContainerExecAsync(exec.ID, new ContainerExecStartParameters(), cancellationToken);
        _ = await stream.ReadOutputToEndAsync(cancellationToken);
    }
}
