using System.Net;
using System.Text.Json;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary><c>docker exec</c> and <c>berth exec</c> against running containers, and the exec API underneath them.</summary>
public sealed class DockerExecTests(DaemonFixture fixture)
{
    private readonly DockerCli _docker = fixture.Docker;
    private readonly HttpClient _api = fixture.Api;

    [Fact]
    public async Task Exec_prints_the_output_of_the_command()
    {
        await WithContainerAsync(async name =>
        {
            CommandResult result = await _docker.RunAsync("exec", name, "echo", "hi");

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal("hi\n", result.Stdout);
        });
    }

    [Fact]
    public async Task Exec_exits_with_the_exit_code_of_the_command()
    {
        await WithContainerAsync(async name =>
        {
            CommandResult result = await _docker.RunAsync("exec", name, "sh", "-c", "exit 4");

            Assert.True(result.ExitCode == 4, result.ToString());
        });
    }

    [Fact]
    public async Task Exec_with_i_pipes_stdin_and_sees_its_end()
    {
        await WithContainerAsync(async name =>
        {
            CommandResult result = await _docker.RunAsync(["exec", "-i", name, "cat"], stdin: "x\ny\n");

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal("x\ny\n", result.Stdout);
        });
    }

    [Fact]
    public async Task Exec_keeps_stdout_and_stderr_apart()
    {
        await WithContainerAsync(async name =>
        {
            CommandResult result = await _docker.RunAsync("exec", name, "sh", "-c", "echo out; echo err >&2");

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal("out\n", result.Stdout);
            Assert.Equal("err\n", result.Stderr);
        });
    }

    [Fact]
    public async Task Exec_of_a_missing_executable_exits_127_with_the_runtime_error()
    {
        await WithContainerAsync(async name =>
        {
            CommandResult result = await _docker.RunAsync("exec", name, "nosuchcmd");

            Assert.True(result.ExitCode == 127, result.ToString());
            Assert.Contains("executable file not found", result.Stdout + result.Stderr, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Exec_of_a_file_that_is_not_executable_exits_126()
    {
        await WithContainerAsync(async name =>
        {
            CommandResult result = await _docker.RunAsync("exec", name, "/etc/hostname");

            Assert.True(result.ExitCode == 126, result.ToString());
        });
    }

    [Fact]
    public async Task Exec_takes_workdir_user_and_env()
    {
        await WithContainerAsync(async name =>
        {
            CommandResult result = await _docker.RunAsync("exec", "-w", "/tmp", "-u", "1000", "-e", "FOO=bar", name, "sh", "-c", "pwd; id -u; echo $FOO");

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal("/tmp\n1000\nbar\n", result.Stdout);
        });
    }

    [Fact]
    public async Task Exec_detached_runs_in_the_background()
    {
        await WithContainerAsync(async name =>
        {
            CommandResult detached = await _docker.RunAsync("exec", "-d", name, "sh", "-c", "echo done > /tmp/detached");
            Assert.True(detached.ExitCode == 0, detached.ToString());
            Assert.Equal("", detached.Stdout);

            await _docker.WaitForOutputAsync(o => o == "done\n", TimeSpan.FromSeconds(30), "exec", name, "cat", "/tmp/detached");
        });
    }

    [Fact]
    public async Task Exec_in_a_container_that_is_not_running_fails()
    {
        string name = Names.Unique("exec-stopped");
        try
        {
            await _docker.SucceedAsync("create", "--name", name, "busybox", "true");

            CommandResult result = await _docker.RunAsync("exec", name, "true");

            Assert.True(result.ExitCode != 0, result.ToString());
            Assert.Contains("is not running", result.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task Exec_api_creates_with_201_and_inspect_reports_the_exit()
    {
        await WithContainerAsync(async name =>
        {
            using HttpResponseMessage created = await _api.PostAsync($"/v1.50/containers/{name}/exec", EngineApi.Json("""{"Cmd":["sh","-c","exit 5"],"AttachStdout":true}"""));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            string execId = (await created.ReadJsonAsync()).GetProperty("Id").GetString()!;

            using HttpResponseMessage before = await _api.GetAsync($"/v1.50/exec/{execId}/json");
            JsonElement pending = await before.ReadJsonAsync();
            Assert.False(pending.GetProperty("Running").GetBoolean());
            Assert.Equal("sh", pending.GetProperty("ProcessConfig").GetProperty("entrypoint").GetString());

            // Not hijacked (no Upgrade header): 200 and the multiplexed stream until the process ends.
            using HttpResponseMessage started = await _api.PostAsync($"/v1.50/exec/{execId}/start", EngineApi.Json("""{"Detach":false,"Tty":false}"""));
            Assert.Equal(HttpStatusCode.OK, started.StatusCode);
            _ = await started.Content.ReadAsByteArrayAsync();

            using HttpResponseMessage after = await _api.GetAsync($"/v1.50/exec/{execId}/json");
            JsonElement done = await after.ReadJsonAsync();
            Assert.Equal(5, done.GetProperty("ExitCode").GetInt32());
            Assert.False(done.GetProperty("Running").GetBoolean());
            Assert.Equal(execId, done.GetProperty("ID").GetString());
            string containerId = (await _docker.SucceedAsync("inspect", "--format", "{{.Id}}", name)).Stdout.Trim();
            Assert.Equal(containerId, done.GetProperty("ContainerID").GetString());

            using HttpResponseMessage again = await _api.PostAsync($"/v1.50/exec/{execId}/start", EngineApi.Json("""{"Detach":false}"""));
            await again.AssertErrorAsync(HttpStatusCode.Conflict);
        });
    }

    [Fact]
    public async Task An_ended_exec_stays_inspectable_until_its_container_is_removed()
    {
        string name = Names.Unique("exec-forgotten");
        try
        {
            await _docker.SucceedAsync("run", "-d", "--name", name, "busybox", "sleep", "300");
            using HttpResponseMessage created = await _api.PostAsync($"/v1.50/containers/{name}/exec", EngineApi.Json("""{"Cmd":["true"]}"""));
            string execId = (await created.ReadJsonAsync()).GetProperty("Id").GetString()!;
            using (HttpResponseMessage started = await _api.PostAsync($"/v1.50/exec/{execId}/start", EngineApi.Json("""{"Detach":false}""")))
            {
                _ = await started.Content.ReadAsByteArrayAsync();
            }

            using HttpResponseMessage ended = await _api.GetAsync($"/v1.50/exec/{execId}/json");
            Assert.Equal(0, (await ended.ReadJsonAsync()).GetProperty("ExitCode").GetInt32());

            await _docker.SucceedAsync("rm", "-f", name);
            using HttpResponseMessage forgotten = await _api.GetAsync($"/v1.50/exec/{execId}/json");
            Assert.Equal($"No such exec instance: {execId}", await forgotten.AssertErrorAsync(HttpStatusCode.NotFound));
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task Exec_api_answers_409_for_a_stopped_container_and_404_for_a_missing_exec()
    {
        string name = Names.Unique("exec-api-stopped");
        try
        {
            string id = (await _docker.SucceedAsync("create", "--name", name, "busybox", "true")).Stdout.Trim();

            using HttpResponseMessage created = await _api.PostAsync($"/v1.50/containers/{name}/exec", EngineApi.Json("""{"Cmd":["true"]}"""));
            Assert.Equal($"container {id} is not running", await created.AssertErrorAsync(HttpStatusCode.Conflict));

            using HttpResponseMessage missing = await _api.GetAsync("/v1.50/exec/0123456789abcdef/json");
            Assert.Equal("No such exec instance: 0123456789abcdef", await missing.AssertErrorAsync(HttpStatusCode.NotFound));
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task Berth_exec_runs_commands_with_their_exit_codes_and_stdin()
    {
        await WithContainerAsync(async name =>
        {
            CommandResult echo = await BerthAsync(null, "exec", name, "echo", "hi");
            Assert.True(echo.ExitCode == 0, echo.ToString());
            Assert.Equal("hi\n", echo.Stdout);

            CommandResult exit = await BerthAsync(null, "exec", name, "sh", "-c", "exit 4");
            Assert.True(exit.ExitCode == 4, exit.ToString());

            CommandResult cat = await BerthAsync("x\n", "exec", "-i", name, "cat");
            Assert.True(cat.ExitCode == 0, cat.ToString());
            Assert.Equal("x\n", cat.Stdout);

            CommandResult flags = await BerthAsync(null, "exec", "-w", "/tmp", "-u", "1000", "-e", "A=b", name, "sh", "-c", "pwd; id -u; echo $A");
            Assert.True(flags.ExitCode == 0, flags.ToString());
            Assert.Equal("/tmp\n1000\nb\n", flags.Stdout);

            CommandResult missing = await BerthAsync(null, "exec", name, "nosuchcmd");
            Assert.True(missing.ExitCode == 127, missing.ToString());
        });
    }

    private Task<CommandResult> BerthAsync(string? stdin, params string[] args) =>
        ProcessRunner.RunAsync(Binaries.Cli, ["-H", "unix://" + fixture.Daemon.SocketPath, .. args], stdin: stdin);

    private async Task WithContainerAsync(Func<string, Task> test)
    {
        string name = Names.Unique("exec");
        try
        {
            await _docker.SucceedAsync("run", "-d", "--name", name, "busybox", "sleep", "300");
            await test(name);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }
}
