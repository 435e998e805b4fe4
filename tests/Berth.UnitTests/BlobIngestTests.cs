using Berth.Primitives;
using Berth.Storage.Content;

namespace Berth.UnitTests;

/// <summary>Resumable ingests: a partial survives its writer (and a new store on the same root) and is never visible as a blob.</summary>
public sealed class BlobIngestTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly byte[] _data = new byte[300_000];

    public BlobIngestTests() => new Random(7).NextBytes(_data);

    public void Dispose() => _dir.Dispose();

    private Digest Expected => Digest.Sha256Of(_data);

    private string Partial => _dir.Combine("ingest", $"sha256-{Expected.Hex}.partial");

    [Fact]
    public async Task A_partial_kept_by_one_writer_is_rehashed_and_resumed_by_the_next_store_on_the_root()
    {
        var store = new ContentStore(_dir.Path);
        await using (BlobIngest ingest = (await store.OpenIngestAsync(Expected, CancellationToken.None))!)
        {
            Assert.Equal(0, ingest.Length);
            await ingest.WriteAsync(_data.AsMemory(0, 100_000), CancellationToken.None);
        }

        Assert.Equal(100_000, new FileInfo(Partial).Length);
        Assert.False(store.Exists(Expected));

        // A daemon restarted on the same root: start-up keeps the fresh partial, and the hash goes on from its bytes.
        var restarted = new ContentStore(_dir.Path);
        await using (BlobIngest ingest = (await restarted.OpenIngestAsync(Expected, CancellationToken.None))!)
        {
            Assert.Equal(100_000, ingest.ResumedFrom);
            await ingest.WriteAsync(_data.AsMemory(100_000), CancellationToken.None);
            BlobDescriptor blob = await ingest.CommitAsync(CancellationToken.None);
            Assert.Equal(new BlobDescriptor(Expected, _data.Length), blob);
        }

        Assert.Equal(_data, await restarted.ReadAllAsync(Expected, CancellationToken.None));
        Assert.Empty(restarted.ListPartials());
    }

    [Fact]
    public async Task A_restart_drops_what_was_received_and_a_mismatch_deletes_the_partial()
    {
        var store = new ContentStore(_dir.Path);
        await using (BlobIngest ingest = (await store.OpenIngestAsync(Expected, CancellationToken.None))!)
        {
            await ingest.WriteAsync(new byte[5000], CancellationToken.None);
            ingest.Restart();
            await ingest.WriteAsync(_data, CancellationToken.None);
            Assert.Equal(Expected, (await ingest.CommitAsync(CancellationToken.None)).Digest);
        }

        Digest other = Digest.Sha256Of("something else"u8);
        await using (BlobIngest ingest = (await store.OpenIngestAsync(other, CancellationToken.None))!)
        {
            await ingest.WriteAsync(_data, CancellationToken.None);
            EngineException error = await Assert.ThrowsAsync<EngineException>(() => ingest.CommitAsync(CancellationToken.None));
            Assert.Equal(ErrorKind.InvalidArgument, error.Kind);
            Assert.Contains($"expected {other}, got {Expected}", error.Message, StringComparison.Ordinal);
        }

        Assert.False(store.Exists(other));
        Assert.Empty(store.ListPartials());
    }

    [Fact]
    public async Task A_second_opener_waits_for_the_first_and_then_finds_the_blob_committed()
    {
        var store = new ContentStore(_dir.Path);
        BlobIngest first = (await store.OpenIngestAsync(Expected, CancellationToken.None))!;
        Task<BlobIngest?> second = store.OpenIngestAsync(Expected, CancellationToken.None);
        await Task.Delay(100);
        Assert.False(second.IsCompleted, "a second writer got the partial while the first held it");

        await first.WriteAsync(_data, CancellationToken.None);
        await first.CommitAsync(CancellationToken.None);
        await first.DisposeAsync();
        Assert.Null(await second.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Stale_partials_go_and_fresh_or_open_ones_stay()
    {
        var store = new ContentStore(_dir.Path);
        string stale = _dir.Combine("ingest", $"sha256-{new string('1', 64)}.partial");
        string fresh = _dir.Combine("ingest", $"sha256-{new string('2', 64)}.partial");
        await File.WriteAllBytesAsync(stale, new byte[10]);
        await File.WriteAllBytesAsync(fresh, new byte[10]);
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddDays(-2));
        await using (BlobIngest open = (await store.OpenIngestAsync(Expected, CancellationToken.None))!)
        {
            await open.WriteAsync(new byte[10], CancellationToken.None);
        }

        File.SetLastWriteTimeUtc(Partial, DateTime.UtcNow.AddDays(-2));

        await using (BlobIngest held = (await store.OpenIngestAsync(Expected, CancellationToken.None))!)
        {
            Assert.Equal(10, store.RemoveStalePartials(ContentStore.StalePartialAge));
            Assert.False(File.Exists(stale));
            Assert.True(File.Exists(fresh));
            Assert.True(File.Exists(Partial), "an old partial being resumed was removed");
        }

        // Start-up: temporary files of interrupted writes go, the fresh partial stays.
        string temp = _dir.Combine("ingest", "0123456789abcdef");
        await File.WriteAllBytesAsync(temp, new byte[10]);
        _ = new ContentStore(_dir.Path);
        Assert.False(File.Exists(temp));
        Assert.True(File.Exists(fresh));
    }
}
