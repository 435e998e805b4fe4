using System.Net;
using System.Text;
using System.Text.Json;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>Runtimes registered with the daemon (daemon.json's <c>runtimes</c>, <c>--add-runtime</c>) need a berthd of their own.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RuntimeDaemonCollection : ICollectionFixture<RuntimeDaemon>
{
    public const string Name = "runtimes (own daemon)";
}

/// <summary>
/// A berthd with two extra runtimes that are one wrapper script around runc: <c>logged</c> (from <c>--add-runtime</c>) and
/// <c>tagged</c> (daemon.json, with runtimeArgs <c>--tag=from-json</c>, which the wrapper takes off before it execs runc).
/// The wrapper appends "TAG ARGS" to <see cref="InvocationLog"/>, so a test sees which runtime ran which command.
/// </summary>
public sealed class RuntimeDaemon : IAsyncLifetime
{
    private static readonly string[] RuncCandidates = ["/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc", "/usr/local/bin/runc"];

    private BerthDaemon? _daemon;

    public BerthDaemon Daemon => _daemon ?? throw new InvalidOperationException("the runtimes berthd did not start");

    public string Wrapper { get; private set; } = "";

    public string InvocationLog { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _daemon = BerthDaemon.Create("runtimes");
        Wrapper = Path.Combine(_daemon.Root, "logged-runc");
        InvocationLog = Path.Combine(_daemon.Root, "invocations.log");
        string runc = RuncCandidates.First(File.Exists);
        await File.WriteAllTextAsync(Wrapper,
            $"#!/bin/sh\ntag=plain\ncase \"$1\" in --tag=*) tag=${{1#--tag=}}; shift;; esac\necho \"$tag $*\" >> {InvocationLog}\nexec {runc} \"$@\"\n");
        File.SetUnixFileMode(Wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        _daemon.ExtraArgs = ["--add-runtime", "logged=" + Wrapper];
        await _daemon.UseConfigFileAsync("{\"runtimes\": {\"tagged\": {\"path\": \"" + Wrapper + "\", \"runtimeArgs\": [\"--tag=from-json\"]}}}");
        await _daemon.StartAsync();
        await _daemon.BootstrapAsync("busybox");
    }

    public async Task DisposeAsync()
    {
        if (_daemon is not null)
        {
            await _daemon.DisposeAsync();
        }
    }
}

[Collection(RuntimeDaemonCollection.Name)]
public sealed class RuntimeSelectionTests(RuntimeDaemon fixture)
{
    private readonly BerthDaemon _daemon = fixture.Daemon;

    private string[] Invocations(string containerId) =>
        File.Exists(fixture.InvocationLog) ? [.. File.ReadAllLines(fixture.InvocationLog).Where(l => l.Contains(containerId, StringComparison.Ordinal))] : [];

    [Theory]
    [InlineData("docker")]
    [InlineData("berth")]
    public async Task Run_with_a_registered_runtime_goes_through_it_for_create_exec_and_kill(string client)
    {
        DockerCli cli = client == "berth" ? _daemon.Berth : _daemon.Docker;
        string name = Names.Unique("rt-" + client);
        try
        {
            Assert.Equal("hello", (await cli.SucceedAsync("run", "--rm", "--runtime", "logged", "busybox", "echo", "hello")).Stdout.Trim());

            string id = (await cli.SucceedAsync("run", "-d", "--name", name, "--runtime", "logged", "busybox", "sleep", "600")).Stdout.Trim();
            Assert.Equal("logged", (await cli.SucceedAsync("inspect", "--format", "{{.HostConfig.Runtime}}", name)).Stdout.Trim());
            Assert.Equal("in", (await cli.SucceedAsync("exec", name, "echo", "in")).Stdout.Trim());
            await cli.SucceedAsync("stop", "-t", "1", name);

            string[] calls = Invocations(id);
            Assert.Contains(calls, c => c.StartsWith("plain --root ", StringComparison.Ordinal) && c.Contains(" create ", StringComparison.Ordinal));
            Assert.Contains(calls, c => c.StartsWith("plain --root ", StringComparison.Ordinal) && c.Contains(" start " + id, StringComparison.Ordinal));
            Assert.Contains(calls, c => c.StartsWith("plain --root ", StringComparison.Ordinal) && c.Contains(" exec ", StringComparison.Ordinal));
            Assert.Contains(calls, c => c.StartsWith("plain --root ", StringComparison.Ordinal) && c.Contains(" kill ", StringComparison.Ordinal));
        }
        finally
        {
            await cli.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task Runtime_args_from_daemon_json_come_before_the_command_and_the_default_stays_runc()
    {
        DockerCli docker = _daemon.Docker;
        string tagged = Names.Unique("rt-tagged");
        string plain = Names.Unique("rt-default");
        try
        {
            string taggedId = (await docker.SucceedAsync("create", "--name", tagged, "--runtime", "tagged", "busybox", "true")).Stdout.Trim();
            await docker.SucceedAsync("start", "-a", tagged);
            Assert.Equal("tagged", (await docker.SucceedAsync("inspect", "--format", "{{.HostConfig.Runtime}}", tagged)).Stdout.Trim());
            Assert.Contains(Invocations(taggedId), c => c.StartsWith("from-json --root ", StringComparison.Ordinal) && c.Contains(" create ", StringComparison.Ordinal));

            // Without --runtime the container gets the default, named in its HostConfig, and the wrapper never sees it.
            await docker.SucceedAsync("run", "--name", plain, "busybox", "true");
            string plainId = (await docker.SucceedAsync("inspect", "--format", "{{.Id}}", plain)).Stdout.Trim();
            Assert.Equal("runc", (await docker.SucceedAsync("inspect", "--format", "{{.HostConfig.Runtime}}", plain)).Stdout.Trim());
            Assert.Empty(Invocations(plainId));
        }
        finally
        {
            await docker.RemoveQuietlyAsync(tagged, plain);
        }
    }

    [Fact]
    public async Task An_unknown_runtime_is_refused_with_dockers_400_and_info_lists_every_runtime()
    {
        CommandResult unknown = await _daemon.Docker.RunAsync("run", "--rm", "--runtime", "nosuch", "busybox", "true");
        Assert.Equal(125, unknown.ExitCode);
        Assert.Contains("unknown or invalid runtime name: nosuch", unknown.Stderr, StringComparison.Ordinal);
        CommandResult viaBerth = await _daemon.Berth.RunAsync("create", "--runtime", "nosuch", "busybox", "true");
        Assert.Equal(1, viaBerth.ExitCode); // create, unlike run, exits 1 on a daemon error (docker create does too)
        Assert.Contains("unknown or invalid runtime name: nosuch", viaBerth.Stderr, StringComparison.Ordinal);

        using (var body = new StringContent("""{"Image": "busybox", "Cmd": ["true"], "HostConfig": {"Runtime": "nosuch"}}""", Encoding.UTF8, "application/json"))
        using (HttpResponseMessage response = await _daemon.Api.PostAsync("/v1.50/containers/create", body))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("unknown or invalid runtime name: nosuch", (await response.ReadJsonAsync()).GetProperty("message").GetString());
        }

        using JsonDocument runtimes = JsonDocument.Parse((await _daemon.Docker.SucceedAsync("info", "--format", "{{json .Runtimes}}")).Stdout);
        Assert.Equal(["logged", "runc", "tagged"], runtimes.RootElement.EnumerateObject().Select(r => r.Name).Order(StringComparer.Ordinal));
        Assert.Equal(fixture.Wrapper, runtimes.RootElement.GetProperty("logged").GetProperty("path").GetString());
        Assert.Equal(["--tag=from-json"], runtimes.RootElement.GetProperty("tagged").GetProperty("runtimeArgs").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("runc", (await _daemon.Docker.SucceedAsync("info", "--format", "{{.DefaultRuntime}}")).Stdout.Trim());
        Assert.Contains(" Runtimes: logged runc tagged\n", (await _daemon.Berth.SucceedAsync("info")).Stdout, StringComparison.Ordinal);
    }
}
