using System.Formats.Tar;
using System.Security.Cryptography;
using Berth.Engine.Build;
using Berth.Images;

namespace Berth.UnitTests;

/// <summary>
/// The builder's kept context files: a context that sends the same big file again reuses the kept copy (no write, no
/// hash), and anything that differs (a byte, the time, the size) gives a file of its own with its own hash, never a
/// changed kept copy.
/// </summary>
public sealed class ContextFileCacheTests : IDisposable
{
    private const int BigLength = (3 << 20) + 123; // several compare chunks, the last one partial
    private static readonly UnixFileMode Mode = (UnixFileMode)0b110_100_100;
    private readonly TempDirectory _dir = new();
    private int _contexts;

    public void Dispose() => _dir.Dispose();

    private static byte[] RandomBytes(int length, int seed)
    {
        byte[] bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static byte[] ContextTar(byte[] big, DateTimeOffset? time = null, string path = "data/big.bin") =>
        new LayerBuilder()
            .File("Dockerfile", "FROM scratch\n")
            .Add(new PaxTarEntry(TarEntryType.RegularFile, path) { Mode = Mode, ModificationTime = time ?? LayerBuilder.Time, DataStream = new MemoryStream(big) })
            .Tar();

    private ContextFileCache NewCache(long budget = 1L << 30) => new(_dir.Combine("kept"), budget);

    private sealed record Received(int Reused, Dictionary<string, byte[]> Hashes, string Root)
    {
        public string File(string path = "data/big.bin") => System.IO.Path.Combine(Root, path);
    }

    /// <summary>Unpacks a context as the builder does: root owners, hashes kept, the cache's writer, then Keep.</summary>
    private async Task<Received> ReceiveAsync(ContextFileCache cache, byte[] tar)
    {
        string root = _dir.Combine("ctx" + ++_contexts);
        Directory.CreateDirectory(root);
        var hashes = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        ContextFileCache.Receiver receiver = cache.Receive();
        var extraction = new LayerApplier.Extraction("/", Whiteouts: false, KeepOwnership: false, NoOverwriteDirNonDir: false) { FileHashes = hashes, FileWriter = receiver };
        await LayerApplier.ApplyAsync(new MemoryStream(tar), root, extraction, CancellationToken.None);
        receiver.Keep(hashes);
        return new Received(receiver.Reused, hashes, root);
    }

    [Fact]
    public async Task TheSameBigFileAgainIsTheKeptInodeWithItsHash()
    {
        ContextFileCache cache = NewCache();
        byte[] big = RandomBytes(BigLength, 1);

        Received first = await ReceiveAsync(cache, ContextTar(big));
        Received second = await ReceiveAsync(cache, ContextTar(big));

        Assert.Equal(0, first.Reused);
        Assert.Equal(1, second.Reused);
        Assert.Equal(big, File.ReadAllBytes(second.File()));
        Assert.Equal(SHA256.HashData(big), second.Hashes[second.File()]);
        Assert.Equal(Stat.Of(first.File()).Inode, Stat.Of(second.File()).Inode);
        Assert.Equal(3, Stat.Of(second.File()).Links); // both contexts and the kept name
        Assert.Equal(0b110_100_100, Stat.Of(second.File()).Mode);
        Assert.Equal(LayerBuilder.Time.UtcDateTime, File.GetLastWriteTimeUtc(second.File()));
        Assert.Equal(BigLength, cache.Bytes);
        // The small file is written as always, and hashed.
        Assert.Equal(SHA256.HashData("FROM scratch\n"u8), second.Hashes[second.File("Dockerfile")]);
        Assert.NotEqual(Stat.Of(first.File("Dockerfile")).Inode, Stat.Of(second.File("Dockerfile")).Inode);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1_500_000)]
    [InlineData(BigLength - 1)]
    public async Task AByteChangedAnywhereGivesANewFileAndLeavesTheKeptOne(int offset)
    {
        ContextFileCache cache = NewCache();
        byte[] big = RandomBytes(BigLength, 2);
        byte[] changed = (byte[])big.Clone();
        changed[offset] ^= 0x5a;

        Received first = await ReceiveAsync(cache, ContextTar(big));
        Received second = await ReceiveAsync(cache, ContextTar(changed));

        Assert.Equal(0, second.Reused);
        Assert.Equal(changed, File.ReadAllBytes(second.File()));
        Assert.Equal(SHA256.HashData(changed), second.Hashes[second.File()]);
        Assert.NotEqual(Stat.Of(first.File()).Inode, Stat.Of(second.File()).Inode);
        Assert.Equal(big, File.ReadAllBytes(first.File()));

        // Both are kept now: each comes back as itself.
        Received third = await ReceiveAsync(cache, ContextTar(changed));
        Assert.Equal(1, third.Reused);
        Assert.Equal(Stat.Of(second.File()).Inode, Stat.Of(third.File()).Inode);
    }

    [Fact]
    public async Task TheSameBytesWithAnotherTimeAreHashedFromTheKeptCopyButWrittenApart()
    {
        ContextFileCache cache = NewCache();
        byte[] big = RandomBytes(BigLength, 3);
        DateTimeOffset later = LayerBuilder.Time.AddDays(1);

        Received first = await ReceiveAsync(cache, ContextTar(big));
        Received second = await ReceiveAsync(cache, ContextTar(big, later));

        Assert.Equal(1, second.Reused);
        Assert.Equal(big, File.ReadAllBytes(second.File()));
        Assert.Equal(SHA256.HashData(big), second.Hashes[second.File()]);
        Assert.NotEqual(Stat.Of(first.File()).Inode, Stat.Of(second.File()).Inode);
        Assert.Equal(later.UtcDateTime, File.GetLastWriteTimeUtc(second.File()));
        Assert.Equal(LayerBuilder.Time.UtcDateTime, File.GetLastWriteTimeUtc(first.File())); // the kept inode untouched
    }

    [Fact]
    public async Task AnotherSizeOrPathIsNotCompared()
    {
        ContextFileCache cache = NewCache();
        byte[] big = RandomBytes(BigLength, 4);

        await ReceiveAsync(cache, ContextTar(big));
        Received longer = await ReceiveAsync(cache, ContextTar([.. big, 1]));
        Received moved = await ReceiveAsync(cache, ContextTar(big, path: "elsewhere.bin"));

        Assert.Equal(0, longer.Reused);
        Assert.Equal([.. big, 1], File.ReadAllBytes(longer.File()));
        Assert.Equal(0, moved.Reused);
        Assert.Equal(big, File.ReadAllBytes(moved.File("elsewhere.bin")));
    }

    [Fact]
    public async Task TheBudgetKeepsTheMostRecentFilesAndPruneDropsAll()
    {
        ContextFileCache cache = NewCache(budget: BigLength + (BigLength / 2));
        byte[] one = RandomBytes(BigLength, 5), two = RandomBytes(BigLength, 6);

        await ReceiveAsync(cache, ContextTar(one));
        await ReceiveAsync(cache, ContextTar(two));
        Assert.Equal(BigLength, cache.Bytes);
        Assert.Single(Directory.EnumerateFiles(_dir.Combine("kept")));

        Assert.Equal(0, (await ReceiveAsync(cache, ContextTar(one))).Reused); // trimmed: written afresh (and kept, trimming two)
        Assert.Equal(1, (await ReceiveAsync(cache, ContextTar(one))).Reused);

        Assert.Equal(BigLength, cache.Clear());
        Assert.Empty(Directory.EnumerateFiles(_dir.Combine("kept")));
        Received after = await ReceiveAsync(cache, ContextTar(one));
        Assert.Equal(0, after.Reused);
        Assert.Equal(one, File.ReadAllBytes(after.File()));
    }
}
