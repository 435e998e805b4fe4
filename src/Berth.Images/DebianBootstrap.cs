using System.Diagnostics;
using System.Globalization;
using Berth.Interop;
using Berth.Primitives;
using Berth.Storage.Content;

namespace Berth.Images;

/// <summary>
/// Builds <c>debian:bookworm</c> (also tagged <c>debian:12</c>) with debootstrap's minbase variant, the way Docker's
/// official image is made (debuerreotype): one layer with an empty <c>/dev</c>, no apt caches or package lists, a
/// <c>policy-rc.d</c> that keeps package scripts from starting services, and <c>CMD ["bash"]</c>.
/// <para>
/// debootstrap downloads and unpacks ~90 packages (~25 s), so the finished layer blob is kept in a host-wide cache
/// (<c>BERTH_BOOTSTRAP_CACHE</c>, default /var/cache/berth/bootstrap) with its diff id and time beside it: a second
/// bootstrap, by this daemon after an <c>rmi</c> or by another daemon on the host, takes seconds and gives the same
/// image id. A lock file makes concurrent bootstraps wait for the first instead of running debootstrap twice.
/// </para>
/// </summary>
public sealed class DebianBootstrap(ImageStore images)
{
    /// <summary>The tags debootstrap can make, and the suite each one means.</summary>
    public static readonly IReadOnlyDictionary<string, string> Suites = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["latest"] = "bookworm",
        ["bookworm"] = "bookworm",
        ["12"] = "bookworm",
    };

    private const string Architecture = "amd64";

    private static readonly string[] DebootstrapPaths = ["/usr/sbin/debootstrap", "/usr/bin/debootstrap"];

    public static string CacheDirectory =>
        Environment.GetEnvironmentVariable("BERTH_BOOTSTRAP_CACHE") is { Length: > 0 } configured ? configured : "/var/cache/berth/bootstrap";

    public static string Mirror =>
        Environment.GetEnvironmentVariable("BERTH_DEBIAN_MIRROR") is { Length: > 0 } configured ? configured : "http://deb.debian.org/debian";

    public async Task<ImageRecord> RunAsync(ImageReference reference, IProgress<string> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(progress);
        if (!Suites.TryGetValue(reference.Tag ?? "latest", out string? suite))
        {
            throw EngineException.Invalid($"cannot bootstrap {reference.FamiliarString}: debian can be bootstrapped as {string.Join(", ", Suites.Keys.Select(t => "debian:" + t))}");
        }

        CachedLayer layer = await CachedLayerAsync(suite, progress, cancellationToken).ConfigureAwait(false);
        using BlobLease lease = images.Lease();
        BlobDescriptor blob;
        await using (FileStream file = File.OpenRead(layer.BlobPath))
        {
            blob = await images.Content.WriteAsync(file, expected: null, cancellationToken).ConfigureAwait(false);
        }

        lease.Add(blob.Digest);
        progress.Report($"Layer {blob.Digest} ({blob.Size} bytes compressed)");
        var config = new OciImageConfig
        {
            Created = layer.Created,
            Config = new ImageRuntimeConfig
            {
                Env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                Cmd = ["bash"],
            },
            RootFs = new OciRootFs { DiffIds = [layer.DiffId.ToString()] },
            History =
            [
                new OciHistory { Created = layer.Created, CreatedBy = $"berth image bootstrap: debootstrap --variant=minbase {suite} {Mirror}" },
                new OciHistory { Created = layer.Created, CreatedBy = "CMD [\"bash\"]", EmptyLayer = true },
            ],
        };
        var manifest = new OciManifest
        {
            Layers = [new OciDescriptor { MediaType = MediaTypes.OciLayerGzip, Digest = blob.Digest.ToString(), Size = blob.Size }],
        };
        ImageReference[] tags = [reference, .. Suites.Where(s => s.Value == suite && s.Key != "latest").Select(s => ImageReference.Parse("debian:" + s.Key))];
        ImageRecord record = await images.CommitAsync(config, manifest, tags.DistinctBy(t => t.FamiliarString), cancellationToken).ConfigureAwait(false);
        progress.Report($"Tagged {string.Join(", ", tags.Select(t => t.FamiliarString).Distinct())} as {record.Id}");
        return record;
    }

    private sealed record CachedLayer(string BlobPath, Digest DiffId, DateTimeOffset Created);

    /// <summary>The cached layer of <paramref name="suite"/>, made first if there is none.</summary>
    private static async Task<CachedLayer> CachedLayerAsync(string suite, IProgress<string> progress, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(CacheDirectory);
        string stem = Path.Combine(CacheDirectory, $"debian-{suite}-{Architecture}");
        string blobPath = stem + ".tar.gz";
        string infoPath = stem + ".info";
        await using FileStream lockFile = await LockAsync(stem + ".lock", progress, cancellationToken).ConfigureAwait(false);
        if (TryReadInfo(blobPath, infoPath) is { } cached)
        {
            progress.Report($"Using the cached debootstrap of {suite} ({blobPath})");
            return cached;
        }

        string root = Path.Combine(CacheDirectory, $"rootfs-{suite}-{Guid.NewGuid():N}");
        try
        {
            await DebootstrapAsync(suite, root, progress, cancellationToken).ConfigureAwait(false);
            Minimize(root);
            progress.Report("Writing the layer");
            DateTimeOffset created = DateTimeOffset.UtcNow;
            Digest diffId = await WriteLayerAsync(root, blobPath + ".partial", cancellationToken).ConfigureAwait(false);
            // The blob is complete and synced before its info names it: a crash leaves no info, so no half layer is used.
            File.Move(blobPath + ".partial", blobPath, overwrite: true);
            await File.WriteAllTextAsync(infoPath + ".partial", $"{diffId}\n{created.ToString("O", CultureInfo.InvariantCulture)}\n", cancellationToken).ConfigureAwait(false);
            File.Move(infoPath + ".partial", infoPath, overwrite: true);
            return new CachedLayer(blobPath, diffId, created);
        }
        finally
        {
            RemoveRoot(root);
            File.Delete(blobPath + ".partial");
        }
    }

    private static CachedLayer? TryReadInfo(string blobPath, string infoPath)
    {
        if (!File.Exists(blobPath) || !File.Exists(infoPath))
        {
            return null;
        }

        string[] lines = File.ReadAllLines(infoPath);
        return lines.Length >= 2 && Digest.TryParse(lines[0], out Digest diffId)
            && DateTimeOffset.TryParse(lines[1], CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out DateTimeOffset created)
            ? new CachedLayer(blobPath, diffId, created)
            : null;
    }

    private static async Task<FileStream> LockAsync(string path, IProgress<string> progress, CancellationToken cancellationToken)
    {
        bool told = false;
        // Bounded: debootstrap itself is bounded by its own network timeouts; ten minutes is far beyond a normal run.
        for (int attempt = 0; attempt < 6000; attempt++)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                if (!told)
                {
                    progress.Report("Waiting for another bootstrap of the same image to finish");
                    told = true;
                }

                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
        }

        throw new EngineException(ErrorKind.Internal, $"timed out waiting for the bootstrap lock {path}");
    }

    private static async Task DebootstrapAsync(string suite, string root, IProgress<string> progress, CancellationToken cancellationToken)
    {
        string program = DebootstrapPaths.FirstOrDefault(File.Exists)
            ?? throw EngineException.Invalid("debootstrap is not installed on this host (apt-get install debootstrap)");
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in (string[])["--variant=minbase", "--arch=" + Architecture, suite, root, Mirror])
        {
            start.ArgumentList.Add(arg);
        }

        progress.Report($"Running debootstrap --variant=minbase {suite} {Mirror}");
        using Process process = Process.Start(start) ?? throw new EngineException(ErrorKind.Internal, "cannot start debootstrap");
        var errors = new List<string>();
        Task stdout = ForwardAsync(process.StandardOutput, progress, null, cancellationToken);
        Task stderr = ForwardAsync(process.StandardError, progress, errors, cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            await Task.WhenAll(stdout, stderr).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        if (process.ExitCode != 0)
        {
            string log = File.Exists(Path.Combine(root, "debootstrap/debootstrap.log"))
                ? string.Join(" | ", (await File.ReadAllLinesAsync(Path.Combine(root, "debootstrap/debootstrap.log"), cancellationToken).ConfigureAwait(false)).TakeLast(5))
                : string.Join(" | ", errors.TakeLast(5));
            throw new EngineException(ErrorKind.Internal, $"debootstrap {suite} failed (exit code {process.ExitCode}; is {Mirror} reachable?): {log}");
        }
    }

    private static async Task ForwardAsync(StreamReader reader, IProgress<string> progress, List<string>? keep, CancellationToken cancellationToken)
    {
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            progress.Report(line);
            keep?.Add(line);
        }
    }

    /// <summary>What Docker's debian image leaves out or adds over a plain debootstrap.</summary>
    private static void Minimize(string root)
    {
        foreach (string dir in (string[])["dev", "proc", "sys", "var/lib/apt/lists", "var/cache/apt", "tmp", "run"])
        {
            string path = Path.Combine(root, dir);
            if (Directory.Exists(path))
            {
                foreach (string entry in Directory.EnumerateFileSystemEntries(path))
                {
                    DeleteEntry(entry);
                }
            }
        }

        Directory.CreateDirectory(Path.Combine(root, "var/lib/apt/lists/partial"));
        Directory.CreateDirectory(Path.Combine(root, "var/cache/apt/archives/partial"));
        // Container runtimes mount their own hosts, hostname and resolv.conf; the host's must not leak into the image.
        foreach (string file in (string[])["etc/resolv.conf", "etc/hostname", "etc/machine-id"])
        {
            string path = Path.Combine(root, file);
            if (File.Exists(path))
            {
                File.WriteAllText(path, "");
            }
        }

        // Package scripts must not start services inside a build (builds share the host's network).
        string policy = Path.Combine(root, "usr/sbin/policy-rc.d");
        File.WriteAllText(policy, "#!/bin/sh\n# berth image bootstrap: no service starts inside an image build\nexit 101\n");
        File.SetUnixFileMode(policy, (UnixFileMode)0b111_101_101);
        File.WriteAllText(Path.Combine(root, "etc/apt/apt.conf.d/docker-clean"),
            "DPkg::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };\n"
            + "APT::Update::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };\n"
            + "Dir::Cache::pkgcache \"\";\nDir::Cache::srcpkgcache \"\";\n");
        string suiteName = File.ReadAllText(Path.Combine(root, "etc/apt/sources.list")).Split(' ', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(2) ?? "bookworm";
        File.Delete(Path.Combine(root, "etc/apt/sources.list"));
        File.WriteAllText(Path.Combine(root, "etc/apt/sources.list.d/debian.sources"),
            $"Types: deb\nURIs: {Mirror}\nSuites: {suiteName} {suiteName}-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
            + $"Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: {suiteName}-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n");
        DeleteEntry(Path.Combine(root, "debootstrap"));
    }

    private static void DeleteEntry(string path)
    {
        if (FileStatus.TryRead(path) is not { } status)
        {
            return;
        }

        if (status.Type == FileStatus.S_IFDIR)
        {
            Directory.Delete(path, recursive: true);
        }
        else
        {
            File.Delete(path);
        }
    }

    private static async Task<Digest> WriteLayerAsync(string root, string blobPath, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(blobPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
        Digest diffId;
        await using (var gzip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true))
        await using (var hashing = new HashingWriteStream(gzip))
        {
            await DirectoryTar.WriteAsync(root, hashing, TarSource.Plain, cancellationToken).ConfigureAwait(false);
            diffId = hashing.Digest();
        }

        await file.FlushAsync(cancellationToken).ConfigureAwait(false);
        file.Flush(flushToDisk: true);
        return diffId;
    }

    /// <summary>Removes the debootstrap target, first detaching whatever a failed run left mounted in it (proc, sys).</summary>
    private static void RemoveRoot(string root)
    {
        if (!Directory.Exists(root))
        {
            return;
        }

        string prefix = root + "/";
        foreach (string mountPoint in File.ReadAllLines("/proc/self/mountinfo")
            .Select(line => line.Split(' ')[4])
            .Where(m => m.StartsWith(prefix, StringComparison.Ordinal))
            .OrderByDescending(m => m.Length))
        {
            Mount.Detach(mountPoint, lazy: true);
        }

        Directory.Delete(root, recursive: true);
    }
}
