using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using Berth.Primitives;
using Berth.Storage.Content;

namespace Berth.Images;

/// <summary>
/// Builds <c>busybox:latest</c> from the host's static busybox, offline: one gzip layer with the binary and a
/// hard link per applet, a config with PATH and <c>CMD ["sh"]</c>, and an OCI manifest. The layer's times come
/// from the binary's mtime, so the same host binary always yields the same image id.
/// </summary>
public sealed class BusyboxBootstrap(ImageStore images)
{
    public static readonly string[] Candidates = ["/bin/busybox", "/usr/bin/busybox", "/usr/sbin/busybox"];

    public async Task<ImageRecord> RunAsync(ImageReference reference, IProgress<string> progress, CancellationToken cancellationToken)
    {
        string busybox = Candidates.FirstOrDefault(File.Exists)
            ?? throw EngineException.Invalid("busybox is not installed on this host (apt-get install busybox-static)");
        if (!await IsStaticAsync(busybox, cancellationToken).ConfigureAwait(false))
        {
            throw EngineException.Invalid($"{busybox} is not statically linked; install busybox-static");
        }

        progress.Report($"Using {busybox}");
        IReadOnlyList<string> applets = await ListAppletsAsync(busybox, cancellationToken).ConfigureAwait(false);
        DateTimeOffset time = new(File.GetLastWriteTimeUtc(busybox), TimeSpan.Zero);
        byte[] tar = await BuildLayerAsync(busybox, applets, time, cancellationToken).ConfigureAwait(false);
        Digest diffId = Digest.Sha256Of(tar);

        using var gzipped = new MemoryStream();
        await using (var gzip = new GZipStream(gzipped, CompressionLevel.Optimal, leaveOpen: true))
        {
            await gzip.WriteAsync(tar, cancellationToken).ConfigureAwait(false);
        }

        using BlobLease lease = images.Lease();
        BlobDescriptor layer = await images.Content.WriteAsync(gzipped.ToArray(), cancellationToken).ConfigureAwait(false);
        lease.Add(layer.Digest);
        progress.Report($"Layer {layer.Digest} ({applets.Count} applets, {layer.Size} bytes compressed)");

        var config = new OciImageConfig
        {
            Created = time,
            Config = new ImageRuntimeConfig
            {
                Env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                Cmd = ["sh"],
            },
            RootFs = new OciRootFs { DiffIds = [diffId.ToString()] },
            History =
            [
                new OciHistory { Created = time, CreatedBy = $"berth image bootstrap: ADD {busybox} in /bin" },
                new OciHistory { Created = time, CreatedBy = "CMD [\"sh\"]", EmptyLayer = true },
            ],
        };
        var manifest = new OciManifest
        {
            Layers = [new OciDescriptor { MediaType = MediaTypes.OciLayerGzip, Digest = layer.Digest.ToString(), Size = layer.Size }],
        };
        ImageRecord record = await images.CommitAsync(config, manifest, [reference], cancellationToken).ConfigureAwait(false);
        progress.Report($"Tagged {reference.FamiliarString} as {record.Id}");
        return record;
    }

    private static async Task<byte[]> BuildLayerAsync(string busybox, IReadOnlyList<string> applets, DateTimeOffset time, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await using (var writer = new TarWriter(buffer, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach ((string dir, UnixFileMode mode) in Directories)
            {
                await writer.WriteEntryAsync(new UstarTarEntry(TarEntryType.Directory, dir + "/") { Mode = mode, ModificationTime = time }, cancellationToken).ConfigureAwait(false);
            }

            await using (FileStream binary = File.OpenRead(busybox))
            {
                var entry = new UstarTarEntry(TarEntryType.RegularFile, "bin/busybox") { Mode = Executable, ModificationTime = time, DataStream = binary };
                await writer.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
            }

            foreach (string applet in applets.Where(a => a != "busybox").Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                var link = new UstarTarEntry(TarEntryType.HardLink, "bin/" + applet) { LinkName = "bin/busybox", Mode = Executable, ModificationTime = time };
                await writer.WriteEntryAsync(link, cancellationToken).ConfigureAwait(false);
            }

            foreach ((string path, string text) in Files)
            {
                using var content = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text));
                var entry = new UstarTarEntry(TarEntryType.RegularFile, path) { Mode = path == "etc/shadow" ? UnixFileMode.UserRead | UnixFileMode.UserWrite : Readable, ModificationTime = time, DataStream = content };
                await writer.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
            }
        }

        return buffer.ToArray();
    }

    private const UnixFileMode Readable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode Executable = Readable | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
    private const UnixFileMode DirectoryMode = Executable;

    private static readonly (string, UnixFileMode)[] Directories =
    [
        ("bin", DirectoryMode), ("dev", DirectoryMode), ("etc", DirectoryMode), ("home", DirectoryMode),
        ("lib", DirectoryMode), ("proc", DirectoryMode), ("root", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute),
        ("sys", DirectoryMode), ("tmp", DirectoryMode | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite | UnixFileMode.StickyBit),
        ("usr", DirectoryMode), ("usr/sbin", DirectoryMode), ("var", DirectoryMode), ("var/spool", DirectoryMode),
        ("var/spool/mail", DirectoryMode), ("var/www", DirectoryMode),
    ];

    private static readonly (string, string)[] Files =
    [
        ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nbin:x:2:2:bin:/bin:/bin/false\nsys:x:3:3:sys:/dev:/bin/false\nsync:x:4:100:sync:/bin:/bin/sync\nmail:x:8:8:mail:/var/spool/mail:/bin/false\nwww-data:x:33:33:www-data:/var/www:/bin/false\noperator:x:37:37:Operator:/var:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\n"),
        ("etc/group", "root:x:0:\ndaemon:x:1:\nbin:x:2:\nsys:x:3:\nadm:x:4:\ntty:x:5:\ndisk:x:6:\nwheel:x:10:root\nmail:x:8:\nwww-data:x:33:\noperator:x:37:\nstaff:x:50:\nusers:x:100:\nnogroup:x:65533:\nnobody:x:65534:\n"),
        ("etc/shadow", "root:*::0:::::\nnobody:*::0:::::\n"),
        ("etc/nsswitch.conf", "hosts: files dns\nnetworks: files\n"),
    ];

    private static async Task<bool> IsStaticAsync(string path, CancellationToken cancellationToken)
    {
        // A dynamic ELF has a PT_INTERP program header naming the loader; a static one does not.
        byte[] head = new byte[4096];
        await using FileStream file = File.OpenRead(path);
        int read = await file.ReadAsync(head, cancellationToken).ConfigureAwait(false);
        return read > 64 && !System.Text.Encoding.ASCII.GetString(head, 0, read).Contains("/lib64/ld-linux", StringComparison.Ordinal)
            && !System.Text.Encoding.ASCII.GetString(head, 0, read).Contains("/lib/ld-", StringComparison.Ordinal);
    }

    private static async Task<IReadOnlyList<string>> ListAppletsAsync(string busybox, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(busybox, "--list") { RedirectStandardOutput = true, UseShellExecute = false };
        using Process process = Process.Start(start) ?? throw new EngineException(ErrorKind.Internal, $"cannot run {busybox}");
        string output = await process.StandardOutput.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(a => !a.Contains('/', StringComparison.Ordinal) && a != "." && a != "..")];
    }
}
