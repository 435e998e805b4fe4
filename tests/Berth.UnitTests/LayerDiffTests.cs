using System.Formats.Tar;
using Berth.Images;
using Berth.Interop;

namespace Berth.UnitTests;

/// <summary>Whiteouts, special files and xattrs in and out of layers, checked against a real overlayfs mount.</summary>
public sealed class LayerDiffTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task<string> ApplyAsync(string name, byte[] layer)
    {
        string root = _dir.Combine(name);
        Directory.CreateDirectory(root);
        await LayerApplier.ApplyAsync(new MemoryStream(layer), root, CancellationToken.None);
        return root;
    }

    [Fact]
    public async Task Whiteouts_become_overlay_whiteouts_that_hide_the_layers_below()
    {
        string lower = await ApplyAsync("lower", new LayerBuilder()
            .File("keep", "k").File("gone", "g").Dir("dir/").File("dir/old", "o").Tar());
        string upper = await ApplyAsync("upper", new LayerBuilder()
            .File(".wh.gone", "").Dir("dir/").File("dir/.wh..wh..opq", "").File("dir/new", "n").Tar());

        Assert.Equal(FileStatus.S_IFCHR, FileStatus.TryRead(Path.Combine(upper, "gone"))!.Value.Type);
        Assert.Equal("y"u8.ToArray(), ExtendedAttributes.Get(Path.Combine(upper, "dir"), Whiteout.OpaqueAttribute));
        Assert.False(File.Exists(Path.Combine(upper, ".wh.gone")));

        string merged = _dir.Combine("merged");
        Directory.CreateDirectory(merged);
        Mount.Attach("overlay", merged, "overlay", Mount.MS_RDONLY, $"lowerdir={upper}:{lower}");
        try
        {
            Assert.Equal(["dir", "dir/new", "keep"], TempDirectory.Entries(merged));
        }
        finally
        {
            Mount.Detach(merged);
        }
    }

    [Fact]
    public async Task Devices_fifos_and_xattrs_are_applied()
    {
        var fifo = new PaxTarEntry(TarEntryType.Fifo, "pipe") { Mode = (UnixFileMode)0b110_100_100 };
        var device = new PaxTarEntry(TarEntryType.CharacterDevice, "null") { Mode = (UnixFileMode)0b110_110_110, DeviceMajor = 1, DeviceMinor = 3 };
        var tagged = new PaxTarEntry(TarEntryType.RegularFile, "tagged", new Dictionary<string, string> { ["SCHILY.xattr.user.color"] = "blue" });
        string root = await ApplyAsync("special", new LayerBuilder().Add(fifo).Add(device).Add(tagged).Tar());

        Assert.Equal(FileStatus.S_IFIFO, FileStatus.TryRead(Path.Combine(root, "pipe"))!.Value.Type);
        FileStatus node = FileStatus.TryRead(Path.Combine(root, "null"))!.Value;
        Assert.Equal((FileStatus.S_IFCHR, 1u, 3u), (node.Type, node.DeviceMajor, node.DeviceMinor));
        Assert.Equal("blue"u8.ToArray(), ExtendedAttributes.Get(Path.Combine(root, "tagged"), "user.color"));
    }

    [Fact]
    public async Task An_overlay_upper_directory_diffs_back_into_oci_whiteouts()
    {
        string upper = _dir.Combine("upper");
        Directory.CreateDirectory(Path.Combine(upper, "etc"));
        File.WriteAllText(Path.Combine(upper, "etc", "conf"), "new");
        SpecialFile.CreateWhiteout(Path.Combine(upper, "etc", "removed"));
        Directory.CreateDirectory(Path.Combine(upper, "opaque"));
        ExtendedAttributes.Set(Path.Combine(upper, "opaque"), Whiteout.OpaqueAttribute, "y"u8);
        File.WriteAllText(Path.Combine(upper, "opaque", "only"), "1");
        File.WriteAllText(Path.Combine(upper, "a"), "linked");
        HardLink.Create(Path.Combine(upper, "a"), Path.Combine(upper, "b"));

        using var tar = new MemoryStream();
        await DirectoryTar.WriteAsync(upper, tar, TarSource.OverlayUpper, CancellationToken.None);
        tar.Position = 0;
        var entries = new List<(string Name, TarEntryType Type, string Link)>();
        await using (var reader = new TarReader(tar))
        {
            while (await reader.GetNextEntryAsync() is { } entry)
            {
                entries.Add((entry.Name, entry.EntryType, entry.LinkName));
            }
        }

        Assert.Equal(
            [
                ("a", TarEntryType.RegularFile, ""),
                ("b", TarEntryType.HardLink, "a"),
                ("etc/", TarEntryType.Directory, ""),
                ("etc/conf", TarEntryType.RegularFile, ""),
                ("etc/.wh.removed", TarEntryType.RegularFile, ""),
                ("opaque/", TarEntryType.Directory, ""),
                ("opaque/.wh..wh..opq", TarEntryType.RegularFile, ""),
                ("opaque/only", TarEntryType.RegularFile, ""),
            ],
            entries);

        // Applying the diff as a layer gives the same whiteouts back.
        string again = await ApplyAsync("again", tar.ToArray());
        Assert.Equal(FileStatus.S_IFCHR, FileStatus.TryRead(Path.Combine(again, "etc", "removed"))!.Value.Type);
        Assert.Equal("y"u8.ToArray(), ExtendedAttributes.Get(Path.Combine(again, "opaque"), Whiteout.OpaqueAttribute));
        Assert.Equal(FileStatus.TryRead(Path.Combine(again, "a"))!.Value.Inode, FileStatus.TryRead(Path.Combine(again, "b"))!.Value.Inode);
    }
}

public class ConfigChangesTests
{
    [Fact]
    public void Dockerfile_instructions_change_the_config()
    {
        ImageRuntimeConfig config = ConfigChanges.Apply(new ImageRuntimeConfig { Env = ["A=1", "PATH=/bin"] },
        [
            "CMD [\"cat\", \"/x\"]", "ENTRYPOINT /start.sh", "ENV A=2 B=\"two words\"", "ENV C 3", "EXPOSE 80 53/udp", "LABEL version=1.0",
            "USER nobody", "WORKDIR /app", "VOLUME /data", "STOPSIGNAL SIGINT", "onbuild RUN make",
        ]);
        Assert.Equal(["cat", "/x"], config.Cmd);
        Assert.Equal(["/bin/sh", "-c", "/start.sh"], config.Entrypoint);
        Assert.Equal(["A=2", "PATH=/bin", "B=two words", "C=3"], config.Env);
        Assert.Equal(["80/tcp", "53/udp"], config.ExposedPorts!.Keys);
        Assert.Equal("1.0", config.Labels!["version"]);
        Assert.Equal(("nobody", "/app", "SIGINT"), (config.User, config.WorkingDir, config.StopSignal));
        Assert.Equal(["/data"], config.Volumes!.Keys);
        Assert.Equal(["RUN make"], config.OnBuild);
        Assert.Equal("FROM is not a valid change command", Assert.Throws<Berth.Primitives.EngineException>(() => ConfigChanges.Apply(new ImageRuntimeConfig(), ["FROM x"])).Message);
    }
}

public sealed class LayerCompressionTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Zstd_layers_are_read()
    {
        byte[] tar = new LayerBuilder().File("hello", "zstd world\n").Tar();
        using var compressor = new ZstdSharp.Compressor();
        byte[] zstd = compressor.Wrap(tar).ToArray();
        Assert.Equal(0x28, zstd[0]);
        await LayerApplier.ApplyAsync(new MemoryStream(zstd), _dir.Path, CancellationToken.None);
        Assert.Equal("zstd world\n", File.ReadAllText(_dir.Combine("hello")));
    }

    [Fact]
    public async Task A_decompression_bomb_is_refused_before_it_fills_the_disk()
    {
        // 512 MiB of zeros in a file entry: gzip makes it about 0.5 MB, a ratio of about 1000.
        using var compressed = new MemoryStream();
        await using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true))
        await using (var writer = new System.Formats.Tar.TarWriter(gzip, System.Formats.Tar.TarEntryFormat.Pax, leaveOpen: true))
        {
            var zeros = new ZeroStream(512L << 20);
            await writer.WriteEntryAsync(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "bomb") { DataStream = zeros });
        }

        Assert.True(compressed.Length < (512L << 20) / LayerCompression.BombRatio, $"the test's bomb is only {(512L << 20) / compressed.Length}x");
        compressed.Position = 0;
        var error = await Assert.ThrowsAsync<Berth.Primitives.EngineException>(() => LayerApplier.ApplyAsync(compressed, _dir.Path, CancellationToken.None));
        Assert.Contains("decompression bomb", error.Message, StringComparison.Ordinal);
        Assert.True(new FileInfo(_dir.Combine("bomb")).Length <= LayerCompression.BombFloor * 2, "the bomb was written too far");
    }

    /// <summary>A readable stream of <c>length</c> zero bytes, made on the fly (seekable, so the tar writer knows its size).</summary>
    private sealed class ZeroStream(long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => length;

        public override long Position
        {
            get => _position;
            set => _position = value;
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = (int)Math.Min(count, length - _position);
            Array.Clear(buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) =>
            _position = origin switch { SeekOrigin.Begin => offset, SeekOrigin.Current => _position + offset, _ => length + offset };

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
