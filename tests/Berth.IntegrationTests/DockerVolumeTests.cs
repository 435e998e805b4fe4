using System.Formats.Tar;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>Volumes, binds and tmpfs mounts through the real docker CLI and Berth's API.</summary>
public sealed class DockerVolumeTests(DaemonFixture fixture)
{
    private readonly DockerCli _docker = fixture.Docker;

    /// <summary>The scenarios of the volumes issue run through the real docker CLI and through berth.</summary>
    private DockerCli Cli(string client) => client == "berth" ? fixture.Daemon.Berth : _docker;

    private async Task RemoveVolumesQuietlyAsync(params string[] names)
    {
        try
        {
            _ = await _docker.RunAsync(["volume", "rm", "-f", .. names]);
        }
        catch (TimeoutException)
        {
        }
    }

    /// <summary><c>rm -f -v</c>: the container and its anonymous volumes, whatever state the test left.</summary>
    private async Task RemoveWithVolumesQuietlyAsync(params string[] names)
    {
        try
        {
            _ = await _docker.RunAsync(["rm", "-f", "-v", .. names]);
        }
        catch (TimeoutException)
        {
        }
    }

    private async Task<string> MountpointAsync(string volume) =>
        (await _docker.SucceedAsync("volume", "inspect", "--format", "{{.Mountpoint}}", volume)).Stdout.Trim();

    [Theory]
    [InlineData("docker")]
    [InlineData("berth")]
    public async Task Named_volume_data_survives_rm_and_is_seen_by_the_next_container(string client)
    {
        DockerCli cli = Cli(client);
        string volume = Names.Unique("vol");
        string first = Names.Unique("writer");
        try
        {
            await cli.SucceedAsync("run", "--name", first, "-v", volume + ":/data", "busybox", "sh", "-c", "echo kept > /data/file");
            CommandResult mounts = await cli.SucceedAsync("inspect", "--format", "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}} {{.Driver}} {{.RW}} {{.Source}}{{end}}", first);
            string mountpoint = await MountpointAsync(volume);
            Assert.Equal($"volume {volume} /data local true {mountpoint}", mounts.Stdout.Trim());
            await cli.SucceedAsync("rm", "-v", first); // -v never removes a named volume

            CommandResult read = await cli.SucceedAsync("run", "--rm", "-v", volume + ":/again", "busybox", "cat", "/again/file");
            Assert.Equal("kept\n", read.Stdout);
            Assert.Equal("kept\n", await File.ReadAllTextAsync(Path.Combine(mountpoint, "file")));
        }
        finally
        {
            await cli.RemoveQuietlyAsync(first);
            await RemoveVolumesQuietlyAsync(volume);
        }
    }

    [Theory]
    [InlineData("docker")]
    [InlineData("berth")]
    public async Task Anonymous_volume_is_created_at_create_and_removed_with_rm_v(string client)
    {
        DockerCli cli = Cli(client);
        string name = Names.Unique("anon");
        string keep = Names.Unique("anonkeep");
        try
        {
            await cli.SucceedAsync("create", "--name", name, "-v", "/data", "--mount", "type=volume,target=/more", "busybox", "true");
            CommandResult names = await cli.SucceedAsync("inspect", "--format", "{{range .Mounts}}{{.Name}} {{end}}", name);
            string[] volumes = names.Stdout.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, volumes.Length);
            Assert.All(volumes, v => Assert.Matches("^[0-9a-f]{64}$", v));
            CommandResult listed = await cli.SucceedAsync("volume", "ls", "-q", "--filter", "dangling=false");
            Assert.All(volumes, v => Assert.Contains(v, listed.Stdout, StringComparison.Ordinal));
            CommandResult labels = await cli.SucceedAsync("volume", "inspect", "--format", "{{json .Labels}}", volumes[0]);
            Assert.Equal("{\"com.docker.volume.anonymous\":\"\"}", labels.Stdout.Trim());

            await cli.SucceedAsync("rm", "-v", name);
            CommandResult after = await cli.SucceedAsync("volume", "ls", "-q");
            Assert.All(volumes, v => Assert.DoesNotContain(v, after.Stdout, StringComparison.Ordinal));

            // Without -v the anonymous volume stays (dangling), as in Docker.
            await cli.SucceedAsync("create", "--name", keep, "-v", "/data", "busybox", "true");
            string kept = (await cli.SucceedAsync("inspect", "--format", "{{range .Mounts}}{{.Name}}{{end}}", keep)).Stdout.Trim();
            await cli.SucceedAsync("rm", keep);
            CommandResult dangling = await cli.SucceedAsync("volume", "ls", "-q", "--filter", "dangling=true");
            Assert.Contains(kept, dangling.Stdout, StringComparison.Ordinal);
            await cli.SucceedAsync("volume", "rm", kept);
        }
        finally
        {
            await RemoveWithVolumesQuietlyAsync(name, keep);
        }
    }

    [Fact]
    public async Task Image_VOLUME_gets_an_anonymous_volume_filled_from_the_image_and_rm_v_removes_it()
    {
        string repo = Names.Unique("volimage");
        string name = Names.Unique("volimg");
        string archive = Path.Combine(Path.GetTempPath(), repo + ".tar");
        try
        {
            await WriteImageWithVolumeAsync(archive, repo + ":v", "/etc");
            await _docker.SucceedAsync("load", "-i", archive);
            await _docker.SucceedAsync("run", "--name", name, repo + ":v", "sh", "-c", "echo added > /etc/added");
            string volume = (await _docker.SucceedAsync("inspect", "--format", "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{end}}", name)).Stdout.Trim();
            Assert.Matches("^volume [0-9a-f]{64} /etc$", volume);
            string volumeName = volume.Split(' ')[1];
            string mountpoint = await MountpointAsync(volumeName);
            Assert.True(File.Exists(Path.Combine(mountpoint, "passwd")), "copy-up fills the anonymous volume with the image's /etc");
            Assert.Equal("added\n", await File.ReadAllTextAsync(Path.Combine(mountpoint, "added")));

            await _docker.SucceedAsync("rm", "-v", name);
            CommandResult gone = await _docker.RunAsync("volume", "inspect", volumeName);
            Assert.Equal(1, gone.ExitCode);
            Assert.False(Directory.Exists(mountpoint));
        }
        finally
        {
            await RemoveWithVolumesQuietlyAsync(name);
            _ = await _docker.RunAsync("rmi", repo + ":v");
            File.Delete(archive);
        }
    }

    /// <summary>busybox re-packed as a legacy docker-archive whose config declares <c>VOLUME <paramref name="volume"/></c>.</summary>
    private async Task WriteImageWithVolumeAsync(string path, string tag, string volume)
    {
        var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using (HttpResponseMessage response = await fixture.Api.GetAsync("/v1.50/images/busybox/get"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new TarReader(await response.Content.ReadAsStreamAsync());
            while (await reader.GetNextEntryAsync() is { } entry)
            {
                if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile && entry.DataStream is not null)
                {
                    using var buffer = new MemoryStream();
                    await entry.DataStream.CopyToAsync(buffer);
                    entries[entry.Name] = buffer.ToArray();
                }
            }
        }

        JsonNode manifest = JsonNode.Parse(entries["manifest.json"])![0]!;
        JsonNode config = JsonNode.Parse(entries[manifest["Config"]!.GetValue<string>()])!;
        config["config"]!["Volumes"] = new JsonObject { [volume] = new JsonObject() };
        byte[] configBytes = JsonSerializer.SerializeToUtf8Bytes(config);
        string configName = Convert.ToHexStringLower(SHA256.HashData(configBytes)) + ".json";
        var layers = new JsonArray([.. manifest["Layers"]!.AsArray().Select(l => (JsonNode?)JsonValue.Create(l!.GetValue<string>()))]);
        byte[] newManifest = JsonSerializer.SerializeToUtf8Bytes(new JsonArray(new JsonObject { ["Config"] = configName, ["RepoTags"] = new JsonArray(tag), ["Layers"] = layers }));
        await using FileStream output = File.Create(path);
        await using var tar = new TarWriter(output, TarEntryFormat.Ustar);
        foreach (JsonNode? layer in layers)
        {
            await WriteEntryAsync(tar, layer!.GetValue<string>(), entries[layer.GetValue<string>()]);
        }

        await WriteEntryAsync(tar, configName, configBytes);
        await WriteEntryAsync(tar, "manifest.json", newManifest);
    }

    private static async Task WriteEntryAsync(TarWriter tar, string name, byte[] data) =>
        await tar.WriteEntryAsync(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data), Mode = (UnixFileMode)0x1A4 });

    [Fact]
    public async Task Run_rm_drops_its_anonymous_volumes()
    {
        string name = Names.Unique("autorm");
        try
        {
            await _docker.SucceedAsync("run", "-d", "--rm", "--name", name, "-v", "/scratch", "busybox", "sleep", "30");
            string volume = (await _docker.SucceedAsync("inspect", "--format", "{{range .Mounts}}{{.Name}}{{end}}", name)).Stdout.Trim();
            Assert.Matches("^[0-9a-f]{64}$", volume);
            Assert.Contains(volume, (await _docker.SucceedAsync("volume", "ls", "-q")).Stdout, StringComparison.Ordinal);
            await _docker.SucceedAsync("stop", "-t", "0", name);
            // The auto-removal finishes after stop returns; wait for it, bounded.
            await _docker.WaitForOutputAsync(o => !o.Contains(volume, StringComparison.Ordinal), TimeSpan.FromSeconds(30), "volume", "ls", "-q");
        }
        finally
        {
            await RemoveWithVolumesQuietlyAsync(name);
        }
    }

    [Theory]
    [InlineData("docker")]
    [InlineData("berth")]
    public async Task Copy_up_fills_a_new_volume_with_the_images_files_keeping_owners_and_modes(string client)
    {
        DockerCli cli = Cli(client);
        string volume = Names.Unique("copy");
        string empty = Names.Unique("nocopy");
        try
        {
            const string listing = "cd $D && find . | sort | xargs stat -c '%n %a %u %g %F'";
            CommandResult image = await cli.SucceedAsync("run", "--rm", "-e", "D=/etc", "busybox", "sh", "-c", listing);
            await cli.SucceedAsync("run", "--rm", "-v", volume + ":/etc", "busybox", "true");
            CommandResult inVolume = await cli.SucceedAsync("run", "--rm", "-e", "D=/v", "-v", volume + ":/v", "busybox", "sh", "-c", listing);
            Assert.Contains("./passwd", inVolume.Stdout, StringComparison.Ordinal);
            // The volume holds the image's /etc plus the mount points the runtime made for hosts/hostname/resolv.conf.
            string[] expected = image.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            string[] actual = inVolume.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.All(expected.Where(l => !l.StartsWith("./host", StringComparison.Ordinal) && !l.StartsWith("./resolv.conf", StringComparison.Ordinal) && !l.StartsWith(". ", StringComparison.Ordinal)),
                l => Assert.Contains(l, actual));

            await cli.SucceedAsync("run", "--rm", "-v", empty + ":/etc:nocopy", "busybox", "true");
            string mountpoint = await MountpointAsync(empty);
            Assert.False(File.Exists(Path.Combine(mountpoint, "passwd")), "nocopy must leave the volume without the image's files");
        }
        finally
        {
            await RemoveVolumesQuietlyAsync(volume, empty);
        }
    }

    [Fact]
    public async Task Volume_subpath_mounts_one_directory_of_a_volume_and_never_leaves_it()
    {
        string volume = Names.Unique("subpath");
        try
        {
            await _docker.SucceedAsync("run", "--rm", "-v", volume + ":/v", "busybox", "sh", "-c",
                "mkdir -p /v/app/conf && echo inside > /v/app/conf/x && echo top > /v/top && ln -s /../../../../etc /v/escape");
            CommandResult sub = await _docker.SucceedAsync("run", "--rm", "--mount", $"type=volume,src={volume},dst=/conf,volume-subpath=app/conf", "busybox", "sh", "-c", "cat /conf/x; ls /conf");
            Assert.Equal("inside\nx\n", sub.Stdout);

            // A symlink in the volume is resolved inside it: "escape" points at the volume's own (missing) etc, not the host's.
            CommandResult escape = await _docker.RunAsync("run", "--rm", "--mount", $"type=volume,src={volume},dst=/e,volume-subpath=escape", "busybox", "ls", "/e");
            Assert.NotEqual(0, escape.ExitCode);
            Assert.Contains("cannot access path escape in the volume", escape.Stderr, StringComparison.Ordinal);

            CommandResult missing = await _docker.RunAsync("run", "--rm", "--mount", $"type=volume,src={volume},dst=/m,volume-subpath=nothing", "busybox", "true");
            Assert.NotEqual(0, missing.ExitCode);
            Assert.Contains("cannot access path nothing", missing.Stderr, StringComparison.Ordinal);

            CommandResult outside = await _docker.RunAsync("run", "--rm", "--mount", $"type=volume,src={volume},dst=/o,volume-subpath=../x", "busybox", "true");
            Assert.Equal(125, outside.ExitCode);
            Assert.Contains("subpath must be a relative path within the volume", outside.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await RemoveVolumesQuietlyAsync(volume);
        }
    }

    [Theory]
    [InlineData("docker")]
    [InlineData("berth")]
    public async Task Volumes_from_shares_and_ro_forbids_writes(string client)
    {
        DockerCli cli = Cli(client);
        string volume = Names.Unique("shared");
        string source = Names.Unique("source");
        try
        {
            await cli.SucceedAsync("create", "--name", source, "-v", volume + ":/shared", "-v", "/anon", "busybox", "true");
            await cli.SucceedAsync("run", "--rm", "--volumes-from", source, "busybox", "sh", "-c", "echo hi > /shared/f && echo there > /anon/g");
            CommandResult read = await cli.SucceedAsync("run", "--rm", "--volumes-from", source + ":ro", "busybox", "sh", "-c", "cat /shared/f /anon/g");
            Assert.Equal("hi\nthere\n", read.Stdout);

            CommandResult denied = await cli.RunAsync("run", "--rm", "--volumes-from", source + ":ro", "busybox", "sh", "-c", "echo no > /shared/f");
            Assert.NotEqual(0, denied.ExitCode);
            Assert.Contains("Read-only file system", denied.Stderr, StringComparison.Ordinal);
            CommandResult mode = await cli.SucceedAsync("run", "--rm", "--volumes-from", source + ":ro", "busybox", "grep", " /shared ", "/proc/mounts");
            Assert.Contains(" ro,", mode.Stdout, StringComparison.Ordinal);

            CommandResult readOnly = await cli.RunAsync("run", "--rm", "-v", volume + ":/ro:ro", "busybox", "touch", "/ro/x");
            Assert.NotEqual(0, readOnly.ExitCode);
            Assert.Contains("Read-only file system", readOnly.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await RemoveWithVolumesQuietlyAsync(source);
            await RemoveVolumesQuietlyAsync(volume);
        }
    }

    [Theory]
    [InlineData("docker")]
    [InlineData("berth")]
    public async Task Bind_mounts_show_host_changes_both_ways(string client)
    {
        DockerCli cli = Cli(client);
        string host = Path.Combine(Path.GetTempPath(), Names.Unique("bind"));
        string created = Path.Combine(Path.GetTempPath(), Names.Unique("bindnew"), "sub");
        string name = Names.Unique("binder");
        Directory.CreateDirectory(host);
        try
        {
            await File.WriteAllTextAsync(Path.Combine(host, "from-host"), "host\n");
            await cli.SucceedAsync("run", "-d", "--name", name, "-v", host + ":/shared", "busybox", "sh", "-c",
                "cat /shared/from-host; echo container > /shared/from-container; while [ ! -f /shared/late ]; do sleep 0.1; done; cat /shared/late; exec sleep 30");
            await cli.WaitForOutputAsync(o => o.Contains("host", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "logs", name);
            await HostFile.WaitForAsync(Path.Combine(host, "from-container"), TimeSpan.FromSeconds(10));
            Assert.Equal("container\n", await File.ReadAllTextAsync(Path.Combine(host, "from-container")));
            await File.WriteAllTextAsync(Path.Combine(host, "late"), "late\n");
            await cli.WaitForOutputAsync(o => o.Contains("late", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "logs", name);
            CommandResult mounts = await cli.SucceedAsync("inspect", "--format", "{{range .Mounts}}{{.Type}} {{.Source}} {{.Destination}} {{.RW}} {{.Propagation}}{{end}}", name);
            Assert.Equal($"bind {host} /shared true rprivate", mounts.Stdout.Trim());

            // -v creates a missing host directory; --mount type=bind requires it.
            await cli.SucceedAsync("run", "--rm", "-v", created + ":/made", "busybox", "true");
            Assert.True(Directory.Exists(created));
            string missing = Path.Combine(host, "missing");
            CommandResult refused = await cli.RunAsync("run", "--rm", "--mount", $"type=bind,source={missing},target=/x", "busybox", "true");
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains($"invalid mount config for type \"bind\": bind source path does not exist: {missing}", refused.Stderr, StringComparison.Ordinal);
            Assert.False(Directory.Exists(missing));
        }
        finally
        {
            await cli.RemoveQuietlyAsync(name);
            Directory.Delete(host, recursive: true);
            Directory.Delete(Path.GetDirectoryName(created)!, recursive: true);
        }
    }

    [Theory]
    [InlineData("docker")]
    [InlineData("berth")]
    public async Task Tmpfs_is_in_memory_and_gone_after_stop(string client)
    {
        DockerCli cli = Cli(client);
        string name = Names.Unique("tmpfs");
        try
        {
            await cli.SucceedAsync("run", "-d", "--name", name, "--tmpfs", "/scratch:size=1m", "--mount", "type=tmpfs,target=/other,tmpfs-size=2m",
                "busybox", "sh", "-c", "ls /scratch | wc -l; grep -E ' /(scratch|other) ' /proc/mounts; echo x > /scratch/f; exec sleep 60");
            CommandResult logs = await cli.WaitForOutputAsync(o => o.Contains(" /other ", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "logs", name);
            Assert.Matches(@"(?m)^tmpfs /scratch tmpfs rw,nosuid,nodev,noexec.*size=1024k", logs.Stdout);
            Assert.Matches(@"(?m)^tmpfs /other tmpfs rw,nosuid,nodev,noexec.*size=2048k", logs.Stdout);
            Assert.StartsWith("0\n", logs.Stdout, StringComparison.Ordinal);

            await cli.SucceedAsync("stop", "-t", "0", name);
            await cli.SucceedAsync("start", name);
            CommandResult again = await cli.WaitForOutputAsync(o => o.Split('\n').Count(l => l.StartsWith("tmpfs /other", StringComparison.Ordinal)) == 2, TimeSpan.FromSeconds(30), "logs", name);
            Assert.Equal(2, again.Stdout.Split('\n').Count(l => l == "0"));
            // --tmpfs mounts are not listed in Mounts, --mount type=tmpfs is (as Docker shows them).
            CommandResult mounts = await cli.SucceedAsync("inspect", "--format", "{{range .Mounts}}{{.Type}} {{.Destination}};{{end}}", name);
            Assert.Equal("tmpfs /other;", mounts.Stdout.Trim());
        }
        finally
        {
            await cli.RemoveQuietlyAsync(name);
        }
    }

    [Theory]
    [InlineData("docker")]
    [InlineData("berth")]
    public async Task In_use_volume_cannot_be_removed(string client)
    {
        DockerCli cli = Cli(client);
        string volume = Names.Unique("busy");
        string name = Names.Unique("user");
        try
        {
            string id = (await cli.SucceedAsync("create", "--name", name, "-v", volume + ":/data", "busybox", "true")).Stdout.Trim();
            CommandResult rm = await cli.RunAsync("volume", "rm", volume);
            Assert.Equal(1, rm.ExitCode);
            Assert.Contains($"remove {volume}: volume is in use - [{id}]", rm.Stderr, StringComparison.Ordinal);

            using HttpResponseMessage response = await fixture.Api.DeleteAsync($"/volumes/{volume}?force=1");
            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);

            await cli.SucceedAsync("rm", name);
            await cli.SucceedAsync("volume", "rm", volume);
            CommandResult gone = await cli.RunAsync("volume", "inspect", volume);
            Assert.Equal(1, gone.ExitCode);
        }
        finally
        {
            await cli.RemoveQuietlyAsync(name);
            await RemoveVolumesQuietlyAsync(volume);
        }
    }

    [Theory]
    [InlineData("absolute", "docker")]
    [InlineData("dotdot", "docker")]
    [InlineData("absolute", "berth")]
    [InlineData("dotdot", "berth")]
    public async Task A_symlinked_mount_target_stays_inside_the_container(string kind, string client)
    {
        DockerCli cli = Cli(client);
        string name = Names.Unique("escape");
        string hostSource = Path.Combine(Path.GetTempPath(), Names.Unique("escsrc"));
        string hostTarget = Path.Combine(Path.GetTempPath(), Names.Unique("esctgt"));
        Directory.CreateDirectory(hostSource);
        try
        {
            await File.WriteAllTextAsync(Path.Combine(hostSource, "marker"), "bound\n");
            await cli.SucceedAsync("create", "--name", name, "-v", hostSource + ":/evil", "busybox", "sh", "-c", "cat /evil/marker; ls -d " + hostTarget);
            // Plant the symlink where the mount target will be, as a malicious image layer would.
            string upper = (await cli.SucceedAsync("inspect", "--format", "{{.GraphDriver.Data.UpperDir}}", name)).Stdout.Trim();
            string link = kind == "absolute" ? hostTarget : "../../../../../../../../.." + hostTarget;
            File.CreateSymbolicLink(Path.Combine(upper, "evil"), link);

            CommandResult start = await cli.RunAsync("start", "-a", name);
            Assert.False(Directory.Exists(hostTarget), $"the mount escaped to the host: {start}");
            Assert.False(File.Exists(hostTarget), "nothing may be written on the host");
            Assert.Equal(0, start.ExitCode);
            Assert.Equal("bound\n" + hostTarget + "\n", start.Stdout);
            Assert.Equal("bound\n", await File.ReadAllTextAsync(Path.Combine(hostSource, "marker")));
        }
        finally
        {
            await cli.RemoveQuietlyAsync(name);
            Directory.Delete(hostSource, recursive: true);
            if (Directory.Exists(hostTarget))
            {
                Directory.Delete(hostTarget, recursive: true);
            }
        }
    }

    [Fact]
    public async Task A_symlink_to_the_root_is_refused_as_a_mount_target()
    {
        string name = Names.Unique("rootlink");
        string hostSource = Path.Combine(Path.GetTempPath(), Names.Unique("rootsrc"));
        Directory.CreateDirectory(hostSource);
        try
        {
            await _docker.SucceedAsync("create", "--name", name, "-v", hostSource + ":/evil", "busybox", "true");
            string upper = (await _docker.SucceedAsync("inspect", "--format", "{{.GraphDriver.Data.UpperDir}}", name)).Stdout.Trim();
            File.CreateSymbolicLink(Path.Combine(upper, "evil"), "../../..");
            CommandResult start = await _docker.RunAsync("start", name);
            Assert.NotEqual(0, start.ExitCode);
            Assert.Contains("resolves to the container's root", start.Stderr, StringComparison.Ordinal);
            Assert.Empty(Directory.EnumerateFileSystemEntries(hostSource));
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
            Directory.Delete(hostSource, recursive: true);
        }
    }

    [Fact]
    public async Task Volume_create_ls_inspect_and_prune_flow()
    {
        string named = Names.Unique("flow");
        string other = Names.Unique("flowother");
        string anonymousUser = Names.Unique("flowanon");
        string anonymous = "";
        try
        {
            Assert.Equal(named + "\n", (await _docker.SucceedAsync("volume", "create", "--label", "team=blue", "--label", "tier", named)).Stdout);
            Assert.Equal(other + "\n", (await _docker.SucceedAsync("volume", "create", other)).Stdout);
            await _docker.SucceedAsync("create", "--name", anonymousUser, "-v", "/anon", "busybox", "true");
            anonymous = (await _docker.SucceedAsync("inspect", "--format", "{{range .Mounts}}{{.Name}}{{end}}", anonymousUser)).Stdout.Trim();
            await _docker.SucceedAsync("rm", anonymousUser);

            CommandResult table = await _docker.SucceedAsync("volume", "ls", "--filter", "name=" + named);
            Assert.Equal($"DRIVER    VOLUME NAME\nlocal     {named}\n", table.Stdout);
            Assert.Equal(named + "\n", (await _docker.SucceedAsync("volume", "ls", "-q", "--filter", "label=team=blue")).Stdout);
            Assert.Equal(named + "\n", (await _docker.SucceedAsync("volume", "ls", "-q", "--filter", "label=tier", "--filter", "driver=local")).Stdout);
            // The docker CLI joins labels in Go's map order (random): compare them as a set.
            string[] formatted = (await _docker.SucceedAsync("volume", "ls", "--filter", "name=" + named, "--format", "{{.Name}} {{.Driver}} {{.Labels}}")).Stdout.Trim().Split(' ');
            Assert.Equal([named, "local"], formatted[..2]);
            Assert.Equal(["team=blue", "tier="], formatted[2].Split(',').Order(StringComparer.Ordinal));

            CommandResult inspect = await _docker.SucceedAsync("volume", "inspect", "--format", "{{.Name}} {{.Driver}} {{.Scope}} {{.Labels.team}} {{.Mountpoint}}", named);
            Assert.Equal($"{named} local local blue {Path.Combine(fixture.Daemon.DataRoot, "volumes", named, "_data")}\n", inspect.Stdout);
            CommandResult json = await _docker.SucceedAsync("volume", "inspect", named);
            Assert.Matches("\"CreatedAt\": \"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\"", json.Stdout);
            Assert.Contains("\"Options\": {}", json.Stdout, StringComparison.Ordinal);

            // The default prune takes only anonymous volumes; -a takes named unused ones too.
            CommandResult prune = await _docker.SucceedAsync("volume", "prune", "-f");
            Assert.Contains(anonymous, prune.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain(named, prune.Stdout, StringComparison.Ordinal);
            CommandResult labelled = await _docker.SucceedAsync("volume", "prune", "-f", "-a", "--filter", "label=team=blue");
            Assert.StartsWith($"Deleted Volumes:\n{named}\n\nTotal reclaimed space:", labelled.Stdout, StringComparison.Ordinal);
            CommandResult remaining = await _docker.SucceedAsync("volume", "ls", "-q");
            Assert.Contains(other, remaining.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain(named, remaining.Stdout, StringComparison.Ordinal);

            CommandResult missing = await _docker.RunAsync("volume", "rm", named);
            Assert.Equal(1, missing.ExitCode);
            Assert.Contains($"get {named}: no such volume", missing.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await RemoveWithVolumesQuietlyAsync(anonymousUser);
            await RemoveVolumesQuietlyAsync(named, other);
            if (anonymous.Length > 0)
            {
                await RemoveVolumesQuietlyAsync(anonymous);
            }
        }
    }

    [Fact]
    public async Task Tmpfs_volume_with_driver_options_is_mounted_only_while_used()
    {
        string volume = Names.Unique("tmpvol");
        string fromMount = Names.Unique("tmpmount");
        try
        {
            await _docker.SucceedAsync("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=1m", volume);
            CommandResult options = await _docker.SucceedAsync("volume", "inspect", "--format", "{{.Options.type}} {{.Options.device}} {{.Options.o}}", volume);
            Assert.Equal("tmpfs tmpfs size=1m\n", options.Stdout);
            CommandResult run = await _docker.SucceedAsync("run", "--rm", "-v", volume + ":/fast", "busybox", "sh", "-c", "echo x > /fast/f; grep ' /fast ' /proc/mounts");
            Assert.StartsWith("tmpfs /fast tmpfs rw", run.Stdout, StringComparison.Ordinal);
            string mountpoint = await MountpointAsync(volume);
            Assert.DoesNotContain(" " + mountpoint + " ", await File.ReadAllTextAsync("/proc/self/mountinfo"), StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(mountpoint, "f")), "the tmpfs content lives only while mounted");

            // --mount creates a missing volume with the options and labels it gives.
            CommandResult mounted = await _docker.SucceedAsync("run", "--rm", "--mount",
                $"type=volume,source={fromMount},target=/fast,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-label=made=bymount", "busybox", "grep", " /fast ", "/proc/mounts");
            Assert.StartsWith("tmpfs /fast tmpfs rw", mounted.Stdout, StringComparison.Ordinal);
            CommandResult created = await _docker.SucceedAsync("volume", "inspect", "--format", "{{.Options.type}} {{.Labels.made}}", fromMount);
            Assert.Equal("tmpfs bymount\n", created.Stdout);
        }
        finally
        {
            await RemoveVolumesQuietlyAsync(volume, fromMount);
        }
    }
}

/// <summary>The same flows through Berth's own CLI.</summary>
public sealed class BerthVolumeCliTests(DaemonFixture fixture)
{
    private Task<CommandResult> BerthAsync(params string[] args) =>
        ProcessRunner.RunAsync(Binaries.Cli, ["-H", "unix://" + fixture.Daemon.SocketPath, .. args]);

    [Fact]
    public async Task Berth_volume_commands_create_list_inspect_and_remove()
    {
        string volume = Names.Unique("bvol");
        string user = Names.Unique("buser");
        try
        {
            CommandResult create = await BerthAsync("volume", "create", "--label", "app=web", volume);
            Assert.True(create.ExitCode == 0, create.ToString());
            Assert.Equal(volume + "\n", create.Stdout);

            CommandResult ls = await BerthAsync("volume", "ls", "--filter", "label=app=web");
            Assert.Equal($"DRIVER    VOLUME NAME\nlocal     {volume}\n", ls.Stdout);
            CommandResult json = await BerthAsync("volume", "ls", "--filter", "name=" + volume, "--format", "json");
            Assert.Contains($"\"Name\":\"{volume}\"", json.Stdout, StringComparison.Ordinal);

            CommandResult run = await BerthAsync("run", "--name", user, "-v", volume + ":/data", "busybox", "sh", "-c", "echo berth > /data/f");
            Assert.True(run.ExitCode == 0, run.ToString());
            CommandResult busy = await BerthAsync("volume", "rm", volume);
            Assert.Equal(1, busy.ExitCode);
            Assert.Contains("volume is in use", busy.Stderr, StringComparison.Ordinal);
            Assert.Equal(0, (await BerthAsync("rm", user)).ExitCode);

            CommandResult inspect = await BerthAsync("volume", "inspect", "-f", "{{.Labels.app}} {{.Driver}}", volume);
            Assert.Equal("web local\n", inspect.Stdout);
            CommandResult read = await BerthAsync("run", "--rm", "-v", volume + ":/d", "busybox", "cat", "/d/f");
            Assert.Equal("berth\n", read.Stdout);

            CommandResult rm = await BerthAsync("volume", "rm", volume);
            Assert.True(rm.ExitCode == 0, rm.ToString());
            CommandResult missing = await BerthAsync("volume", "inspect", volume);
            Assert.Equal(1, missing.ExitCode);
            Assert.Contains($"No such volume: {volume}", missing.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await BerthAsync("rm", "-f", user);
            await BerthAsync("volume", "rm", "-f", volume);
        }
    }
}
