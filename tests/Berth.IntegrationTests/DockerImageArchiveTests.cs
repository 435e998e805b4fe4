using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>save, load and image prune delete images and collect layers: they get a daemon of their own and run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ImageArchiveCollection : ICollectionFixture<ImageArchiveDaemon>
{
    public const string Name = "image save/load/prune (own daemon, alone)";
}

/// <summary>A berthd of its own with busybox bootstrapped, where busybox may be removed and loaded back.</summary>
public sealed class ImageArchiveDaemon : IAsyncLifetime
{
    private BerthDaemon? _daemon;

    public BerthDaemon Daemon => _daemon ?? throw new InvalidOperationException("the image-archive berthd did not start");

    public async Task InitializeAsync()
    {
        _daemon = BerthDaemon.Create("image-archive");
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

[Collection(ImageArchiveCollection.Name)]
public sealed class DockerImageArchiveTests(ImageArchiveDaemon fixture) : IDisposable
{
    private readonly BerthDaemon _daemon = fixture.Daemon;
    private readonly DockerCli _docker = fixture.Daemon.Docker;
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-archive-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Puts busybox:latest back if a test took it away.</summary>
    private async Task EnsureBusyboxAsync()
    {
        if ((await _docker.RunAsync("image", "inspect", "busybox")).ExitCode != 0)
        {
            await _daemon.BootstrapAsync("busybox");
        }
    }

    [Fact]
    public async Task Save_writes_docker_25_archive_with_oci_layout_and_verified_blobs()
    {
        await EnsureBusyboxAsync();
        string repo = Names.Unique("save");
        string file = Path.Combine(_dir, "out.tar");
        try
        {
            await _docker.SucceedAsync("tag", "busybox", repo + ":v1");
            await _docker.SucceedAsync("save", "-o", file, repo + ":v1");
            string id = (await _docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", "busybox")).Stdout.Trim();

            Dictionary<string, byte[]> entries = ReadTar(File.OpenRead(file));
            Assert.Contains("oci-layout", entries.Keys);
            Assert.Contains("repositories", entries.Keys);
            foreach ((string name, byte[] data) in entries.Where(e => e.Key.StartsWith("blobs/sha256/", StringComparison.Ordinal)))
            {
                Assert.Equal(name["blobs/sha256/".Length..], Convert.ToHexStringLower(SHA256.HashData(data)));
            }

            using var manifest = JsonDocument.Parse(entries["manifest.json"]);
            JsonElement entry = Assert.Single(manifest.RootElement.EnumerateArray());
            Assert.Equal("blobs/sha256/" + id["sha256:".Length..], entry.GetProperty("Config").GetString());
            Assert.Equal([repo + ":v1"], entry.GetProperty("RepoTags").EnumerateArray().Select(t => t.GetString()));
            string layer = Assert.Single(entry.GetProperty("Layers").EnumerateArray()).GetString()!;
            Assert.Contains(layer, entries.Keys);

            using var index = JsonDocument.Parse(entries["index.json"]);
            JsonElement descriptor = Assert.Single(index.RootElement.GetProperty("manifests").EnumerateArray());
            Assert.Equal("application/vnd.oci.image.manifest.v1+json", descriptor.GetProperty("mediaType").GetString());
            Assert.Equal($"docker.io/library/{repo}:v1", descriptor.GetProperty("annotations").GetProperty("io.containerd.image.name").GetString());
            Assert.Equal("v1", descriptor.GetProperty("annotations").GetProperty("org.opencontainers.image.ref.name").GetString());
            using var ociManifest = JsonDocument.Parse(entries["blobs/sha256/" + descriptor.GetProperty("digest").GetString()!["sha256:".Length..]]);
            Assert.Equal(id, ociManifest.RootElement.GetProperty("config").GetProperty("digest").GetString());

            // Several names of one image: one manifest.json entry with both tags, one index.json entry per tag.
            using (HttpResponseMessage both = await _daemon.Api.GetAsync($"/v1.50/images/get?names=busybox&names={repo}:v1"))
            {
                Assert.Equal(HttpStatusCode.OK, both.StatusCode);
                Assert.Equal("application/x-tar", both.Content.Headers.ContentType?.MediaType);
                Dictionary<string, byte[]> bothEntries = ReadTar(await both.Content.ReadAsStreamAsync());
                using var bothManifest = JsonDocument.Parse(bothEntries["manifest.json"]);
                JsonElement only = Assert.Single(bothManifest.RootElement.EnumerateArray());
                Assert.Equal([repo + ":v1", "busybox:latest"], only.GetProperty("RepoTags").EnumerateArray().Select(t => t.GetString()).Order(StringComparer.Ordinal));
                using var bothIndex = JsonDocument.Parse(bothEntries["index.json"]);
                Assert.Equal(2, bothIndex.RootElement.GetProperty("manifests").GetArrayLength());
            }

            // By id: no tags at all.
            string byId = Path.Combine(_dir, "by-id.tar");
            await _docker.SucceedAsync("save", "-o", byId, id["sha256:".Length..][..12]);
            Dictionary<string, byte[]> idEntries = ReadTar(File.OpenRead(byId));
            using (var idManifest = JsonDocument.Parse(idEntries["manifest.json"]))
            {
                JsonElement untagged = Assert.Single(idManifest.RootElement.EnumerateArray());
                Assert.True(!untagged.TryGetProperty("RepoTags", out JsonElement none) || none.ValueKind == JsonValueKind.Null);
            }

            // stdout when redirected; a missing image fails before any byte.
            CommandResult toStdout = await _docker.SucceedAsync("image", "save", repo + ":v1");
            Assert.True(toStdout.Stdout.Length > 0);
            CommandResult missing = await _docker.RunAsync("save", "-o", Path.Combine(_dir, "missing.tar"), Names.Unique("nosuch"));
            Assert.Equal(1, missing.ExitCode);
            Assert.Contains("No such image", missing.Stderr, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(_dir, "missing.tar")));
        }
        finally
        {
            await _docker.RunAsync("rmi", repo + ":v1");
        }
    }

    [Fact]
    public async Task Save_rmi_prune_load_run_round_trips_busybox()
    {
        await EnsureBusyboxAsync();
        string file = Path.Combine(_dir, "busybox.tar");
        string id = (await _docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", "busybox")).Stdout.Trim();
        await _docker.SucceedAsync("save", "-o", file, "busybox");

        CommandResult rmi = await _docker.SucceedAsync("rmi", "busybox");
        Assert.Contains("Deleted: " + id, rmi.Stdout, StringComparison.Ordinal);
        await _docker.SucceedAsync("image", "prune", "-f");
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_daemon.DataRoot, "content", "blobs", "sha256")));

        CommandResult load = await _docker.SucceedAsync("load", "-i", file);
        Assert.Equal("Loaded image: busybox:latest", load.Stdout.Trim());
        Assert.Equal(id, (await _docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", "busybox")).Stdout.Trim());

        CommandResult run = await _docker.SucceedAsync("run", "--rm", "busybox", "echo", "loaded");
        Assert.Equal("loaded", run.Stdout.Trim());

        // gzip-compressed, from stdin, quiet, after the image is gone again
        await _docker.SucceedAsync("rmi", "busybox");
        string gz = file + ".gz";
        await using (FileStream source = File.OpenRead(file))
        await using (var target = new GZipStream(File.Create(gz), CompressionLevel.Fastest))
        {
            await source.CopyToAsync(target);
        }

        CommandResult fromStdin = await ProcessRunner.RunAsync("sh", ["-c", $"docker load -q < {gz}"], new Dictionary<string, string?>
        {
            ["DOCKER_HOST"] = "unix://" + _daemon.SocketPath,
            ["DOCKER_CONFIG"] = Path.Combine(_daemon.Root, "docker-config"),
            ["DOCKER_CONTEXT"] = null,
            ["DOCKER_API_VERSION"] = null,
        }, null, null);
        Assert.True(fromStdin.ExitCode == 0, fromStdin.ToString());
        Assert.Equal("Loaded image: busybox:latest", fromStdin.Stdout.Trim());
        Assert.Equal(id, (await _docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", "busybox")).Stdout.Trim());
    }

    [Fact]
    public async Task Load_accepts_a_legacy_docker_archive_with_symlinked_layers()
    {
        await EnsureBusyboxAsync();
        string repo = Names.Unique("legacy");
        Dictionary<string, byte[]> saved = await SaveEntriesAsync("busybox");
        using var manifest = JsonDocument.Parse(saved["manifest.json"]);
        JsonElement entry = manifest.RootElement[0];
        byte[] config = saved[entry.GetProperty("Config").GetString()!];
        byte[] layer = saved[entry.GetProperty("Layers")[0].GetString()!];
        string configHex = Convert.ToHexStringLower(SHA256.HashData(config));
        string file = Path.Combine(_dir, "legacy.tar");
        await using (FileStream output = File.Create(file))
        await using (var tar = new TarWriter(output, TarEntryFormat.Ustar))
        {
            await WriteAsync(tar, "./aaaa/layer.tar", layer);
            await WriteAsync(tar, "aaaa/VERSION", "1.0"u8.ToArray());
            await tar.WriteEntryAsync(new UstarTarEntry(TarEntryType.SymbolicLink, "bbbb/layer.tar") { LinkName = "../aaaa/layer.tar" });
            await WriteAsync(tar, configHex + ".json", config);
            await WriteAsync(tar, "manifest.json", ArchiveManifest(configHex + ".json", repo + ":legacy", "bbbb/layer.tar"));
        }

        try
        {
            CommandResult load = await _docker.SucceedAsync("load", "-i", file);
            Assert.Equal($"Loaded image: {repo}:legacy", load.Stdout.Trim());
            Assert.Equal("sha256:" + configHex, (await _docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", repo + ":legacy")).Stdout.Trim());
        }
        finally
        {
            await _docker.RunAsync("rmi", repo + ":legacy");
        }
    }

    [Fact]
    public async Task Load_refuses_a_corrupt_or_escaping_archive_and_leaves_nothing_behind()
    {
        await EnsureBusyboxAsync();
        string repo = Names.Unique("bad");
        Dictionary<string, byte[]> saved = await SaveEntriesAsync("busybox");
        using var manifest = JsonDocument.Parse(saved["manifest.json"]);
        string configPath = manifest.RootElement[0].GetProperty("Config").GetString()!;
        string layerPath = manifest.RootElement[0].GetProperty("Layers")[0].GetString()!;
        HashSet<string> blobsBefore = BlobFiles();

        // A layer whose content does not match its name.
        string tampered = Path.Combine(_dir, "tampered.tar");
        byte[] layer = (byte[])saved[layerPath].Clone();
        layer[600] ^= 0xff;
        await WriteArchiveAsync(tampered, saved, repo, layerPath, layer);
        CommandResult bad = await _docker.RunAsync("load", "-i", tampered);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("digest mismatch", bad.Stderr, StringComparison.Ordinal);

        // A layer under a fresh name that does not match the config's diff id.
        string mismatched = Path.Combine(_dir, "mismatched.tar");
        await using (FileStream output = File.Create(mismatched))
        await using (var tar = new TarWriter(output, TarEntryFormat.Ustar))
        {
            await WriteAsync(tar, "cfg.json", saved[configPath]);
            await WriteAsync(tar, "l/layer.tar", layer);
            await WriteAsync(tar, "manifest.json", ArchiveManifest("cfg.json", repo + ":x", "l/layer.tar"));
        }

        CommandResult diff = await _docker.RunAsync("load", "-i", mismatched);
        Assert.Equal(1, diff.ExitCode);
        Assert.Contains("expects", diff.Stderr, StringComparison.Ordinal);

        // An entry that climbs out of the archive.
        string escaping = Path.Combine(_dir, "escaping.tar");
        await using (FileStream output = File.Create(escaping))
        await using (var tar = new TarWriter(output, TarEntryFormat.Ustar))
        {
            await WriteAsync(tar, "../../escape.json", "{}"u8.ToArray());
        }

        CommandResult escape = await _docker.RunAsync("load", "-i", escaping);
        Assert.Equal(1, escape.ExitCode);
        Assert.Contains("escapes the archive", escape.Stderr, StringComparison.Ordinal);

        CommandResult empty = await _docker.RunAsync(["load"], stdin: "");
        Assert.Equal(1, empty.ExitCode);
        Assert.Contains("unexpected EOF", empty.Stderr, StringComparison.Ordinal);

        Assert.NotEqual(0, (await _docker.RunAsync("image", "inspect", repo + ":x")).ExitCode);
        Assert.NotEqual(0, (await _docker.RunAsync("image", "inspect", repo)).ExitCode);
        Assert.Equal(blobsBefore, BlobFiles());
    }

    [Fact]
    public async Task Image_prune_removes_dangling_then_unused_images_and_keeps_shared_layers()
    {
        await EnsureBusyboxAsync();
        string repo = Names.Unique("prune");
        string container = Names.Unique("prune");
        string file = Path.Combine(_dir, "prune.tar");
        try
        {
            // A second image sharing busybox's layer: the same config with a label makes a new id.
            Dictionary<string, byte[]> saved = await SaveEntriesAsync("busybox");
            using var manifest = JsonDocument.Parse(saved["manifest.json"]);
            string configPath = manifest.RootElement[0].GetProperty("Config").GetString()!;
            string layerPath = manifest.RootElement[0].GetProperty("Layers")[0].GetString()!;
            var config = System.Text.Json.Nodes.JsonNode.Parse(saved[configPath])!;
            config["config"]!["Labels"] = new System.Text.Json.Nodes.JsonObject { ["test"] = repo };
            byte[] configBytes = JsonSerializer.SerializeToUtf8Bytes(config);
            await using (FileStream output = File.Create(file))
            await using (var tar = new TarWriter(output, TarEntryFormat.Ustar))
            {
                await WriteAsync(tar, "c.json", configBytes);
                await WriteAsync(tar, "l.tar", saved[layerPath]);
                await WriteAsync(tar, "manifest.json", ArchiveManifest("c.json", repo + ":a", "l.tar"));
            }

            await _docker.SucceedAsync("load", "-i", file);
            string newId = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(configBytes));
            Assert.Equal(newId, (await _docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", repo + ":a")).Stdout.Trim());

            // Untagged by moving the tag away: now dangling.
            await _docker.SucceedAsync("tag", "busybox", repo + ":a");
            CommandResult dangling = await _docker.SucceedAsync("images", "-q", "--no-trunc", "--filter", "dangling=true");
            Assert.Contains(newId, dangling.Stdout.Split('\n'));

            CommandResult prune = await _docker.SucceedAsync("image", "prune", "-f");
            Assert.Contains("Deleted Images:\ndeleted: " + newId + "\n", prune.Stdout, StringComparison.Ordinal);
            // The size counts the blobs collected with the image: here its config, and the uncompressed layer tar the
            // load stored (2.1 MB) unless another image still refers to that blob (the suite's order decides). The
            // layer itself is busybox's and stays.
            Assert.Matches(@"Total reclaimed space: [0-9.]+[kM]?B\n$", prune.Stdout);
            Assert.NotEqual(0, (await _docker.RunAsync("image", "inspect", newId)).ExitCode);

            // busybox still runs on its (shared) layer.
            Assert.Equal("ok", (await _docker.SucceedAsync("run", "--rm", "busybox", "echo", "ok")).Stdout.Trim());

            // -a keeps images a container uses, removes the rest.
            await _docker.SucceedAsync("create", "--name", container, "busybox", "true");
            CommandResult nothing = await _docker.SucceedAsync("image", "prune", "-a", "-f");
            Assert.Equal("Total reclaimed space: 0B", nothing.Stdout.Trim());
            await _docker.SucceedAsync("rm", container);

            using HttpResponseMessage response = await _daemon.Api.PostAsync("/v1.50/images/prune?filters=" + Uri.EscapeDataString("""{"dangling":["false"]}"""), null);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            JsonElement report = await response.ReadJsonAsync();
            string[] items = [.. report.GetProperty("ImagesDeleted").EnumerateArray().Select(i => i.TryGetProperty("Untagged", out JsonElement u) && u.ValueKind == JsonValueKind.String ? "u:" + u.GetString() : "d:" + i.GetProperty("Deleted").GetString())];
            Assert.Contains("u:busybox:latest", items);
            Assert.Contains($"u:{repo}:a", items);
            Assert.True(report.GetProperty("SpaceReclaimed").GetInt64() > 0);
            Assert.Empty(Directory.EnumerateFiles(Path.Combine(_daemon.DataRoot, "content", "blobs", "sha256")));
            Assert.Empty(Directory.EnumerateDirectories(Path.Combine(_daemon.DataRoot, "overlay2", "layers")));
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(container);
            await _docker.RunAsync("rmi", repo + ":a");
            await EnsureBusyboxAsync();
        }
    }

    [Fact]
    public async Task Archives_interoperate_with_skopeo_both_ways()
    {
        if (!File.Exists("/usr/bin/skopeo"))
        {
            return; // test.sh installs skopeo; without it there is no peer to prove against
        }

        await EnsureBusyboxAsync();
        string repo = Names.Unique("skopeo");
        string saved = Path.Combine(_dir, "berth.tar");
        string oci = Path.Combine(_dir, "oci.tar");
        string dockerArchive = Path.Combine(_dir, "docker.tar");
        try
        {
            await _docker.SucceedAsync("save", "-o", saved, "busybox");

            // Berth's tar is both a docker-archive and an OCI layout.
            foreach (string source in (string[])["docker-archive:" + saved, "oci-archive:" + saved])
            {
                CommandResult inspect = await ProcessRunner.RunAsync("skopeo", ["inspect", source]);
                Assert.True(inspect.ExitCode == 0, inspect.ToString());
                Assert.Contains("\"Os\": \"linux\"", inspect.Stdout, StringComparison.Ordinal);
            }

            CommandResult toOci = await ProcessRunner.RunAsync("skopeo", ["copy", "-q", "docker-archive:" + saved, $"oci-archive:{oci}:{repo}:oci"], timeout: TimeSpan.FromSeconds(60));
            Assert.True(toOci.ExitCode == 0, toOci.ToString());
            CommandResult toDocker = await ProcessRunner.RunAsync("skopeo", ["copy", "-q", "docker-archive:" + saved, $"docker-archive:{dockerArchive}:{repo}:dar"], timeout: TimeSpan.FromSeconds(60));
            Assert.True(toDocker.ExitCode == 0, toDocker.ToString());

            Assert.Equal($"Loaded image: {repo}:oci", (await _docker.SucceedAsync("load", "-i", oci)).Stdout.Trim());
            Assert.Equal($"Loaded image: {repo}:dar", (await _docker.SucceedAsync("load", "-i", dockerArchive)).Stdout.Trim());
            Assert.Equal("oci", (await _docker.SucceedAsync("run", "--rm", repo + ":oci", "echo", "oci")).Stdout.Trim());
            Assert.Equal("dar", (await _docker.SucceedAsync("run", "--rm", repo + ":dar", "echo", "dar")).Stdout.Trim());
        }
        finally
        {
            await _docker.RunAsync("rmi", repo + ":oci", repo + ":dar");
        }
    }

    private HashSet<string> BlobFiles() =>
        [.. Directory.EnumerateFiles(Path.Combine(_daemon.DataRoot, "content", "blobs", "sha256")).Select(p => Path.GetFileName(p))];

    private async Task<Dictionary<string, byte[]>> SaveEntriesAsync(string image)
    {
        using HttpResponseMessage response = await _daemon.Api.GetAsync($"/v1.50/images/{image}/get");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return ReadTar(await response.Content.ReadAsStreamAsync());
    }

    private static async Task WriteArchiveAsync(string path, Dictionary<string, byte[]> entries, string repo, string replacedPath, byte[] replacement)
    {
        await using FileStream output = File.Create(path);
        await using var tar = new TarWriter(output, TarEntryFormat.Ustar);
        foreach ((string name, byte[] data) in entries)
        {
            byte[] content = name == replacedPath ? replacement : name == "manifest.json" ? RetagManifest(data, repo) : data;
            await WriteAsync(tar, name, content);
        }
    }

    private static byte[] ArchiveManifest(string config, string tag, string layer) =>
        JsonSerializer.SerializeToUtf8Bytes(new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject
        {
            ["Config"] = config,
            ["RepoTags"] = new System.Text.Json.Nodes.JsonArray(tag),
            ["Layers"] = new System.Text.Json.Nodes.JsonArray(layer),
        }));

    private static byte[] RetagManifest(byte[] manifest, string repo)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(manifest)!;
        node[0]!["RepoTags"] = new System.Text.Json.Nodes.JsonArray(repo + ":x");
        return JsonSerializer.SerializeToUtf8Bytes(node);
    }

    private static async Task WriteAsync(TarWriter tar, string name, byte[] data) =>
        await tar.WriteEntryAsync(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data), Mode = (UnixFileMode)0x1A4 });

    private static Dictionary<string, byte[]> ReadTar(Stream stream)
    {
        using (stream)
        {
            var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            using var reader = new TarReader(stream);
            while (reader.GetNextEntry() is { } entry)
            {
                if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile)
                {
                    using var buffer = new MemoryStream();
                    entry.DataStream?.CopyTo(buffer);
                    entries[entry.Name] = buffer.ToArray();
                }
            }

            return entries;
        }
    }
}
