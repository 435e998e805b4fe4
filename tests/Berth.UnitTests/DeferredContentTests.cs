using System.Formats.Tar;
using System.Security.Cryptography;
using Berth.Images;

namespace Berth.UnitTests;

/// <summary>A build context unpacked with its big files' bytes kept in memory until something reads them.</summary>
public sealed class DeferredContentTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private static readonly DateTimeOffset Time = new(2020, 5, 6, 7, 8, 9, TimeSpan.Zero);

    public void Dispose() => _dir.Dispose();

    private static byte[] Tar(byte[] big)
    {
        using var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "big.bin") { DataStream = new MemoryStream(big), Mode = (UnixFileMode)0b110_100_000, ModificationTime = Time });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "small.txt") { DataStream = new MemoryStream("small"u8.ToArray()), ModificationTime = Time });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.HardLink, "again.bin") { LinkName = "big.bin" });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "later.bin") { DataStream = new MemoryStream(big), ModificationTime = Time });
        }

        return output.ToArray();
    }

    [Fact]
    public async Task Big_files_are_hashed_and_sized_at_once_and_their_bytes_written_when_asked_with_their_mode_and_time_kept()
    {
        byte[] big = RandomNumberGenerator.GetBytes(3_000_000);
        string root = _dir.Combine("ctx");
        Directory.CreateDirectory(root);
        var hashes = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var deferred = new DeferredContent(minimumFileSize: 1 << 20, budget: 4_000_000);
        await LayerApplier.ApplyAsync(new MemoryStream(Tar(big)), root, new LayerApplier.Extraction("/", Whiteouts: false, KeepOwnership: false, NoOverwriteDirNonDir: false) { FileHashes = hashes, Deferred = deferred }, CancellationToken.None);

        string later = Path.Combine(root, "later.bin");
        string bigPath = Path.Combine(root, "big.bin");
        // The hard link needed big.bin's bytes (one inode, two names); later.bin is over the budget: both written.
        Assert.Equal(big, await File.ReadAllBytesAsync(Path.Combine(root, "again.bin")));
        Assert.Equal(big, await File.ReadAllBytesAsync(later));
        Assert.Equal(SHA256.HashData(big), hashes[later]);
        Assert.Equal(SHA256.HashData(big), hashes[bigPath]);
        Assert.Equal("small", await File.ReadAllTextAsync(Path.Combine(root, "small.txt")));
        Assert.False(deferred.Pending);

        // Within the budget and nothing reading it: deferred, yet stat says what the tar says.
        string alone = _dir.Combine("alone");
        Directory.CreateDirectory(alone);
        var deferredAlone = new DeferredContent(minimumFileSize: 1 << 20, budget: 4_000_000);
        var hashesAlone = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using (var output = new MemoryStream())
        {
            using (var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "big.bin") { DataStream = new MemoryStream(big), Mode = (UnixFileMode)0b110_100_000, ModificationTime = Time });
            }

            output.Position = 0;
            await LayerApplier.ApplyAsync(output, alone, new LayerApplier.Extraction("/", Whiteouts: false, KeepOwnership: false, NoOverwriteDirNonDir: false) { FileHashes = hashesAlone, Deferred = deferredAlone }, CancellationToken.None);
        }

        string path = Path.Combine(alone, "big.bin");
        Assert.True(deferredAlone.Pending);
        Assert.Equal(big.Length, new FileInfo(path).Length);
        Assert.Equal(SHA256.HashData(big), hashesAlone[path]);
        Assert.NotEqual(big, await File.ReadAllBytesAsync(path)); // no bytes yet

        deferredAlone.WriteAll();
        Assert.False(deferredAlone.Pending);
        Assert.Equal(big, await File.ReadAllBytesAsync(path));
        Assert.Equal((UnixFileMode)0b110_100_000, File.GetUnixFileMode(path));
        Assert.Equal(Time.UtcDateTime, File.GetLastWriteTimeUtc(path));
    }
}
