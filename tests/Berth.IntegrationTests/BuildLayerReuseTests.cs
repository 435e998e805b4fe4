using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Berth.IntegrationTests.Infrastructure;
using Berth.Interop;

namespace Berth.IntegrationTests;

/// <summary>
/// A RUN step's overlay upper directory becomes its layer's snapshot as it is (issue 8): what a container of the image
/// sees must be exactly what it would see had the layer been unpacked from its blob, as a pull or load does.
/// </summary>
public sealed class BuildLayerReuseTests(DaemonFixture fixture)
{
    private readonly DockerCli _docker = fixture.Docker;

    [Fact]
    public async Task A_run_step_s_adopted_upper_directory_is_the_same_layer_as_its_blob_unpacked()
    {
        string tag = Names.Unique("reuse");
        string work = Directory.CreateTempSubdirectory("bt-reuse-").FullName;
        string archive = Path.Combine(work, "image.tar");
        // The second RUN makes every kind of change a layer carries: new files with owners, modes and times, a hard
        // link, a symlink, a FIFO, a file deleted from the layer below (a whiteout), a directory deleted, a directory
        // replaced (opaque), a file changed (copied up), a setgid directory and a deep tree with a directory time set.
        File.WriteAllText(Path.Combine(work, "Dockerfile"), """
            FROM busybox
            RUN mkdir -p /data/gone /data/opaque && echo old > /data/opaque/old && echo x > /data/gone/f && echo base > /data/base.txt && echo keep > /data/keep.txt
            RUN echo hello > /data/file && chmod 640 /data/file && chown 1000:2000 /data/file && touch -d '2001-02-03 04:05:06' /data/file \
             && ln /data/file /data/hard && ln -s file /data/link && mkfifo -m 600 /data/fifo \
             && rm /data/base.txt && rm -rf /data/gone && rm -rf /data/opaque && mkdir /data/opaque && echo new > /data/opaque/new \
             && mkdir -m 2750 /data/setgid && chown 5:6 /data/setgid && echo more >> /data/keep.txt \
             && mkdir -p /deep/a/b/c && echo leaf > /deep/a/b/c/leaf && touch -d '1999-12-31 23:59:59' /deep/a/b
            """);
        try
        {
            await _docker.SucceedAsync("build", "-t", tag, work);
            string layer = await TopLayerDirectoryAsync(tag);
            SortedDictionary<string, string> adopted = Describe(layer);
            Assert.StartsWith("whiteout", adopted["data/base.txt"], StringComparison.Ordinal);
            Assert.StartsWith("whiteout", adopted["data/gone"], StringComparison.Ordinal);
            Assert.Contains("trusted.overlay.opaque=eQ==", adopted["data/opaque"], StringComparison.Ordinal);
            Assert.DoesNotContain(adopted.Values, d => d.Contains("trusted.overlay.origin", StringComparison.Ordinal) || d.Contains("trusted.overlay.impure", StringComparison.Ordinal));
            Assert.DoesNotContain("etc/hosts", adopted.Keys); // the engine's mount points are no change of the step's
            Assert.Contains("link=data/file", adopted["data/hard"], StringComparison.Ordinal);

            // The same layer unpacked from its blob: remove the image (and with it the layer), load it back.
            await _docker.SucceedAsync("save", "-o", archive, tag);
            await _docker.SucceedAsync("rmi", tag);
            Assert.False(Directory.Exists(layer), "the layer outlived its image, so loading would not unpack it again");
            await _docker.SucceedAsync("load", "-i", archive);
            Assert.True(Directory.Exists(layer), "loading did not unpack the layer where the build had put it");
            SortedDictionary<string, string> unpacked = Describe(layer);

            var differences = adopted.Keys.Union(unpacked.Keys)
                .Where(k => adopted.GetValueOrDefault(k) != unpacked.GetValueOrDefault(k))
                .Select(k => $"{k}:\n  adopted:  {adopted.GetValueOrDefault(k) ?? "(none)"}\n  unpacked: {unpacked.GetValueOrDefault(k) ?? "(none)"}")
                .ToList();
            Assert.True(differences.Count == 0, string.Join('\n', differences));
            Assert.Equal("hello\nhello\nkeep\nmore\nnew", (await _docker.SucceedAsync("run", "--rm", tag, "sh", "-c",
                "cat /data/file /data/link /data/keep.txt && ls /data/opaque && test ! -e /data/base.txt && test ! -e /data/gone")).Stdout.Trim());
        }
        finally
        {
            await _docker.RunAsync("rmi", tag);
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>The snapshot directory of the image's top layer (its chain id under the daemon's overlay2/layers).</summary>
    private async Task<string> TopLayerDirectoryAsync(string image)
    {
        string json = (await _docker.SucceedAsync("image", "inspect", "--format", "{{json .RootFS.Layers}}", image)).Stdout;
        string? chain = null;
        foreach (string diffId in JsonSerializer.Deserialize<string[]>(json)!)
        {
            chain = chain is null ? diffId : "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(chain + " " + diffId)));
        }

        Assert.NotNull(chain);
        return Path.Combine(fixture.Daemon.DataRoot, "overlay2", "layers", chain["sha256:".Length..], "diff");
    }

    /// <summary>
    /// Every entry under <paramref name="root"/> as text: type, mode, owner, modification time, content hash, link
    /// target, device numbers, extended attributes, and for a second name of an inode the first one. A whiteout is
    /// compared by what overlayfs reads of it (a 0:0 character device and its mode and owner): nothing else of it is in
    /// the tar. The root's time is left out (the tar has no entry for it).
    /// </summary>
    private static SortedDictionary<string, string> Describe(string root)
    {
        var entries = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var inodes = new Dictionary<ulong, string>();
        entries[""] = DescribeOne(root, "", inodes, withTime: false);
        foreach (string path in Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }).Order(StringComparer.Ordinal))
        {
            string name = Path.GetRelativePath(root, path);
            entries[name] = DescribeOne(path, name, inodes, withTime: true);
        }

        return entries;
    }

    private static string DescribeOne(string path, string name, Dictionary<ulong, string> inodes, bool withTime)
    {
        FileStatus status = FileStatus.TryRead(path) ?? throw new FileNotFoundException(path);
        if (status is { Type: FileStatus.S_IFCHR, DeviceMajor: 0, DeviceMinor: 0 })
        {
            return $"whiteout {Convert.ToString(status.Permissions, 8)} {status.Uid}:{status.Gid}";
        }

        var text = new StringBuilder($"{status.Type:x} {Convert.ToString(status.Permissions, 8)} {status.Uid}:{status.Gid}");
        if (withTime)
        {
            text.Append(" mtime=").Append(status.Modified.UtcTicks);
        }

        if (status.Type == FileStatus.S_IFREG)
        {
            text.Append(" sha256=").Append(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
        }
        else if (status.Type == FileStatus.S_IFLNK)
        {
            text.Append(" target=").Append(new FileInfo(path).LinkTarget);
        }
        else if (status.Type is FileStatus.S_IFCHR or FileStatus.S_IFBLK)
        {
            text.Append(" dev=").Append(status.DeviceMajor).Append(':').Append(status.DeviceMinor);
        }

        if (status.Type != FileStatus.S_IFDIR && status.Links > 1 && !inodes.TryAdd(status.Inode, name))
        {
            text.Append(" link=").Append(inodes[status.Inode]);
        }

        foreach (string attribute in ExtendedAttributes.List(path).Order(StringComparer.Ordinal))
        {
            text.Append(' ').Append(attribute).Append('=').Append(Convert.ToBase64String(ExtendedAttributes.Get(path, attribute) ?? []));
        }

        return text.ToString();
    }
}
