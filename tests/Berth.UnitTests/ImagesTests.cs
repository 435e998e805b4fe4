using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Berth.Images;
using Berth.Primitives;

namespace Berth.UnitTests;

/// <summary>Builds layer tars in memory with System.Formats.Tar.</summary>
internal sealed class LayerBuilder
{
    public static readonly DateTimeOffset Time = new(2020, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private readonly List<TarEntry> _entries = [];

    public LayerBuilder Dir(string name, UnixFileMode mode = (UnixFileMode)0b111_101_101, int uid = 0, int gid = 0, DateTimeOffset? time = null) =>
        Add(new PaxTarEntry(TarEntryType.Directory, name) { Mode = mode, Uid = uid, Gid = gid, ModificationTime = time ?? Time });

    public LayerBuilder File(string name, string content, UnixFileMode mode = (UnixFileMode)0b110_100_100, int uid = 0, int gid = 0, DateTimeOffset? time = null) =>
        Add(new PaxTarEntry(TarEntryType.RegularFile, name)
        {
            Mode = mode,
            Uid = uid,
            Gid = gid,
            ModificationTime = time ?? Time,
            DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)),
        });

    public LayerBuilder Symlink(string name, string target, int uid = 0, int gid = 0) =>
        Add(new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target, Uid = uid, Gid = gid, Mode = (UnixFileMode)0b111_111_111, ModificationTime = Time });

    public LayerBuilder HardLink(string name, string target) =>
        Add(new PaxTarEntry(TarEntryType.HardLink, name) { LinkName = target, Mode = (UnixFileMode)0b110_100_100, ModificationTime = Time });

    public LayerBuilder Add(TarEntry entry)
    {
        _entries.Add(entry);
        return this;
    }

    public byte[] Tar()
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (TarEntry entry in _entries)
            {
                entry.DataStream?.Seek(0, SeekOrigin.Begin);
                writer.WriteEntry(entry);
            }
        }

        return buffer.ToArray();
    }

    public byte[] Gzip()
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Tar());
        }

        return buffer.ToArray();
    }
}

/// <summary>lstat(2) seen through stat(1): the tests observe the filesystem with a real tool, not with the code under test.</summary>
internal static class Stat
{
    public sealed record Info(int Uid, int Gid, int Mode, int Links, long Inode);

    public static Info Of(string path)
    {
        var start = new ProcessStartInfo("stat") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("%u %g %a %h %i");
        start.ArgumentList.Add(path);
        using Process process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"stat {path}: {process.StandardError.ReadToEnd()}");
        string[] parts = output.Trim().Split(' ');
        return new Info(
            int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture),
            Convert.ToInt32(parts[2], 8),
            int.Parse(parts[3], System.Globalization.CultureInfo.InvariantCulture),
            long.Parse(parts[4], System.Globalization.CultureInfo.InvariantCulture));
    }
}

public sealed class LayerApplierTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _root;
    private readonly string _outside;

    public LayerApplierTests()
    {
        _root = _dir.Combine("root");
        _outside = _dir.Combine("outside");
        Directory.CreateDirectory(_root);
        Directory.CreateDirectory(_outside);
        File.WriteAllText(Path.Combine(_outside, "secret"), "host file");
    }

    public void Dispose() => _dir.Dispose();

    private string In(string relative) => Path.Combine(_root, relative);

    private Task<long> ApplyAsync(byte[] layer) => LayerApplier.ApplyAsync(new MemoryStream(layer), _root, CancellationToken.None);

    /// <summary>Everything beside the root is exactly as the test left it.</summary>
    private void AssertNothingOutsideTheRoot()
    {
        Assert.Equal(["outside", "outside/secret", "root"], TempDirectory.Entries(_dir.Path).Where(p => !p.StartsWith("root/", StringComparison.Ordinal)));
        Assert.Equal("host file", File.ReadAllText(Path.Combine(_outside, "secret")));
    }

    [Fact]
    public async Task RegularFilesDirectoriesModesOwnershipAndTimes()
    {
        DateTimeOffset dirTime = new(2019, 6, 7, 8, 9, 10, TimeSpan.Zero);
        byte[] layer = new LayerBuilder()
            .Dir("./")
            .Dir("etc/", time: dirTime)
            .File("etc/hello", "hello world\n", mode: (UnixFileMode)0b110_100_000, uid: 1000, gid: 1001)
            .Dir("tmp/", mode: (UnixFileMode)0b1_111_111_111) // 1777: sticky
            .Dir("home/user/", mode: (UnixFileMode)0b111_000_000, uid: 1234, gid: 5678)
            .File("home/user/.profile", "export A=1\n", uid: 1234, gid: 5678)
            .File("usr/bin/tool", "#!/bin/sh\n", mode: (UnixFileMode)0b100_111_101_101) // 4755: setuid, parent implied
            .File("empty", "")
            .Tar();

        long size = await ApplyAsync(layer);

        Assert.Equal("hello world\n".Length + "export A=1\n".Length + "#!/bin/sh\n".Length, size);
        Assert.Equal("hello world\n", File.ReadAllText(In("etc/hello")));
        Assert.Equal(new Stat.Info(1000, 1001, 0b110_100_000, 1, Stat.Of(In("etc/hello")).Inode), Stat.Of(In("etc/hello")));
        Assert.Equal(LayerBuilder.Time.UtcDateTime, File.GetLastWriteTimeUtc(In("etc/hello")));
        Assert.Equal(0b1_111_111_111, Stat.Of(In("tmp")).Mode);
        Stat.Info home = Stat.Of(In("home/user"));
        Assert.Equal((1234, 5678, 0b111_000_000), (home.Uid, home.Gid, home.Mode));
        Stat.Info profile = Stat.Of(In("home/user/.profile"));
        Assert.Equal((1234, 5678), (profile.Uid, profile.Gid));
        Assert.Equal(0b100_111_101_101, Stat.Of(In("usr/bin/tool")).Mode);
        Assert.Equal(0, new FileInfo(In("empty")).Length);
        Assert.Equal(dirTime.UtcDateTime, Directory.GetLastWriteTimeUtc(In("etc"))); // set after its children were created
        AssertNothingOutsideTheRoot();
    }

    [Fact]
    public async Task SymlinksAreCreatedVerbatimWithTheirOwner()
    {
        byte[] layer = new LayerBuilder()
            .Dir("bin/")
            .File("bin/busybox", "binary", mode: (UnixFileMode)0b111_101_101)
            .Symlink("bin/sh", "busybox", uid: 7, gid: 8)
            .Symlink("abs", "/bin/busybox")
            .Symlink("dangling", "/does/not/exist")
            .Tar();

        await ApplyAsync(layer);

        Assert.Equal("busybox", new FileInfo(In("bin/sh")).LinkTarget);
        Assert.Equal("/bin/busybox", new FileInfo(In("abs")).LinkTarget);
        Assert.Equal("/does/not/exist", new FileInfo(In("dangling")).LinkTarget);
        Assert.Equal("binary", File.ReadAllText(In("bin/sh")));
        Stat.Info sh = Stat.Of(In("bin/sh"));
        Assert.Equal((7, 8), (sh.Uid, sh.Gid));
        AssertNothingOutsideTheRoot();
    }

    [Fact]
    public async Task HardLinksShareTheInode()
    {
        byte[] layer = new LayerBuilder()
            .Dir("bin/")
            .File("bin/busybox", "binary", mode: (UnixFileMode)0b111_101_101, uid: 3, gid: 4)
            .HardLink("bin/ls", "bin/busybox")
            .HardLink("bin/cat", "./bin/busybox")
            .HardLink("bin/echo", "/bin/busybox") // absolute link names are relative to the root too
            .Tar();

        await ApplyAsync(layer);

        Stat.Info original = Stat.Of(In("bin/busybox"));
        Assert.Equal(4, original.Links);
        foreach (string name in new[] { "bin/ls", "bin/cat", "bin/echo" })
        {
            Assert.Equal(original, Stat.Of(In(name)));
            Assert.Equal("binary", File.ReadAllText(In(name)));
        }

        AssertNothingOutsideTheRoot();
    }

    [Fact]
    public async Task GzipCompressedLayersAreDecompressed()
    {
        LayerBuilder builder = new LayerBuilder()
            .Dir("etc/")
            .File("etc/os-release", "ID=berth\n", uid: 10, gid: 20)
            .Symlink("etc/link", "os-release");

        long size = await ApplyAsync(builder.Gzip());

        Assert.Equal("ID=berth\n".Length, size);
        Assert.Equal("ID=berth\n", File.ReadAllText(In("etc/os-release")));
        Assert.Equal("ID=berth\n", File.ReadAllText(In("etc/link")));
        Stat.Info info = Stat.Of(In("etc/os-release"));
        Assert.Equal((10, 20), (info.Uid, info.Gid));
    }

    [Fact]
    public async Task LaterEntriesReplaceEarlierOnes()
    {
        byte[] layer = new LayerBuilder()
            .File("a", "first")
            .File("a", "second")
            .Dir("d/")
            .File("d/inner", "x")
            .File("d", "now a file")
            .Symlink("s", "a")
            .File("s", "replaced the link")
            .Tar();

        await ApplyAsync(layer);

        Assert.Equal("second", File.ReadAllText(In("a")));
        Assert.Equal("now a file", File.ReadAllText(In("d")));
        Assert.Null(new FileInfo(In("s")).LinkTarget);
        Assert.Equal("replaced the link", File.ReadAllText(In("s")));
        Assert.Equal("second", File.ReadAllText(In("a")));
    }

    [Fact]
    public async Task ApplyingOnTopOfAnExistingDirectoryKeepsItsContent()
    {
        await ApplyAsync(new LayerBuilder().Dir("etc/").File("etc/a", "a").Tar());

        await ApplyAsync(new LayerBuilder().Dir("etc/", mode: (UnixFileMode)0b111_000_000).File("etc/b", "b").Tar());

        Assert.Equal("a", File.ReadAllText(In("etc/a")));
        Assert.Equal("b", File.ReadAllText(In("etc/b")));
        Assert.Equal(0b111_000_000, Stat.Of(In("etc")).Mode);
    }

    [Theory]
    [InlineData("../evil")]
    [InlineData("../../evil")]
    [InlineData("a/../../evil")]
    [InlineData("./../evil")]
    public async Task EntriesClimbingOutOfTheRootAreRefused(string name)
    {
        byte[] layer = new LayerBuilder().File(name, "escaped").Tar();

        EngineException e = await Assert.ThrowsAsync<EngineException>(() => ApplyAsync(layer));

        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.False(File.Exists(_dir.Combine("evil")));
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(_dir.Path)!, "evil")));
        AssertNothingOutsideTheRoot();
    }

    [Fact]
    public async Task AbsoluteEntriesLandInsideTheRoot()
    {
        string name = $"berth-unit-evil-{Guid.NewGuid():N}";
        byte[] layer = new LayerBuilder().File($"/etc/{name}", "inside").File($"/{name}", "inside too").Tar();

        try
        {
            await ApplyAsync(layer);

            Assert.Equal("inside", File.ReadAllText(In($"etc/{name}")));
            Assert.Equal("inside too", File.ReadAllText(In(name)));
            Assert.False(File.Exists($"/etc/{name}"));
            Assert.False(File.Exists($"/{name}"));
            AssertNothingOutsideTheRoot();
        }
        finally
        {
            File.Delete($"/etc/{name}");
            File.Delete($"/{name}");
        }
    }

    [Fact]
    public async Task EntriesThroughASymlinkToSlashLandInsideTheRoot()
    {
        string name = $"berth-unit-evil-{Guid.NewGuid():N}";
        byte[] layer = new LayerBuilder()
            .Symlink("link", "/")
            .File($"link/etc/{name}", "inside")
            .Symlink("up", "../../../../../../..")
            .File($"up/{name}", "inside too")
            .Tar();

        try
        {
            await ApplyAsync(layer);

            Assert.Equal("inside", File.ReadAllText(In($"etc/{name}")));
            Assert.Equal("inside too", File.ReadAllText(In(name)));
            Assert.Equal("/", new FileInfo(In("link")).LinkTarget);
            Assert.False(File.Exists($"/etc/{name}"));
            Assert.False(File.Exists($"/{name}"));
            AssertNothingOutsideTheRoot();
        }
        finally
        {
            File.Delete($"/etc/{name}");
            File.Delete($"/{name}");
        }
    }

    [Fact]
    public async Task EntriesThroughASymlinkToAnOutsideDirectoryStayInside()
    {
        byte[] layer = new LayerBuilder()
            .Symlink("link", _outside)
            .File("link/secret", "overwritten?")
            .File("link/planted", "planted?")
            .Tar();

        await ApplyAsync(layer);

        Assert.Equal("overwritten?", File.ReadAllText(In(_outside.TrimStart('/') + "/secret")));
        Assert.Equal("planted?", File.ReadAllText(In(_outside.TrimStart('/') + "/planted")));
        AssertNothingOutsideTheRoot();
    }

    [Fact]
    public async Task AFileEntryReplacesASymlinkInsteadOfWritingThroughIt()
    {
        byte[] layer = new LayerBuilder()
            .Symlink("f", Path.Combine(_outside, "secret"))
            .File("f", "overwritten?", mode: (UnixFileMode)0b111_111_111)
            .Tar();

        await ApplyAsync(layer);

        Assert.Null(new FileInfo(In("f")).LinkTarget);
        Assert.Equal("overwritten?", File.ReadAllText(In("f")));
        Assert.NotEqual(0b111_111_111, Stat.Of(Path.Combine(_outside, "secret")).Mode);
        AssertNothingOutsideTheRoot();
    }

    [Fact]
    public async Task ADirectoryEntryReplacesASymlinkInsteadOfChangingItsTarget()
    {
        // Docker lstats: an existing path that is not a real directory is removed and a directory made.
        Stat.Info before = Stat.Of(_outside);
        DateTime timeBefore = Directory.GetLastWriteTimeUtc(_outside);
        byte[] layer = new LayerBuilder()
            .Symlink("d", _outside)
            .Dir("d/", mode: (UnixFileMode)0b111_111_111, uid: 4321, gid: 4321, time: new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero))
            .Tar();

        await ApplyAsync(layer);

        Assert.Equal(before, Stat.Of(_outside));
        Assert.Equal(timeBefore, Directory.GetLastWriteTimeUtc(_outside));
        Assert.Null(new FileInfo(In("d")).LinkTarget);
        Assert.True(Directory.Exists(In("d")));
        Assert.Equal((4321, 4321, 0b111_111_111), (Stat.Of(In("d")).Uid, Stat.Of(In("d")).Gid, Stat.Of(In("d")).Mode));
        AssertNothingOutsideTheRoot();
    }

    [Fact]
    public async Task DirectoryTimesAreNotSetThroughASymlinkThatReplacedTheDirectory()
    {
        DateTime timeBefore = Directory.GetLastWriteTimeUtc(_outside);
        byte[] layer = new LayerBuilder()
            .Dir("d/", time: new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero))
            .Symlink("d", _outside)
            .Tar();

        await ApplyAsync(layer);

        Assert.Equal(_outside, new FileInfo(In("d")).LinkTarget);
        Assert.Equal(timeBefore, Directory.GetLastWriteTimeUtc(_outside));
        AssertNothingOutsideTheRoot();
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("../outside/secret")]
    [InlineData("a/../../outside/secret")]
    public async Task HardLinksClimbingOutOfTheRootAreRefused(string target)
    {
        byte[] layer = new LayerBuilder().HardLink("x", target).Tar();

        EngineException e = await Assert.ThrowsAsync<EngineException>(() => ApplyAsync(layer));

        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.False(File.Exists(In("x")));
        Assert.Equal(1, Stat.Of(Path.Combine(_outside, "secret")).Links);
        AssertNothingOutsideTheRoot();
    }

    [Fact]
    public async Task HardLinksThroughASymlinkNeverReachTheHost()
    {
        byte[] layer = new LayerBuilder()
            .Symlink("link", "/")
            .HardLink("x", "link/etc/passwd")
            .Tar();

        // The target resolves to ROOT/etc/passwd, which does not exist: the link fails rather than reaching /etc/passwd.
        await Assert.ThrowsAnyAsync<Exception>(() => ApplyAsync(layer));

        Assert.False(File.Exists(In("x")) && Stat.Of(In("x")).Inode == Stat.Of("/etc/passwd").Inode);
        AssertNothingOutsideTheRoot();
    }

    [Fact]
    public async Task HardLinksToAnAbsoluteOutsidePathLinkInsideTheRoot()
    {
        string secret = Path.Combine(_outside, "secret");
        Directory.CreateDirectory(In(_outside.TrimStart('/')));
        File.WriteAllText(In(secret.TrimStart('/')), "inside copy");
        byte[] layer = new LayerBuilder().HardLink("x", secret).Tar();

        await ApplyAsync(layer);

        Assert.Equal("inside copy", File.ReadAllText(In("x")));
        Assert.Equal(1, Stat.Of(secret).Links);
        AssertNothingOutsideTheRoot();
    }
}

public class ImageStoreChainIdTests
{
    [Fact]
    public void ChainIdOfTwoLayersIsTheSha256OfBothDigestsJoinedBySpace()
    {
        // chainID([a, b]) = sha256("sha256:a sha256:b"); the expected value was computed with sha256sum.
        Digest a = Digest.Parse("sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef");
        Digest b = Digest.Parse("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

        Assert.Equal("sha256:65c32902748c4313eafc331dfdb050f44ae20bc3466c12e4a895cca10d4916c0", ImageStore.ChainId(a, b).ToString());
    }

    [Fact]
    public void ChainIdDependsOnOrder()
    {
        Digest a = Digest.Sha256Of("a"u8), b = Digest.Sha256Of("b"u8);

        Assert.NotEqual(ImageStore.ChainId(a, b), ImageStore.ChainId(b, a));
    }
}
