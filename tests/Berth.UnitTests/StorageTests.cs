using System.Text;
using Berth.Interop;
using Berth.Primitives;
using Berth.Storage.Content;
using Berth.Storage.Filesystem;
using Berth.Storage.Metadata;
using Berth.Storage.Snapshots;
using Microsoft.Data.Sqlite;

namespace Berth.UnitTests;

public sealed class ContentStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task WriteStoresTheBlobUnderItsDigest()
    {
        var store = new ContentStore(_dir.Path);
        byte[] data = Encoding.UTF8.GetBytes("hello, berth");

        BlobDescriptor blob = await store.WriteAsync(data, CancellationToken.None);

        Assert.Equal(Digest.Sha256Of(data), blob.Digest);
        Assert.Equal(data.Length, blob.Size);
        Assert.Equal(_dir.Combine("blobs", "sha256", blob.Digest.Hex), store.PathOf(blob.Digest));
        Assert.True(store.Exists(blob.Digest));
        Assert.Equal(data, await File.ReadAllBytesAsync(store.PathOf(blob.Digest), CancellationToken.None));
        Assert.Equal(data, await store.ReadAllAsync(blob.Digest, CancellationToken.None));
        Assert.Equal([blob.Digest], store.List());
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir.Combine("ingest")));
    }

    [Fact]
    public async Task WriteWithTheRightExpectedDigestSucceeds()
    {
        var store = new ContentStore(_dir.Path);
        byte[] data = new byte[300_000]; // several buffers
        new Random(42).NextBytes(data);
        Digest expected = Digest.Sha256Of(data);

        BlobDescriptor blob = await store.WriteAsync(new MemoryStream(data), expected, CancellationToken.None);

        Assert.Equal(expected, blob.Digest);
        Assert.Equal(data.Length, blob.Size);
        Assert.Equal(data, await store.ReadAllAsync(expected, CancellationToken.None));
    }

    [Fact]
    public async Task ExpectedDigestMismatchLeavesNothingBehind()
    {
        var store = new ContentStore(_dir.Path);
        byte[] data = Encoding.UTF8.GetBytes("actual content");
        Digest expected = Digest.Sha256Of("other content"u8);

        EngineException e = await Assert.ThrowsAsync<EngineException>(
            () => store.WriteAsync(new MemoryStream(data), expected, CancellationToken.None));

        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("digest mismatch", e.Message, StringComparison.Ordinal);
        Assert.False(store.Exists(expected));
        Assert.False(store.Exists(Digest.Sha256Of(data)));
        Assert.Empty(store.List());
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir.Combine("blobs", "sha256")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir.Combine("ingest")));
    }

    [Fact]
    public async Task ConstructionClearsStaleIngestFiles()
    {
        _ = new ContentStore(_dir.Path);
        string stale = _dir.Combine("ingest", "stale-from-a-crash");
        await File.WriteAllTextAsync(stale, "half a blob", CancellationToken.None);

        _ = new ContentStore(_dir.Path);

        Assert.False(File.Exists(stale));
    }

    [Fact]
    public async Task WritingTheSameContentTwiceIsIdempotent()
    {
        var store = new ContentStore(_dir.Path);
        byte[] data = Encoding.UTF8.GetBytes("same bytes");

        BlobDescriptor first = await store.WriteAsync(data, CancellationToken.None);
        BlobDescriptor second = await store.WriteAsync(new MemoryStream(data), first.Digest, CancellationToken.None);

        Assert.Equal(first, second);
        Assert.Single(store.List());
        Assert.Equal(data, await store.ReadAllAsync(first.Digest, CancellationToken.None));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir.Combine("ingest")));
    }

    [Fact]
    public async Task ConcurrentWritesOfTheSameContentAllSucceed()
    {
        var store = new ContentStore(_dir.Path);
        byte[] data = new byte[100];
        new Random(7).NextBytes(data);

        for (int round = 0; round < 100; round++)
        {
            BlobDescriptor[] blobs = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ =>
                Task.Run(() => store.WriteAsync(new MemoryStream(data), Digest.Sha256Of(data), CancellationToken.None))));

            Assert.All(blobs, b => Assert.Equal(Digest.Sha256Of(data), b.Digest));
            store.Delete(blobs[0].Digest);
        }

        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir.Combine("ingest")));
    }

    [Fact]
    public async Task CommittedBlobsSurviveANewStore()
    {
        BlobDescriptor blob = await new ContentStore(_dir.Path).WriteAsync("kept"u8.ToArray(), CancellationToken.None);

        var reopened = new ContentStore(_dir.Path);

        Assert.True(reopened.Exists(blob.Digest));
    }

    [Fact]
    public void OpenReadOfMissingContentIsNotFound()
    {
        var store = new ContentStore(_dir.Path);

        EngineException e = Assert.Throws<EngineException>(() => store.OpenRead(Digest.Sha256Of("absent"u8)));

        Assert.Equal(ErrorKind.NotFound, e.Kind);
    }

    [Fact]
    public async Task DeleteRemovesTheBlob()
    {
        var store = new ContentStore(_dir.Path);
        BlobDescriptor blob = await store.WriteAsync("gone soon"u8.ToArray(), CancellationToken.None);

        store.Delete(blob.Digest);

        Assert.False(store.Exists(blob.Digest));
    }

    [Fact]
    public void OnlySha256IsAddressable()
    {
        var store = new ContentStore(_dir.Path);
        Digest sha512 = Digest.Parse("sha512:" + new string('a', 128));

        Assert.Equal(ErrorKind.InvalidArgument, Assert.Throws<EngineException>(() => store.PathOf(sha512)).Kind);
    }
}

public sealed class MetadataStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private string DbPath => _dir.Combine("meta", "berth.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    [Fact]
    public void UsesWalJournal()
    {
        using var store = new MetadataStore(DbPath);

        using var connection = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";

        Assert.Equal("wal", command.ExecuteScalar() as string);
    }

    [Fact]
    public void EveryPooledConnectionCommitsWithoutAnFsyncPerWrite()
    {
        using var store = new MetadataStore(DbPath);
        store.TryInsertContainer(new string('a', 64), "/one", "{}");
        store.UpdateContainer(new string('a', 64), "{\"x\":1}");

        // The store's own connection string reaches its pool; `synchronous` is per connection (FULL = 2 by default).
        string pooled = new SqliteConnectionStringBuilder
        {
            DataSource = DbPath,
            Pooling = true,
            Cache = SqliteCacheMode.Private,
            ForeignKeys = true,
            DefaultTimeout = 30,
        }.ToString();
        using var connection = new SqliteConnection(pooled);
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "PRAGMA synchronous";

        Assert.Equal(1L, command.ExecuteScalar()); // NORMAL
    }

    [Fact]
    public void BlobSourcesAreKeptPerRegistryMostRecentFirstAndBounded()
    {
        using var store = new MetadataStore(DbPath);
        string blob = "sha256:" + new string('1', 64);
        string other = "sha256:" + new string('2', 64);

        store.AddBlobSources("reg:5000", "team/a", [blob, other]);
        store.AddBlobSources("reg:5000", "team/b", [blob]);
        store.AddBlobSources("elsewhere:5000", "team/c", [blob]);

        Assert.Equal(["team/b", "team/a"], store.BlobSources("reg:5000", blob));
        Assert.Equal(["team/a"], store.BlobSources("reg:5000", other));
        Assert.Equal(["team/c"], store.BlobSources("elsewhere:5000", blob));
        Assert.Empty(store.BlobSources("reg:5001", blob));

        // Seen again: first again. Past the bound: the least recently seen go.
        store.AddBlobSources("reg:5000", "team/a", [blob]);
        Assert.Equal(["team/a", "team/b"], store.BlobSources("reg:5000", blob));
        for (int i = 0; i < MetadataStore.BlobSourcesKept; i++)
        {
            store.AddBlobSources("reg:5000", $"more/{i}", [blob]);
        }

        List<string> kept = store.BlobSources("reg:5000", blob);
        Assert.Equal(MetadataStore.BlobSourcesKept, kept.Count);
        Assert.Equal($"more/{MetadataStore.BlobSourcesKept - 1}", kept[0]);
        Assert.DoesNotContain("team/b", kept);
    }

    [Fact]
    public void ContainerNamesAreUnique()
    {
        using var store = new MetadataStore(DbPath);
        string first = Ids.NewId();
        string second = Ids.NewId();

        Assert.True(store.TryInsertContainer(first, "/web", "{\"n\":1}"));
        Assert.False(store.TryInsertContainer(second, "/web", "{\"n\":2}"));
        Assert.True(store.TryInsertContainer(second, "/db", "{\"n\":3}"));

        List<(string Id, string Name, string Doc)> rows = store.ListContainers();
        Assert.Equal(2, rows.Count);
        Assert.Contains((first, "/web", "{\"n\":1}"), rows);
        Assert.Contains((second, "/db", "{\"n\":3}"), rows);
    }

    [Fact]
    public void ContainerIdsAreUnique()
    {
        using var store = new MetadataStore(DbPath);
        string id = Ids.NewId();

        Assert.True(store.TryInsertContainer(id, "/a", "{}"));
        Assert.False(store.TryInsertContainer(id, "/b", "{}"));
        Assert.Single(store.ListContainers());
    }

    [Fact]
    public void ANameIsFreeAgainOnceItsContainerIsDeleted()
    {
        using var store = new MetadataStore(DbPath);
        string first = Ids.NewId();
        Assert.True(store.TryInsertContainer(first, "/web", "{}"));

        store.DeleteContainer(first);

        Assert.True(store.TryInsertContainer(Ids.NewId(), "/web", "{}"));
    }

    [Fact]
    public void UpdateContainerReplacesTheDocument()
    {
        using var store = new MetadataStore(DbPath);
        string id = Ids.NewId();
        Assert.True(store.TryInsertContainer(id, "/web", "{\"v\":1}"));

        store.UpdateContainer(id, "{\"v\":2}");

        Assert.Equal("{\"v\":2}", Assert.Single(store.ListContainers()).Doc);
    }

    [Fact]
    public void TagsMoveBetweenImages()
    {
        using var store = new MetadataStore(DbPath);
        const string reference = "docker.io/library/app:latest";
        store.PutImage("sha256:1", "{}", [reference, "docker.io/library/app:v1"]);

        store.PutImage("sha256:2", "{}", [reference]);

        Assert.Equal(
            [("docker.io/library/app:latest", "sha256:2"), ("docker.io/library/app:v1", "sha256:1")],
            store.ListTags().OrderBy(t => t.Reference, StringComparer.Ordinal));

        store.Tag(reference, "sha256:1");

        Assert.All(store.ListTags(), t => Assert.Equal("sha256:1", t.ImageId));
        Assert.Equal(2, store.ListImages().Count); // moving a tag never removes an image
    }

    [Fact]
    public void PutImageUpdatesTheDocumentOfAnExistingImage()
    {
        using var store = new MetadataStore(DbPath);
        store.PutImage("sha256:1", "{\"v\":1}", []);

        store.PutImage("sha256:1", "{\"v\":2}", []);

        Assert.Equal([("sha256:1", "{\"v\":2}")], store.ListImages());
    }

    [Fact]
    public void UntagRemovesOnlyThatReference()
    {
        using var store = new MetadataStore(DbPath);
        store.PutImage("sha256:1", "{}", ["r:a", "r:b"]);

        Assert.True(store.Untag("r:a"));
        Assert.False(store.Untag("r:a"));

        Assert.Equal([("r:b", "sha256:1")], store.ListTags());
    }

    [Fact]
    public void DeleteImageRemovesItsTags()
    {
        using var store = new MetadataStore(DbPath);
        store.PutImage("sha256:1", "{}", ["r:one", "r:uno"]);
        store.PutImage("sha256:2", "{}", ["r:two"]);

        store.DeleteImage("sha256:1");

        Assert.Equal([("sha256:2", "{}")], store.ListImages());
        Assert.Equal([("r:two", "sha256:2")], store.ListTags());
    }

    [Fact]
    public void ATagMustPointAtAnExistingImage()
    {
        using var store = new MetadataStore(DbPath);

        Assert.Throws<SqliteException>(() => store.Tag("r:dangling", "sha256:none"));
        Assert.Empty(store.ListTags());
    }

    [Fact]
    public void LayersArePutReadListedAndDeleted()
    {
        using var store = new MetadataStore(DbPath);

        store.PutLayer("sha256:a", "{\"size\":1}");
        store.PutLayer("sha256:a", "{\"size\":2}");
        store.PutLayer("sha256:b", "{}");

        Assert.Equal("{\"size\":2}", store.GetLayer("sha256:a"));
        Assert.Null(store.GetLayer("sha256:none"));
        Assert.Equal(["sha256:a", "sha256:b"], store.ListLayers().Order(StringComparer.Ordinal));

        store.DeleteLayer("sha256:a");

        Assert.Null(store.GetLayer("sha256:a"));
    }

    [Fact]
    public void ReopeningAfterDisposeKeepsEverything()
    {
        string id = Ids.NewId();
        using (var store = new MetadataStore(DbPath))
        {
            Assert.True(store.TryInsertContainer(id, "/kept", "{\"k\":1}"));
            store.PutImage("sha256:1", "{\"i\":1}", ["r:kept"]);
            store.PutLayer("sha256:l", "{\"l\":1}");
        }

        SqliteConnection.ClearAllPools();

        using (var reopened = new MetadataStore(DbPath))
        {
            Assert.Equal([(id, "/kept", "{\"k\":1}")], reopened.ListContainers());
            Assert.Equal([("sha256:1", "{\"i\":1}")], reopened.ListImages());
            Assert.Equal([("r:kept", "sha256:1")], reopened.ListTags());
            Assert.Equal("{\"l\":1}", reopened.GetLayer("sha256:l"));
            Assert.False(reopened.TryInsertContainer(Ids.NewId(), "/kept", "{}")); // the rule survives too
        }
    }
}

public sealed class OverlaySnapshotterTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Digest Chain(string seed) => Digest.Sha256Of(Encoding.UTF8.GetBytes(seed));

    [Fact]
    public void PrepareDescribesAnOverlayWithLowerDirsInTheGivenOrder()
    {
        var snapshots = new OverlaySnapshotter(_dir.Path);
        Digest top = Chain("top"), middle = Chain("middle"), bottom = Chain("bottom");

        MountDescription mount = snapshots.Prepare("c1", [top, middle, bottom]);

        string active = _dir.Combine("active", "c1");
        Assert.Equal("overlay", mount.Type);
        Assert.Equal("overlay", mount.Source);
        Assert.Equal(
            [
                $"lowerdir={snapshots.LayerDirectory(top)}:{snapshots.LayerDirectory(middle)}:{snapshots.LayerDirectory(bottom)}",
                $"upperdir={Path.Combine(active, "upper")}",
                $"workdir={Path.Combine(active, "work")}",
                "index=off",
            ],
            mount.Options);
        Assert.Equal(string.Join(',', mount.Options), mount.Data);
        Assert.Equal(_dir.Combine("layers", top.Hex, "diff"), snapshots.LayerDirectory(top));
        Assert.True(Directory.Exists(Path.Combine(active, "upper")));
        Assert.True(Directory.Exists(Path.Combine(active, "work")));
        Assert.Equal(Path.Combine(active, "upper"), snapshots.UpperDirectory("c1"));
        Assert.Equal(["c1"], snapshots.ActiveKeys());
    }

    [Fact]
    public void PrepareOverNoLayersIsABindOfTheUpperDirectory()
    {
        var snapshots = new OverlaySnapshotter(_dir.Path);

        MountDescription mount = snapshots.Prepare("scratch", []);

        Assert.Equal("bind", mount.Type);
        Assert.Equal(_dir.Combine("active", "scratch", "upper"), mount.Source);
        Assert.Contains("rbind", mount.Options);
        Assert.True(Directory.Exists(mount.Source));
    }

    [Fact]
    public void MountsOfAnActiveSnapshotMatchPrepare()
    {
        var snapshots = new OverlaySnapshotter(_dir.Path);
        Digest[] chain = [Chain("a"), Chain("b")];

        MountDescription prepared = snapshots.Prepare("c1", chain);

        Assert.Equal(prepared.Options, snapshots.Mounts("c1", chain).Options);
    }

    [Fact]
    public void DisposableMountsAreVolatileAndOnlyThem()
    {
        var snapshots = new OverlaySnapshotter(_dir.Path);
        Digest[] chain = [Chain("a")];
        snapshots.Prepare("c1", chain);

        Assert.Equal(OverlaySnapshotter.Volatile, snapshots.Mounts("c1", chain, disposable: true).Options[^1]);
        Assert.DoesNotContain(OverlaySnapshotter.Volatile, snapshots.Mounts("c1", chain).Options);
        Assert.Equal("bind", snapshots.Mounts("scratch", [], disposable: true).Type);
    }

    [Fact]
    public void AVolatileMountSkipsTheSyncAndAllowRemountLetsTheSnapshotBeMountedAgain()
    {
        var snapshots = new OverlaySnapshotter(_dir.Path);
        Digest[] chain = [Chain("a")];
        Directory.CreateDirectory(snapshots.LayerDirectory(chain[0]));
        snapshots.Prepare("c1", chain);
        string merged = _dir.Combine("merged");
        Directory.CreateDirectory(merged);

        Mount.Attach("overlay", merged, "overlay", 0, snapshots.Mounts("c1", chain, disposable: true).Data);
        try
        {
            // Shown as "volatile", or as "fsync=volatile" by newer kernels.
            string line = File.ReadLines("/proc/self/mountinfo").Single(l => l.Split(' ')[4] == merged);
            Assert.Contains("volatile", line[line.IndexOf(" - ", StringComparison.Ordinal)..], StringComparison.Ordinal);
        }
        finally
        {
            Mount.Detach(merged);
        }

        // The kernel's mark of a volatile mount refuses any later mount until it is removed.
        NativeException refused = Assert.Throws<NativeException>(() => Mount.Attach("overlay", merged, "overlay", 0, snapshots.Mounts("c1", chain).Data));
        Assert.True(Mount.IsRefusedOption(refused));

        snapshots.AllowRemount("c1");
        snapshots.AllowRemount("c1"); // nothing to remove is fine
        Mount.Attach("overlay", merged, "overlay", 0, snapshots.Mounts("c1", chain).Data);
        Mount.Detach(merged);
    }

    [Fact]
    public void RemoveDeletesTheActiveSnapshot()
    {
        var snapshots = new OverlaySnapshotter(_dir.Path);
        snapshots.Prepare("c1", [Chain("a")]);
        File.WriteAllText(Path.Combine(snapshots.UpperDirectory("c1"), "written"), "x");

        snapshots.Remove("c1");
        snapshots.Remove("c1"); // twice is fine

        Assert.False(Directory.Exists(_dir.Combine("active", "c1")));
        Assert.Empty(snapshots.ActiveKeys());
    }

    [Fact]
    public void SetAsideHidesTheSnapshotAtOnceAndLeavesItForTheCallerToDelete()
    {
        var snapshots = new OverlaySnapshotter(_dir.Path);
        snapshots.Prepare("c1", [Chain("a")]);
        File.WriteAllText(Path.Combine(snapshots.UpperDirectory("c1"), "written"), "x");

        string? aside = snapshots.SetAside("c1");

        Assert.NotNull(aside);
        Assert.False(Directory.Exists(_dir.Combine("active", "c1")));
        Assert.Equal("x", File.ReadAllText(Path.Combine(aside, "upper", "written")));
        Assert.Empty(snapshots.ActiveKeys());
        Assert.Null(snapshots.SetAside("c1"));

        // What a crash left set aside goes at the next start; other snapshots stay.
        snapshots.Prepare("c2", [Chain("a")]);
        snapshots.RemoveSetAside();
        Assert.False(Directory.Exists(aside));
        Assert.Equal(["c2"], snapshots.ActiveKeys());
    }

    [Fact]
    public void CommitLayerMovesTheStagingDirectoryIntoPlace()
    {
        var snapshots = new OverlaySnapshotter(_dir.Path);
        Digest chain = Chain("layer");

        string staging = snapshots.PrepareLayer(chain);
        Assert.True(Directory.Exists(staging));
        Assert.False(snapshots.LayerExists(chain));
        Assert.NotEqual(snapshots.LayerDirectory(chain), staging);
        Directory.CreateDirectory(Path.Combine(staging, "etc"));
        File.WriteAllText(Path.Combine(staging, "etc", "hostname"), "layer");

        snapshots.CommitLayer(chain, staging);

        Assert.True(snapshots.LayerExists(chain));
        Assert.False(Directory.Exists(staging));
        Assert.Equal("layer", File.ReadAllText(Path.Combine(snapshots.LayerDirectory(chain), "etc", "hostname")));
        Assert.Equal([chain.Hex], Directory.EnumerateFileSystemEntries(_dir.Combine("layers")).Select(Path.GetFileName));
    }

    [Fact]
    public void CommittingAnAlreadyCommittedLayerKeepsTheFirstAndDropsTheStaging()
    {
        var snapshots = new OverlaySnapshotter(_dir.Path);
        Digest chain = Chain("layer");
        string first = snapshots.PrepareLayer(chain);
        File.WriteAllText(Path.Combine(first, "who"), "first");
        snapshots.CommitLayer(chain, first);

        string second = snapshots.PrepareLayer(chain);
        File.WriteAllText(Path.Combine(second, "who"), "second");
        snapshots.CommitLayer(chain, second);

        Assert.False(Directory.Exists(second));
        Assert.Equal("first", File.ReadAllText(Path.Combine(snapshots.LayerDirectory(chain), "who")));
        Assert.Equal([chain.Hex], Directory.EnumerateFileSystemEntries(_dir.Combine("layers")).Select(Path.GetFileName));
    }

    [Fact]
    public void StagingDirectoriesAreDistinct()
    {
        var snapshots = new OverlaySnapshotter(_dir.Path);
        Digest chain = Chain("layer");

        Assert.NotEqual(snapshots.PrepareLayer(chain), snapshots.PrepareLayer(chain));
    }

    [Fact]
    public void RemoveIncompleteLayersRemovesOnlyStagingDirectories()
    {
        var snapshots = new OverlaySnapshotter(_dir.Path);
        Digest done = Chain("done"), crashed = Chain("crashed");
        string staging = snapshots.PrepareLayer(done);
        File.WriteAllText(Path.Combine(staging, "f"), "kept");
        snapshots.CommitLayer(done, staging);
        string half = snapshots.PrepareLayer(crashed);
        File.WriteAllText(Path.Combine(half, "f"), "half");

        new OverlaySnapshotter(_dir.Path).RemoveIncompleteLayers();

        Assert.False(Directory.Exists(half));
        Assert.False(snapshots.LayerExists(crashed));
        Assert.True(snapshots.LayerExists(done));
        Assert.Equal("kept", File.ReadAllText(Path.Combine(snapshots.LayerDirectory(done), "f")));
    }

    [Fact]
    public void RemoveLayerDeletesIt()
    {
        var snapshots = new OverlaySnapshotter(_dir.Path);
        Digest chain = Chain("layer");
        snapshots.CommitLayer(chain, snapshots.PrepareLayer(chain));

        snapshots.RemoveLayer(chain);

        Assert.False(snapshots.LayerExists(chain));
        Assert.False(Directory.Exists(_dir.Combine("layers", chain.Hex)));
    }
}

public sealed class ScopedPathTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Root => _dir.Path;

    private string In(string relative) => Root + "/" + relative;

    [Theory]
    [InlineData("a/b", "a/b")]
    [InlineData("/a/b", "a/b")]
    [InlineData("./a/./b/", "a/b")]
    [InlineData("a//b", "a/b")]
    [InlineData("../../etc/passwd", "etc/passwd")]
    [InlineData("a/../../../etc/passwd", "etc/passwd")]
    [InlineData("a/b/../c", "a/c")]
    public void PlainPathsAndDotDotAreClampedToTheRoot(string path, string expected)
    {
        Assert.Equal(In(expected), ScopedPath.Resolve(Root, path));
    }

    [Theory]
    [InlineData("")]
    [InlineData("/")]
    [InlineData("..")]
    [InlineData("../..")]
    public void TheRootItself(string path)
    {
        Assert.Equal(Root, ScopedPath.Resolve(Root, path));
    }

    [Fact]
    public void TrailingSlashOnTheRootIsIgnored()
    {
        Assert.Equal(In("x"), ScopedPath.Resolve(Root + "/", "x"));
    }

    [Fact]
    public void SymlinkToAnAbsolutePathIsClampedToTheRoot()
    {
        File.CreateSymbolicLink(In("link"), "/etc");

        Assert.Equal(In("etc/passwd"), ScopedPath.Resolve(Root, "link/passwd"));
        Assert.Equal(In("etc"), ScopedPath.Resolve(Root, "link"));
    }

    [Fact]
    public void SymlinkToSlashIsTheRoot()
    {
        File.CreateSymbolicLink(In("link"), "/");

        Assert.Equal(Root, ScopedPath.Resolve(Root, "link"));
        Assert.Equal(In("etc/evil"), ScopedPath.Resolve(Root, "link/etc/evil"));
    }

    [Fact]
    public void RelativeSymlinkClimbingOutIsClamped()
    {
        Directory.CreateDirectory(In("a/b"));
        File.CreateSymbolicLink(In("a/b/up"), "../../../../../etc");

        Assert.Equal(In("etc/shadow"), ScopedPath.Resolve(Root, "a/b/up/shadow"));
    }

    [Fact]
    public void RelativeSymlinkIsResolvedFromItsDirectory()
    {
        Directory.CreateDirectory(In("usr/lib"));
        Directory.CreateDirectory(In("usr/bin"));
        File.CreateSymbolicLink(In("usr/bin/lib"), "../lib");

        Assert.Equal(In("usr/lib/libc.so"), ScopedPath.Resolve(Root, "usr/bin/lib/libc.so"));
    }

    [Fact]
    public void ChainsOfSymlinksAreFollowed()
    {
        File.CreateSymbolicLink(In("a"), "b");
        File.CreateSymbolicLink(In("b"), "/c");
        File.CreateSymbolicLink(In("c"), "../../d");

        Assert.Equal(In("d/file"), ScopedPath.Resolve(Root, "a/file"));
    }

    [Fact]
    public void DanglingSymlinkToAnOutsidePathStaysInside()
    {
        File.CreateSymbolicLink(In("dangling"), "/nonexistent/deeper");

        Assert.Equal(In("nonexistent/deeper"), ScopedPath.Resolve(Root, "dangling"));
    }

    [Fact]
    public void SymlinkLoopsAreAnError()
    {
        File.CreateSymbolicLink(In("a"), "b");
        File.CreateSymbolicLink(In("b"), "a");
        File.CreateSymbolicLink(In("self"), "self");

        Assert.Equal(ErrorKind.InvalidArgument, Assert.Throws<EngineException>(() => ScopedPath.Resolve(Root, "a/x")).Kind);
        Assert.Equal(ErrorKind.InvalidArgument, Assert.Throws<EngineException>(() => ScopedPath.Resolve(Root, "self")).Kind);
    }

    [Fact]
    public void FollowFinalFalseKeepsTheLastSymlinkButFollowsTheOthers()
    {
        File.CreateSymbolicLink(In("link"), "/etc");
        File.CreateSymbolicLink(In("self"), "self");

        Assert.Equal(In("link"), ScopedPath.Resolve(Root, "link", followFinal: false));
        Assert.Equal(In("etc"), ScopedPath.Resolve(Root, "link", followFinal: true));
        Assert.Equal(In("etc/passwd"), ScopedPath.Resolve(Root, "link/passwd", followFinal: false));
        Assert.Equal(In("self"), ScopedPath.Resolve(Root, "self", followFinal: false)); // not followed, so no loop
    }

    [Fact]
    public void NeverNamesAPathOutsideTheRoot()
    {
        Directory.CreateDirectory(In("d"));
        File.CreateSymbolicLink(In("d/l1"), "../..");
        File.CreateSymbolicLink(In("l2"), "/..");
        File.CreateSymbolicLink(In("l3"), "d/l1/../../x");

        foreach (string path in new[] { "d/l1", "d/l1/y", "l2/z", "l3", "l3/../../..", "d/l1/d/l1/../etc" })
        {
            string resolved = ScopedPath.Resolve(Root, path);
            Assert.True(resolved == Root || resolved.StartsWith(Root + "/", StringComparison.Ordinal), $"{path} resolved to {resolved}");
        }
    }
}
