using System.Text.Json;
using Berth.IntegrationTests.Infrastructure;
using Berth.Registry;

namespace Berth.IntegrationTests;

/// <summary>
/// Push and pull through Berth's own registry (berth-registry, started in the test on a free loopback port), with the
/// docker CLI, the berth CLI and skopeo. Pulling back needs the image gone locally, so these tests share the
/// image-archive daemon, which runs alone and may lose busybox.
/// </summary>
[Collection(ImageArchiveCollection.Name)]
public sealed class RegistryTests(ImageArchiveDaemon fixture) : IAsyncLifetime
{
    private readonly BerthDaemon _daemon = fixture.Daemon;
    private readonly DockerCli _docker = fixture.Daemon.Docker;
    private readonly string _root = Directory.CreateTempSubdirectory("berth-registry-").FullName;
    private RegistryServer.Running? _registry;

    /// <summary>host:port of the registry.</summary>
    private string Registry => new Uri(_registry!.Address).Authority;

    public async Task InitializeAsync()
    {
        _registry = await RegistryServer.StartAsync("127.0.0.1:0", Path.Combine(_root, "data"), CancellationToken.None);
        if ((await _docker.RunAsync("image", "inspect", "busybox")).ExitCode != 0)
        {
            await _daemon.BootstrapAsync("busybox");
        }
    }

    public async Task DisposeAsync()
    {
        // The archive tests that share this daemon count on busybox having no other tag: drop every tag of this registry.
        CommandResult listed = await _docker.RunAsync("images", "--format", "{{.Repository}}:{{.Tag}}");
        string[] ours = [.. listed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(r => r.StartsWith(Registry + "/", StringComparison.Ordinal) && !r.EndsWith(":<none>", StringComparison.Ordinal))];
        if (ours.Length > 0)
        {
            _ = await _docker.RunAsync(["rmi", .. ours]);
        }

        // Whatever a test took away, busybox comes back (same id: bootstrap is deterministic).
        if ((await _docker.RunAsync("image", "inspect", "busybox")).ExitCode != 0)
        {
            await _daemon.BootstrapAsync("busybox");
        }

        if (_registry is not null)
        {
            await _registry.DisposeAsync();
        }

        Directory.Delete(_root, recursive: true);
    }

    private Task<CommandResult> BerthAsync(params string[] args) =>
        ProcessRunner.RunAsync(Binaries.Cli, ["-H", "unix://" + _daemon.SocketPath, "--config", Path.Combine(_root, "berth-config"), .. args], stdin: null, timeout: TimeSpan.FromSeconds(60));

    private async Task<CommandResult> BerthSucceedAsync(params string[] args)
    {
        CommandResult result = await BerthAsync(args);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    private async Task<string> ImageIdAsync(string name) =>
        (await _docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", name)).Stdout.Trim();

    /// <summary>Removes every local tag of the busybox image, so a pull has to download it.</summary>
    private async Task RemoveLocallyAsync(params string[] names)
    {
        CommandResult removed = await _docker.RunAsync(["rmi", .. names]);
        Assert.True(removed.ExitCode == 0, removed.ToString());
    }

    [Fact]
    public async Task Docker_push_then_pull_back_by_tag_and_digest_gives_the_same_image_which_runs()
    {
        string image = $"{Registry}/busybox:t";
        string id = await ImageIdAsync("busybox");
        await _docker.SucceedAsync("tag", "busybox", image);

        CommandResult push = await _docker.SucceedAsync("push", image);
        Assert.Contains($"The push refers to repository [{Registry}/busybox]", push.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"t: digest: sha256:[0-9a-f]{64} size: \d+", push.Stdout);
        string digest = System.Text.RegularExpressions.Regex.Match(push.Stdout, @"sha256:[0-9a-f]{64}").Value;

        CommandResult again = await _docker.SucceedAsync("push", image);
        Assert.Contains("Layer already exists", again.Stdout, StringComparison.Ordinal);

        await RemoveLocallyAsync(image, "busybox");
        await _docker.SucceedAsync("image", "prune", "-f");
        Assert.NotEqual(0, (await _docker.RunAsync("image", "inspect", id)).ExitCode);

        CommandResult pull = await _docker.SucceedAsync("pull", image);
        Assert.Contains("t: Pulling from busybox", pull.Stdout, StringComparison.Ordinal);
        Assert.Contains("Pull complete", pull.Stdout, StringComparison.Ordinal);
        Assert.Contains($"Digest: {digest}", pull.Stdout, StringComparison.Ordinal);
        Assert.Contains($"Status: Downloaded newer image for {image}", pull.Stdout, StringComparison.Ordinal);
        Assert.Equal(id, await ImageIdAsync(image));
        string repoDigests = (await _docker.SucceedAsync("image", "inspect", "--format", "{{json .RepoDigests}}", image)).Stdout;
        Assert.Contains($"{Registry}/busybox@{digest}", repoDigests, StringComparison.Ordinal);

        CommandResult run = await _docker.SucceedAsync("run", "--rm", image, "echo", "pulled-and-ran");
        Assert.Equal("pulled-and-ran", run.Stdout.Trim());

        await RemoveLocallyAsync(image);
        CommandResult byDigest = await _docker.SucceedAsync("pull", $"{Registry}/busybox@{digest}");
        Assert.Contains($"Digest: {digest}", byDigest.Stdout, StringComparison.Ordinal);
        Assert.Equal(id, await ImageIdAsync($"{Registry}/busybox@{digest}"));
        await _docker.SucceedAsync("tag", id, "busybox");
    }

    [Fact]
    public async Task Berth_push_then_pull_back_gives_the_same_image_and_events()
    {
        string image = $"{Registry}/team/bb:v1";
        string id = await ImageIdAsync("busybox");
        await BerthSucceedAsync("tag", "busybox", image);
        DateTimeOffset since = DateTimeOffset.UtcNow.AddSeconds(-1);

        CommandResult push = await BerthSucceedAsync("push", image);
        Assert.Contains("Pushed", push.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"v1: digest: sha256:[0-9a-f]{64}", push.Stdout);

        await BerthSucceedAsync("rmi", image, "busybox");
        CommandResult pull = await BerthSucceedAsync("pull", image);
        Assert.Contains($"Status: Downloaded newer image for {image}", pull.Stdout, StringComparison.Ordinal);
        Assert.Equal(id, await ImageIdAsync(image));

        CommandResult quiet = await BerthSucceedAsync("pull", "-q", image);
        Assert.Equal(image, quiet.Stdout.Trim());

        CommandResult events = await _docker.SucceedAsync("events", "--since", since.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--until", DateTimeOffset.UtcNow.AddSeconds(1).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), "--filter", "type=image", "--format", "{{.Action}} {{.Actor.Attributes.name}}");
        Assert.Contains($"push {image}", events.Stdout, StringComparison.Ordinal);
        Assert.Contains($"pull {image}", events.Stdout, StringComparison.Ordinal);

        CommandResult run = await BerthSucceedAsync("run", "--rm", image, "echo", "berth-pulled");
        Assert.Equal("berth-pulled", run.Stdout.Trim());
        await BerthSucceedAsync("tag", image, "busybox");
    }

    [Fact]
    public async Task Berth_run_pulls_a_missing_image_first_with_progress_on_stderr()
    {
        string image = $"{Registry}/run/pulled:v1";
        await BerthSucceedAsync("tag", "busybox", image);
        await BerthSucceedAsync("push", image);
        await BerthSucceedAsync("rmi", image);

        CommandResult run = await BerthSucceedAsync("run", "--rm", image, "echo", "pulled-by-run");
        Assert.Equal("pulled-by-run", run.Stdout.Trim());
        Assert.Contains($"Unable to find image '{image}' locally", run.Stderr, StringComparison.Ordinal);
        Assert.Contains($"Status: Downloaded newer image for {image}", run.Stderr, StringComparison.Ordinal);

        CommandResult missing = await BerthAsync("run", "--rm", $"{Registry}/run/absent:v1", "true");
        Assert.Equal(125, missing.ExitCode);
        Assert.Contains("Error response from daemon", missing.Stderr, StringComparison.Ordinal);
        Assert.Contains("manifest unknown", missing.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task All_tags_push_and_pull_move_every_tag_of_a_repository()
    {
        string repository = $"{Registry}/multi/app";
        await BerthSucceedAsync("tag", "busybox", repository + ":v1");
        await BerthSucceedAsync("tag", "busybox", repository + ":v2");
        CommandResult push = await BerthSucceedAsync("push", "--all-tags", repository);
        Assert.Matches(@"v1: digest: sha256:[0-9a-f]{64}", push.Stdout);
        Assert.Matches(@"v2: digest: sha256:[0-9a-f]{64}", push.Stdout);

        await RemoveLocallyAsync(repository + ":v1", repository + ":v2");
        CommandResult pull = await _docker.RunAsync("pull", "-a", repository);
        Assert.True(pull.ExitCode == 0, pull.ToString());
        CommandResult tags = await _docker.SucceedAsync("images", "--format", "{{.Tag}}", repository);
        Assert.Equal(["v1", "v2"], tags.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());

        await RemoveLocallyAsync(repository + ":v1", repository + ":v2");
        await BerthSucceedAsync("pull", "-a", repository);
        Assert.Equal(await ImageIdAsync("busybox"), await ImageIdAsync(repository + ":v2"));

        CommandResult tagged = await BerthAsync("push", "-a", repository + ":v1");
        Assert.NotEqual(0, tagged.ExitCode);
        Assert.Contains("tag can't be used with --all-tags/-a", tagged.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Search_lists_the_repositories_of_berths_registry_with_docker_and_berth()
    {
        string repository = $"{Registry}/searchable/needle-app";
        await BerthSucceedAsync("tag", "busybox", repository + ":v1");
        await BerthSucceedAsync("push", repository + ":v1");

        CommandResult docker = await _docker.SucceedAsync("search", $"{Registry}/needle");
        string[] lines = docker.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^NAME\s+DESCRIPTION\s+STARS\s+OFFICIAL", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("searchable/needle-app ", StringComparison.Ordinal));

        CommandResult berth = await BerthSucceedAsync("search", "--format", "{{.Name}} {{.StarCount}}", $"{Registry}/needle");
        Assert.Equal("searchable/needle-app 0", berth.Stdout.Trim());
        CommandResult none = await BerthSucceedAsync("search", "--filter", "stars=5", "--format", "{{.Name}}", $"{Registry}/needle");
        Assert.Equal("", none.Stdout.Trim());

        CommandResult badFilter = await _docker.RunAsync("search", "--filter", "colour=red", $"{Registry}/needle");
        Assert.NotEqual(0, badFilter.ExitCode);
        Assert.Contains("invalid filter 'colour'", badFilter.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pull_of_a_missing_tag_is_manifest_unknown()
    {
        CommandResult docker = await _docker.RunAsync("pull", $"{Registry}/busybox:missing");
        Assert.NotEqual(0, docker.ExitCode);
        Assert.Contains($"Error response from daemon: manifest for {Registry}/busybox:missing not found: manifest unknown", docker.Stderr, StringComparison.Ordinal);

        CommandResult berth = await BerthAsync("pull", $"{Registry}/nothing/here:v9");
        Assert.NotEqual(0, berth.ExitCode);
        Assert.Contains("manifest unknown", berth.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unreachable_registry_says_so_and_hints_at_bootstrap()
    {
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        CommandResult pull = await _docker.RunAsync("pull", "127.0.0.1:1/busybox:latest");
        Assert.NotEqual(0, pull.ExitCode);
        Assert.Contains("cannot reach registry 127.0.0.1:1", pull.Stderr, StringComparison.Ordinal);
        Assert.Contains("berth image bootstrap", pull.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Skopeo_inspects_and_copies_what_berth_pushed()
    {
        string image = $"{Registry}/skopeo/bb:s1";
        await _docker.SucceedAsync("tag", "busybox", image);
        try
        {
            CommandResult push = await _docker.SucceedAsync("push", image);
            string digest = System.Text.RegularExpressions.Regex.Match(push.Stdout, @"sha256:[0-9a-f]{64}").Value;

            CommandResult inspect = await ProcessRunner.RunAsync("skopeo", ["inspect", "--tls-verify=false", $"docker://{image}"], stdin: null, timeout: TimeSpan.FromSeconds(60));
            Assert.True(inspect.ExitCode == 0, inspect.ToString());
            using JsonDocument document = JsonDocument.Parse(inspect.Stdout);
            Assert.Equal(digest, document.RootElement.GetProperty("Digest").GetString());
            Assert.Contains("s1", document.RootElement.GetProperty("RepoTags").EnumerateArray().Select(t => t.GetString()));

            string dir = Path.Combine(_root, "skopeo-dir");
            CommandResult copy = await ProcessRunner.RunAsync("skopeo", ["copy", "--src-tls-verify=false", $"docker://{image}", $"dir:{dir}"], stdin: null, timeout: TimeSpan.FromSeconds(60));
            Assert.True(copy.ExitCode == 0, copy.ToString());
            Assert.True(File.Exists(Path.Combine(dir, "manifest.json")));

            // And skopeo pushes into our registry: a copy under another name, which berth then pulls.
            CommandResult back = await ProcessRunner.RunAsync("skopeo", ["copy", "--dest-tls-verify=false", $"dir:{dir}", $"docker://{Registry}/skopeo/copy:c1"], stdin: null, timeout: TimeSpan.FromSeconds(60));
            Assert.True(back.ExitCode == 0, back.ToString());
            await BerthSucceedAsync("pull", $"{Registry}/skopeo/copy:c1");
            Assert.Equal(await ImageIdAsync("busybox"), await ImageIdAsync($"{Registry}/skopeo/copy:c1"));
        }
        finally
        {
            _ = await _docker.RunAsync("rmi", image, $"{Registry}/skopeo/copy:c1");
        }
    }

    [Fact]
    public async Task Login_checks_the_registry_and_stores_docker_compatible_credentials()
    {
        CommandResult login = await BerthSucceedAsync("login", "-u", "someone", "-p", "secret", Registry);
        Assert.Equal("Login Succeeded", login.Stdout.Trim());
        string config = Path.Combine(_root, "berth-config", "config.json");
        using (JsonDocument document = JsonDocument.Parse(File.ReadAllText(config)))
        {
            string auth = document.RootElement.GetProperty("auths").GetProperty(Registry).GetProperty("auth").GetString()!;
            Assert.Equal("someone:secret", System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(auth)));
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(config));
        CommandResult logout = await BerthSucceedAsync("logout", Registry);
        Assert.Contains($"Removing login credentials for {Registry}", logout.Stdout, StringComparison.Ordinal);

        CommandResult refused = await BerthAsync("login", "-u", "someone", "-p", "secret", "127.0.0.1:1");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("cannot reach registry", refused.Stderr, StringComparison.Ordinal);
    }
}
