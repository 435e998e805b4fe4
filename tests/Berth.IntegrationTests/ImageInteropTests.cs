using System.Security.Cryptography;
using System.Text.Json;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>
/// Images cross between Berth and the other tools of the ecosystem in both directions: podman (load, inspect, run; its own
/// build and save), skopeo (docker-archive, oci-archive and oci directories) and umoci (unpack of Berth's OCI layout gives
/// the files `export` gives; an image umoci made loads and runs). test.sh installs the three tools.
/// </summary>
public sealed class ImageInteropTests(DaemonFixture fixture) : IDisposable
{
    // What the test image holds beyond busybox, and what a container of it prints when it checks that it is all there:
    // a regular file, a symlink, a hard link, an owned and restricted directory, a FIFO and a file deleted from the
    // lower layer (a whiteout in the committed layer).
    private const string MakeContent =
        "mkdir -p /data/sub && echo interop > /data/f && ln -s f /data/link && ln /data/f /data/hard && "
        + "chown 1000:1000 /data/sub && chmod 0750 /data/sub && mkfifo /data/fifo && rm /bin/vi";

    private const string CheckContent =
        "cat /data/hard; readlink /data/link; stat -c %u:%g:%a /data/sub; test -p /data/fifo && echo fifo; test -e /bin/vi || echo whiteout";

    private const string ExpectedCheck = "interop\nf\n1000:1000:750\nfifo\nwhiteout\n";

    private readonly BerthDaemon _daemon = fixture.Daemon;
    private readonly DockerCli _docker = fixture.Docker;
    private readonly DockerCli _berth = fixture.Daemon.Berth;
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-interop-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Image_saved_by_berth_loads_and_runs_in_podman_and_podman_built_images_load_and_run_in_berth()
    {
        string repo = Names.Unique("podman");
        await using var podman = await Podman.CreateAsync(Path.Combine(_dir, "podman"));
        try
        {
            string id = await CommitTestImageAsync(repo + ":src");
            string saved = Path.Combine(_dir, "saved.tar");
            await _berth.SucceedAsync("save", "-o", saved, repo + ":src");

            // podman reads the docker-archive side of the tar: same image id (the config digest), same tag, same content.
            CommandResult load = await podman.SucceedAsync("load", "-i", saved);
            Assert.Contains($"Loaded image: docker.io/library/{repo}:src", load.Stdout, StringComparison.Ordinal);
            using (JsonDocument inspect = JsonDocument.Parse((await podman.SucceedAsync("image", "inspect", repo + ":src")).Stdout))
            {
                JsonElement image = inspect.RootElement[0];
                Assert.Equal(id["sha256:".Length..], image.GetProperty("Id").GetString());
                Assert.Equal(2, image.GetProperty("RootFS").GetProperty("Layers").GetArrayLength());
                Assert.Equal("interop", image.GetProperty("Config").GetProperty("Labels").GetProperty("made-by").GetString());
            }

            Assert.Equal(ExpectedCheck, (await podman.RunContainerAsync(repo + ":src", "sh", "-c", CheckContent)).Stdout);

            // podman builds on the loaded image (no RUN step: nothing of podman's runtime setup is involved) and saves it
            // in both formats; Berth loads each and runs it.
            string context = Path.Combine(_dir, "context");
            Directory.CreateDirectory(context);
            await File.WriteAllTextAsync(Path.Combine(context, "greeting"), "built by podman\n");
            await File.WriteAllTextAsync(Path.Combine(context, "Containerfile"),
                $"FROM docker.io/library/{repo}:src\nCOPY greeting /greeting\nENV MADE_BY=podman\nCMD [\"sh\", \"-c\", \"cat /greeting; echo $MADE_BY; {CheckContent}\"]\n");
            await podman.SucceedAsync("build", "-q", "-t", repo + ":built", context);
            string ociArchive = Path.Combine(_dir, "podman-oci.tar");
            string dockerArchive = Path.Combine(_dir, "podman-docker.tar");
            await podman.SucceedAsync("save", "--format", "oci-archive", "-o", ociArchive, repo + ":built");
            await podman.SucceedAsync("save", "--format", "docker-archive", "-o", dockerArchive, repo + ":built");

            // podman names what it builds under localhost/.
            CommandResult fromDockerArchive = await _berth.SucceedAsync("load", "-i", dockerArchive);
            Assert.Equal($"Loaded image: localhost/{repo}:built", fromDockerArchive.Stdout.Trim());
            Assert.Equal("built by podman\npodman\n" + ExpectedCheck, (await _berth.SucceedAsync("run", "--rm", $"localhost/{repo}:built")).Stdout);
            await _berth.SucceedAsync("rmi", $"localhost/{repo}:built");

            // podman's oci-archive names the image by its OCI ref name, the full reference.
            CommandResult fromOci = await _docker.SucceedAsync("load", "-i", ociArchive);
            Assert.Equal($"Loaded image: localhost/{repo}:built", fromOci.Stdout.Trim());
            Assert.Equal("built by podman\npodman\n" + ExpectedCheck, (await _docker.SucceedAsync("run", "--rm", $"localhost/{repo}:built")).Stdout);
        }
        finally
        {
            await _docker.RunAsync("rmi", "-f", repo + ":src", $"localhost/{repo}:built");
        }
    }

    [Fact]
    public async Task Umoci_unpack_of_the_saved_oci_layout_gives_the_files_export_gives()
    {
        Assert.True(File.Exists("/usr/bin/umoci"), "umoci is not installed (test.sh installs it)");
        string repo = Names.Unique("umoci");
        string container = Names.Unique("umoci");
        try
        {
            await CommitTestImageAsync(repo + ":v1");
            string layout = Path.Combine(_dir, "layout");
            Directory.CreateDirectory(layout);
            string saved = Path.Combine(_dir, "saved.tar");
            await _berth.SucceedAsync("save", "-o", saved, repo + ":v1");
            await SucceedAsync("tar", "-xf", saved, "-C", layout);

            // The OCI ref name Berth writes (the tag) is what umoci addresses the image by.
            string bundle = Path.Combine(_dir, "bundle");
            await SucceedAsync("umoci", "unpack", "--image", layout + ":v1", bundle);

            await _berth.SucceedAsync("create", "--name", container, repo + ":v1");
            string exported = Path.Combine(_dir, "export.tar");
            await _berth.SucceedAsync("export", "-o", exported, container);
            string exportRoot = Path.Combine(_dir, "exported");
            Directory.CreateDirectory(exportRoot);
            await SucceedAsync("tar", "--numeric-owner", "-xpf", exported, "-C", exportRoot);

            Dictionary<string, string> unpacked = await DescribeTreeAsync(Path.Combine(bundle, "rootfs"));
            Dictionary<string, string> export = await DescribeTreeAsync(exportRoot);

            // export adds what a container's root always has (Docker's export does the same): the mount points of
            // /proc, /sys, /dev and the files the engine bind-mounts; everything else must match exactly.
            string[] containerOnly = [.. export.Keys.Except(unpacked.Keys).Order(StringComparer.Ordinal)];
            Assert.All(containerOnly, path => Assert.True(IsContainerPath(path), $"{path} is in the export only"));
            Assert.Empty(unpacked.Keys.Except(export.Keys));
            string[] differing = [.. unpacked.Keys.Where(path => !IsContainerPath(path) && unpacked[path] != export[path])
                .Select(path => $"{path}: umoci {unpacked[path]} / export {export[path]}")];
            Assert.Empty(differing);
            Assert.EndsWith("\tf", unpacked["data/link"], StringComparison.Ordinal);
            Assert.StartsWith("d\t1000:1000:750\t", unpacked["data/sub"], StringComparison.Ordinal);
            Assert.StartsWith("p\t", unpacked["data/fifo"], StringComparison.Ordinal);
            Assert.DoesNotContain("bin/vi", unpacked.Keys);
            Assert.Equal(unpacked["data/f"], unpacked["data/hard"]);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(container);
            await _docker.RunAsync("rmi", repo + ":v1");
        }
    }

    [Fact]
    public async Task Image_made_by_umoci_loads_into_berth_and_runs()
    {
        Assert.True(File.Exists("/usr/bin/umoci"), "umoci is not installed (test.sh installs it)");
        string repo = Names.Unique("umoci-made");
        string layout = Path.Combine(_dir, "layout");
        string bundle = Path.Combine(_dir, "bundle");
        try
        {
            // An image from nothing: an empty base, busybox and a file put in a bundle, repacked, then configured.
            await SucceedAsync("umoci", "init", "--layout", layout);
            await SucceedAsync("umoci", "new", "--image", layout + ":base");
            await SucceedAsync("umoci", "unpack", "--image", layout + ":base", bundle);
            string rootfs = Path.Combine(bundle, "rootfs");
            Directory.CreateDirectory(Path.Combine(rootfs, "bin"));
            File.Copy("/bin/busybox", Path.Combine(rootfs, "bin", "busybox"));
            File.CreateSymbolicLink(Path.Combine(rootfs, "bin", "sh"), "busybox");
            await File.WriteAllTextAsync(Path.Combine(rootfs, "hello"), "made by umoci\n");
            await SucceedAsync("umoci", "repack", "--image", layout + ":made", bundle);
            await SucceedAsync("umoci", "config", "--image", layout + ":made", "--config.cmd", "/bin/sh", "--config.cmd", "-c",
                "--config.cmd", "/bin/busybox cat /hello; echo $GREETING", "--config.env", "GREETING=from-umoci", "--config.workingdir", "/");

            // The layout as a tar, as `docker save` would hand it over: Berth loads the index's images (untagged: the
            // ref names are bare tags), and the configured one runs with umoci's CMD and ENV.
            string archive = Path.Combine(_dir, "umoci.tar");
            await SucceedAsync("tar", "-cf", archive, "-C", layout, ".");
            CommandResult load = await _berth.SucceedAsync("load", "-i", archive);
            using JsonDocument index = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(layout, "index.json")));
            JsonElement made = index.RootElement.GetProperty("manifests").EnumerateArray()
                .Single(m => m.GetProperty("annotations").GetProperty("org.opencontainers.image.ref.name").GetString() == "made");
            using JsonDocument manifest = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(layout, "blobs", "sha256", made.GetProperty("digest").GetString()!["sha256:".Length..])));
            string configDigest = manifest.RootElement.GetProperty("config").GetProperty("digest").GetString()!;
            Assert.Contains("Loaded image ID: " + configDigest, load.Stdout, StringComparison.Ordinal);

            await _berth.SucceedAsync("tag", configDigest, repo + ":made");
            Assert.Equal("made by umoci\nfrom-umoci\n", (await _docker.SucceedAsync("run", "--rm", repo + ":made")).Stdout);
        }
        finally
        {
            await _docker.RunAsync("rmi", repo + ":made");
        }
    }

    [Fact]
    public async Task Skopeo_copies_the_saved_image_to_an_oci_directory_and_back_into_berth_in_both_archive_formats()
    {
        Assert.True(File.Exists("/usr/bin/skopeo"), "skopeo is not installed (test.sh installs it)");
        string repo = Names.Unique("skopeo");
        try
        {
            string id = await CommitTestImageAsync(repo + ":src");
            string saved = Path.Combine(_dir, "saved.tar");
            await _docker.SucceedAsync("save", "-o", saved, repo + ":src");

            // Berth's tar read as an OCI archive (by its ref name) into an OCI directory, and as a docker-archive into
            // another tag of the same directory.
            string ociDir = Path.Combine(_dir, "oci");
            await SkopeoAsync("copy", "-q", $"oci-archive:{saved}:src", $"oci:{ociDir}:from-oci");
            await SkopeoAsync("copy", "-q", $"docker-archive:{saved}", $"oci:{ociDir}:from-docker");

            // Back out of the directory as an oci-archive and a docker-archive, each named; Berth loads both: same id.
            string ociArchive = Path.Combine(_dir, "back-oci.tar");
            string dockerArchive = Path.Combine(_dir, "back-docker.tar");
            await SkopeoAsync("copy", "-q", $"oci:{ociDir}:from-oci", $"oci-archive:{ociArchive}:{repo}:oci");
            await SkopeoAsync("copy", "-q", $"oci:{ociDir}:from-docker", $"docker-archive:{dockerArchive}:{repo}:dar");
            Assert.Equal($"Loaded image: {repo}:oci", (await _berth.SucceedAsync("load", "-i", ociArchive)).Stdout.Trim());
            Assert.Equal($"Loaded image: {repo}:dar", (await _docker.SucceedAsync("load", "-i", dockerArchive)).Stdout.Trim());
            // Read as an OCI archive, the image keeps its config bytes, hence its id; read as a docker-archive, skopeo
            // re-encodes the config into its OCI form (a new id, the same layers).
            Assert.Equal(id, (await _docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", $"{repo}:oci")).Stdout.Trim());
            Assert.Equal(
                (await _docker.SucceedAsync("image", "inspect", "--format", "{{json .RootFS.Layers}}", $"{repo}:src")).Stdout,
                (await _docker.SucceedAsync("image", "inspect", "--format", "{{json .RootFS.Layers}}", $"{repo}:dar")).Stdout);
            foreach (string tag in (string[])["oci", "dar"])
            {
                Assert.Equal(ExpectedCheck, (await _berth.SucceedAsync("run", "--rm", $"{repo}:{tag}", "sh", "-c", CheckContent)).Stdout);
            }

            // The OCI directory itself, tarred: a bare OCI layout whose two ref names are bare tags loads both images untagged.
            string dirArchive = Path.Combine(_dir, "dir.tar");
            await SucceedAsync("tar", "-cf", dirArchive, "-C", ociDir, ".");
            string darId = (await _docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", $"{repo}:dar")).Stdout.Trim();
            await _docker.SucceedAsync("rmi", $"{repo}:oci", $"{repo}:dar", $"{repo}:src");
            CommandResult fromDir = await _berth.SucceedAsync("load", "-i", dirArchive);
            Assert.Equal(new[] { darId, id }.Order(StringComparer.Ordinal), LoadedImageIds(fromDir.Stdout));
            await _berth.SucceedAsync("tag", id, $"{repo}:dir");
            Assert.Equal(ExpectedCheck, (await _berth.SucceedAsync("run", "--rm", $"{repo}:dir", "sh", "-c", CheckContent)).Stdout);
        }
        finally
        {
            await _docker.RunAsync("rmi", "-f", $"{repo}:src", $"{repo}:oci", $"{repo}:dar", $"{repo}:dir");
        }
    }

    /// <summary>busybox plus <see cref="MakeContent"/>, committed as <paramref name="tag"/> (two layers); returns its id.</summary>
    private async Task<string> CommitTestImageAsync(string tag)
    {
        string container = Names.Unique("interop-src");
        try
        {
            await _docker.SucceedAsync("run", "--name", container, "busybox", "sh", "-c", MakeContent);
            await _docker.SucceedAsync("commit", "-c", "LABEL made-by=interop", container, tag);
            return (await _docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", tag)).Stdout.Trim();
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(container);
        }
    }

    private static bool IsContainerPath(string path) =>
        System.Text.RegularExpressions.Regex.IsMatch(path, @"^(\.dockerenv|etc/(hosts|hostname|resolv\.conf|mtab)|dev(/.*)?|proc|sys)$");

    private static string[] LoadedImageIds(string loadOutput) =>
        [.. loadOutput.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("Loaded image ID: ", StringComparison.Ordinal)).Select(l => l["Loaded image ID: ".Length..]).Order(StringComparer.Ordinal)];

    /// <summary>Every entry under <paramref name="root"/>: type, owner, mode, link count, size, link target and a content hash.</summary>
    private static async Task<Dictionary<string, string>> DescribeTreeAsync(string root)
    {
        CommandResult find = await SucceedAsync("find", root, "-mindepth", "1", "-printf", "%P\t%y\t%U:%G:%m\t%n\t%s\t%l\n");
        var tree = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in find.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] fields = line.Split('\t');
            string path = fields[0];
            // Directories' sizes depend on the filesystem that holds them, not on the image.
            string size = fields[1] == "d" ? "" : fields[4];
            string hash = fields[1] == "f" ? Convert.ToHexStringLower(await SHA256.HashDataAsync(File.OpenRead(Path.Combine(root, path)))) : "";
            tree[path] = string.Join('\t', fields[1], fields[2], fields[3], size, hash, fields[5]);
        }

        return tree;
    }

    private static async Task<CommandResult> SucceedAsync(string program, params string[] args)
    {
        CommandResult result = await ProcessRunner.RunAsync(program, args, timeout: TimeSpan.FromSeconds(120));
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    private static Task<CommandResult> SkopeoAsync(params string[] args) => SucceedAsync("skopeo", args);

    /// <summary>
    /// podman on private roots (storage, run and tmp dirs, network config) under a test directory, so it shares nothing
    /// with the host's podman. On this hybrid-cgroup host without systemd it needs the cgroupfs manager, a cgroup parent
    /// of its own (removed on dispose) and rlimits no higher than the host's hard limits (its defaults for nofile and
    /// nproc are higher, which runc refuses).
    /// </summary>
    private sealed class Podman : IAsyncDisposable
    {
        private readonly string _root;
        private readonly string _cgroupParent;
        private readonly bool _hadRunContainers = Directory.Exists("/run/containers");

        private Podman(string root)
        {
            _root = root;
            _cgroupParent = "berth-test-" + Path.GetFileName(root.TrimEnd('/')) + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        }

        public static async Task<Podman> CreateAsync(string root)
        {
            Assert.True(File.Exists("/usr/bin/podman"), "podman is not installed (test.sh installs it)");
            Directory.CreateDirectory(root);
            var podman = new Podman(root);
            await podman.SucceedAsync("info", "--format", "{{.Store.GraphRoot}}");
            return podman;
        }

        public Task<CommandResult> RunAsync(params string[] args) => ProcessRunner.RunAsync("podman",
            [
                "--root", Path.Combine(_root, "storage"), "--runroot", Path.Combine(_root, "run"), "--tmpdir", Path.Combine(_root, "tmp"),
                "--network-config-dir", Path.Combine(_root, "networks"), "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
                "--events-backend", "none", .. args,
            ], timeout: TimeSpan.FromSeconds(120));

        public async Task<CommandResult> SucceedAsync(params string[] args)
        {
            CommandResult result = await RunAsync(args);
            Assert.True(result.ExitCode == 0, result.ToString());
            return result;
        }

        public Task<CommandResult> RunContainerAsync(string image, params string[] command) => SucceedAsync(
            [
                "run", "--rm", "--network", "none", "--cgroup-parent", "/" + _cgroupParent,
                "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", image, .. command,
            ]);

        public async ValueTask DisposeAsync()
        {
            _ = await RunAsync("rm", "-af");
            _ = await RunAsync("rmi", "-af");
            foreach (string mount in HostCleanup.MountsUnder(_root))
            {
                _ = await ProcessRunner.RunAsync("umount", ["-l", mount]);
            }

            // The cgroup parent in every hierarchy (conmon's child cgroup first), and the run dir podman makes for
            // netavark if it was not there before.
            foreach (string hierarchy in Directory.EnumerateDirectories("/sys/fs/cgroup"))
            {
                string parent = Path.Combine(hierarchy, _cgroupParent);
                if (Directory.Exists(parent))
                {
                    foreach (string child in Directory.EnumerateDirectories(parent))
                    {
                        Directory.Delete(child);
                    }

                    Directory.Delete(parent);
                }
            }

            if (!_hadRunContainers && Directory.Exists("/run/containers/networks") && !Directory.EnumerateFileSystemEntries("/run/containers/networks").Any())
            {
                Directory.Delete("/run/containers", recursive: true);
            }

            Directory.Delete(_root, recursive: true);
        }
    }
}
