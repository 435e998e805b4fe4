using Berth.ClientCompatTests.Infrastructure;
using Berth.IntegrationTests.Infrastructure;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Berth.ClientCompatTests.DockerDotNet;

/// <summary>Docker.DotNet.Enhanced exec: create, start hijacked (with and without a TTY), inspect for the exit code.</summary>
public sealed class ExecTests(DaemonFixture fixture) : DockerClientTest(fixture)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Exec_output_and_exit_code_come_back(bool tty)
    {
        string id = await Client.CreateBusyboxAsync(Names.Unique("dn-exec"), tty: false, "sleep", "300");
        try
        {
            using CancellationTokenSource cts = DockerClients.Bound();
            (ContainerExecCreateResponse exec, MultiplexedStream stream) = await StartExecAsync(
                id, new ContainerExecCreateParameters { Cmd = ["sh", "-c", "echo to-out; echo to-err >&2; exit 7"], AttachStdout = true, AttachStderr = true, TTY = tty }, cts.Token);
            using MultiplexedStream disposing = stream;
            (string stdout, string stderr) = await stream.ReadOutputToEndAsync(cts.Token);

            if (tty)
            {
                // One terminal for both: CRLF line ends, nothing on "stderr".
                Assert.Contains("to-out\r\n", stdout, StringComparison.Ordinal);
                Assert.Contains("to-err\r\n", stdout, StringComparison.Ordinal);
                Assert.Equal("", stderr);
            }
            else
            {
                Assert.Equal("to-out\n", stdout);
                Assert.Equal("to-err\n", stderr);
            }

            ContainerExecInspectResponse inspect = await WaitForExecExitAsync(exec.ID, cts.Token);
            Assert.Equal(7, inspect.ExitCode);
            Assert.Equal(id, inspect.ContainerID);
            Assert.Equal(tty, inspect.ProcessConfig?.Tty);
        }
        finally
        {
            await Client.RemoveContainerQuietlyAsync(id);
        }
    }

    [Fact]
    public async Task Exec_stdin_is_written_then_half_closed_and_the_output_still_arrives()
    {
        string id = await Client.CreateBusyboxAsync(Names.Unique("dn-exec-stdin"), tty: false, "sleep", "300");
        try
        {
            using CancellationTokenSource cts = DockerClients.Bound();
            (ContainerExecCreateResponse exec, MultiplexedStream stream) = await StartExecAsync(
                id, new ContainerExecCreateParameters { Cmd = ["sh", "-c", "tr a-z A-Z; echo done >&2"], AttachStdin = true, AttachStdout = true, AttachStderr = true }, cts.Token);
            using MultiplexedStream disposing = stream;
            byte[] input = System.Text.Encoding.ASCII.GetBytes("through the hijacked stream\n");
            await stream.WriteAsync(input, 0, input.Length, cts.Token);
            // The client's end of input: tr sees EOF and exits, while the connection stays open for the output.
            stream.CloseWrite();
            (string stdout, string stderr) = await stream.ReadOutputToEndAsync(cts.Token);

            Assert.Equal("THROUGH THE HIJACKED STREAM\n", stdout);
            Assert.Equal("done\n", stderr);
            Assert.Equal(0, (await WaitForExecExitAsync(exec.ID, cts.Token)).ExitCode);
        }
        finally
        {
            await Client.RemoveContainerQuietlyAsync(id);
        }
    }

    [Fact]
    public async Task Exec_in_a_container_that_is_not_running_is_a_conflict()
    {
        string id = await Client.CreateBusyboxAsync(Names.Unique("dn-exec-stopped"), tty: false, "true");
        try
        {
            using CancellationTokenSource cts = DockerClients.Bound();
            DockerApiException error = await Assert.ThrowsAsync<DockerApiException>(() => Client.Exec.CreateContainerExecAsync(
                id, new ContainerExecCreateParameters { Cmd = ["true"], AttachStdout = true }, cts.Token));

            Assert.Equal(System.Net.HttpStatusCode.Conflict, error.StatusCode);
            Assert.Contains("is not running", error.ResponseBody, StringComparison.Ordinal);
        }
        finally
        {
            await Client.RemoveContainerQuietlyAsync(id);
        }
    }

    /// <summary>Starts the container (a sleeper) and, in it, the exec: its hijacked stream, TTY or multiplexed as created.</summary>
    private async Task<(ContainerExecCreateResponse Exec, MultiplexedStream Stream)> StartExecAsync(
        string containerId, ContainerExecCreateParameters parameters, CancellationToken cancellationToken)
    {
        Assert.True(await Client.Containers.StartContainerAsync(containerId, new ContainerStartParameters(), cancellationToken));
        ContainerExecCreateResponse exec = await Client.Exec.CreateContainerExecAsync(containerId, parameters, cancellationToken);
        MultiplexedStream stream = await Client.Exec.StartContainerExecAsync(exec.ID, new ContainerExecStartParameters { TTY = parameters.TTY }, cancellationToken);
        return (exec, stream);
    }

    /// <summary>The stream ends when the process's output does; its exit is recorded a moment later.</summary>
    private async Task<ContainerExecInspectResponse> WaitForExecExitAsync(string execId, CancellationToken cancellationToken)
    {
        while (true)
        {
            ContainerExecInspectResponse inspect = await Client.Exec.InspectContainerExecAsync(execId, cancellationToken);
            if (!inspect.Running)
            {
                return inspect;
            }

            await Task.Delay(50, cancellationToken);
        }
    }
}
