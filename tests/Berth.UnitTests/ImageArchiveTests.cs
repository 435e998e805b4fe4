using System.Formats.Tar;
using System.Text;
using System.Text.Json;
using Berth.Engine.Images;
using Berth.Images;
using Berth.Primitives;
using Berth.Storage.Content;
using Berth.Storage.Metadata;
using Berth.Storage.Snapshots;

namespace Berth.UnitTests;

public class ImageFiltersTests
{
    [Theory]
    [InlineData("busybox", "busybox", true)]
    [InlineData("busy*", "busybox", true)]
    [InlineData("*", "team/app", false)]
    [InlineData("*/*", "team/app", true)]
    [InlineData("busybox:l?test", "busybox:latest", true)]
    [InlineData("busybox:[a-l]*", "busybox:latest", true)]
    [InlineData("busybox:[^l]*", "busybox:latest", false)]
    [InlineData("busybox", "busybox:latest", false)]
    [InlineData("a\\*", "a*", true)]
    public void GlobMatchIsGoPathMatch(string pattern, string text, bool expected) =>
        Assert.Equal(expected, ImageFilters.GlobMatch(pattern, text));

    [Fact]
    public void ReferenceMatchesTheFamiliarNameWithAndWithoutTag()
    {
        ImageReference reference = ImageReference.Parse("localhost:5000/team/app:v1");
        Assert.True(ImageFilters.ReferenceMatches(reference, "localhost:5000/team/app"));
        Assert.True(ImageFilters.ReferenceMatches(reference, "localhost:5000/team/app:v*"));
        Assert.False(ImageFilters.ReferenceMatches(reference, "app"));
        Assert.True(ImageFilters.ReferenceMatches(ImageReference.Parse("busybox"), "busybox:latest"));
    }

    [Fact]
    public void TimestampsAreDurationsUnixSecondsOrDates()
    {
        var now = new DateTimeOffset(2026, 1, 2, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal(now.AddHours(-24), ImageFilters.ParseTimestamp("24h", now));
        Assert.Equal(now.AddMinutes(-90), ImageFilters.ParseTimestamp("1h30m", now));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700000000), ImageFilters.ParseTimestamp("1700000000", now));
        Assert.Equal(new DateTimeOffset(2025, 5, 6, 0, 0, 0, TimeSpan.Zero), ImageFilters.ParseTimestamp("2025-05-06", now));
        Assert.Throws<EngineException>(() => ImageFilters.ParseTimestamp("yesterday", now));
    }

    [Fact]
    public void MatchesAppliesDanglingLabelBeforeSinceUntilAndReference()
    {
        static ImageView View(int year, string? tag, string? label = null) => new(
            new ImageRecord
            {
                Id = "sha256:" + year,
                Config = new OciImageConfig { Created = new DateTimeOffset(year, 1, 1, 0, 0, 0, TimeSpan.Zero), Config = new ImageRuntimeConfig { Labels = label is null ? null : new() { ["k"] = label } } },
            },
            tag is null ? [] : [ImageReference.Parse(tag)]);
        ImageView old = View(2020, "app:old", "a"), mid = View(2022, null), recent = View(2024, "team/app:new");
        ImageView Find(string name) => name == "app:old" ? old : recent;
        static Dictionary<string, IReadOnlyList<string>> F(string key, string value) => new() { [key] = [value] };

        Assert.True(ImageFilters.Matches(mid, F("dangling", "true"), Find));
        Assert.False(ImageFilters.Matches(old, F("dangling", "true"), Find));
        Assert.True(ImageFilters.Matches(old, F("label", "k=a"), Find));
        Assert.False(ImageFilters.Matches(old, F("label", "k=b"), Find));
        Assert.True(ImageFilters.Matches(mid, F("since", "app:old"), Find));
        Assert.False(ImageFilters.Matches(old, F("since", "app:old"), Find));
        Assert.True(ImageFilters.Matches(mid, F("before", "team/app:new"), Find));
        Assert.False(ImageFilters.Matches(recent, F("before", "team/app:new"), Find));
        Assert.True(ImageFilters.Matches(old, F("until", "2021-01-01"), Find));
        Assert.False(ImageFilters.Matches(recent, F("until", "2021-01-01"), Find));
        Assert.True(ImageFilters.Matches(recent, F("reference", "*/app"), Find));
        Assert.False(ImageFilters.Matches(old, F("reference", "*/app"), Find));
    }

    [Fact]
    public void UnknownKeysAndBadDanglingValuesAreRefused()
    {
        Assert.Throws<EngineException>(() => ImageFilters.Validate(new Dictionary<string, IReadOnlyList<string>> { ["colour"] = ["red"] }));
        Assert.Throws<EngineException>(() => ImageFilters.Validate(new Dictionary<string, IReadOnlyList<string>> { ["dangling"] = ["maybe"] }));
        ImageFilters.Validate(new Dictionary<string, IReadOnlyList<string>> { ["dangling"] = ["true"], ["reference"] = ["x"] });
        Assert.True(ImageFilters.Dangling(new Dictionary<string, IReadOnlyList<string>> { ["dangling"] = ["1"] }));
        Assert.False(ImageFilters.Dangling(new Dictionary<string, IReadOnlyList<string>> { ["dangling"] = ["false"] }));
        Assert.Null(ImageFilters.Dangling(new Dictionary<string, IReadOnlyList<string>>()));
    }
}

/// <summary>save, load and garbage collection against a real store in a temp directory.</summary>
public sealed class ImageArchiveTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly MetadataStore _metadata;
    private readonly ImageStore _store;

    public ImageArchiveTests()
    {
        _metadata = new MetadataStore(_dir.Combine("meta", "berth.db"));
        _store = new ImageStore(new ContentStore(_dir.Combine("content")), _metadata, new OverlaySnapshotter(_dir.Combine("overlay2")));
    }

    public void Dispose()
    {
        _store.Dispose();
        _metadata.Dispose();
        _dir.Dispose();
    }

    [Theory]
    [InlineData("./a//b/", "a/b")]
    [InlineData("/abs/file", "abs/file")]
    [InlineData("a/../b", "b")]
    [InlineData("../x", null)]
    [InlineData("a/../../x", null)]
    public void ArchivePathsAreNormalisedAndEscapesRefused(string path, string? expected) =>
        Assert.Equal(expected, ImageArchive.NormalizePath(path));

    private async Task<ImageRecord> CommitAsync(string tag, string content, string label)
    {
        byte[] layer = new LayerBuilder().Dir("etc/").File("etc/hello", content).Gzip();
        byte[] tar = new LayerBuilder().Dir("etc/").File("etc/hello", content).Tar();
        BlobDescriptor blob = await _store.Content.WriteAsync(layer, CancellationToken.None);
        var config = new OciImageConfig
        {
            Created = LayerBuilder.Time,
            Config = new ImageRuntimeConfig { Cmd = ["sh"], Labels = new() { ["l"] = label } },
            RootFs = new OciRootFs { DiffIds = [Digest.Sha256Of(tar).ToString()] },
            History = [new OciHistory { Created = LayerBuilder.Time, CreatedBy = "ADD hello" }],
        };
        var manifest = new OciManifest { Layers = [new OciDescriptor { MediaType = MediaTypes.OciLayerGzip, Digest = blob.Digest.ToString(), Size = blob.Size }] };
        return await _store.CommitAsync(config, manifest, [ImageReference.Parse(tag)], CancellationToken.None);
    }

    private async Task<byte[]> SaveAsync(params string[] tags)
    {
        using var output = new MemoryStream();
        SaveItem[] items = [.. tags.Select(t => new SaveItem(_store.Get(t).Record, [ImageReference.Parse(t)]))];
        await ImageArchive.SaveAsync(_store, items, output, CancellationToken.None);
        return output.ToArray();
    }

    [Fact]
    public async Task SaveDeleteCollectLoadGivesBackTheSameImage()
    {
        ImageRecord image = await CommitAsync("app:v1", "hello", "one");
        byte[] archive = await SaveAsync("app:v1");

        await _store.DeleteAsync(image, CancellationToken.None);
        Assert.True(await _store.CollectGarbageAsync(CancellationToken.None) > 0);
        Assert.Empty(_store.Content.List());
        Assert.Empty(_metadata.ListLayers());

        IReadOnlyList<string> lines = await ImageArchive.LoadAsync(_store, new MemoryStream(archive), CancellationToken.None);

        Assert.Equal(["Loaded image: app:v1"], lines);
        ImageView loaded = _store.Get("app:v1");
        Assert.Equal(image.Id, loaded.Record.Id);
        Assert.Equal("hello", File.ReadAllText(Path.Combine(_store.Snapshots.LayerDirectory(Digest.Parse(loaded.Record.ChainIds[0])), "etc", "hello")));
        // Only what the image references stays: no stray blob of the archive (its manifest.json and index are not blobs).
        Assert.Equal(_store.BlobsOf(loaded.Record).ToHashSet(), _store.Content.List().ToHashSet());
    }

    [Fact]
    public async Task AnOciLayoutWithoutManifestJsonLoadsWithItsAnnotatedName()
    {
        ImageRecord image = await CommitAsync("app:oci", "oci", "oci");
        byte[] archive = await SaveAsync("app:oci");
        await _store.DeleteAsync(image, CancellationToken.None);
        await _store.CollectGarbageAsync(CancellationToken.None);

        byte[] ociOnly = Rewrite(archive, (name, data) => name == "manifest.json" || name == "repositories" ? null : data);
        IReadOnlyList<string> lines = await ImageArchive.LoadAsync(_store, new MemoryStream(ociOnly), CancellationToken.None);

        Assert.Equal(["Loaded image: app:oci"], lines);
        Assert.Equal(image.Id, _store.Get("app:oci").Record.Id);
    }

    [Fact]
    public async Task ACorruptArchiveLeavesNoImageTagOrBlob()
    {
        await CommitAsync("app:keep", "keep", "keep");
        ImageRecord other = await CommitAsync("app:gone", "gone", "gone");
        byte[] archive = await SaveAsync("app:gone");
        await _store.DeleteAsync(other, CancellationToken.None);
        await _store.CollectGarbageAsync(CancellationToken.None);
        HashSet<Digest> before = [.. _store.Content.List()];

        // The config names another diff id than the layer has: refused after the layer blob was written.
        JsonElement entry = JsonDocument.Parse(ReadEntry(archive, "manifest.json")).RootElement[0];
        string config = Encoding.UTF8.GetString(ReadEntry(archive, entry.GetProperty("Config").GetString()!));
        string wrong = config.Replace("\"diff_ids\":[\"sha256:", "\"diff_ids\":[\"sha256:0", StringComparison.Ordinal);
        wrong = wrong.Remove(wrong.IndexOf("sha256:0", StringComparison.Ordinal) + 7 + 64, 1);
        Assert.NotEqual(config, wrong);
        byte[] bad = AddEntry(AddEntry(AddEntry([], "cfg.json", Encoding.UTF8.GetBytes(wrong)), "l.tar", ReadEntry(archive, entry.GetProperty("Layers")[0].GetString()!)),
            "manifest.json", Encoding.UTF8.GetBytes("""[{"Config":"cfg.json","RepoTags":["app:gone"],"Layers":["l.tar"]}]"""));

        EngineException error = await Assert.ThrowsAsync<EngineException>(() => ImageArchive.LoadAsync(_store, new MemoryStream(bad), CancellationToken.None));
        Assert.Contains("but its config expects", error.Message, StringComparison.Ordinal);

        Assert.Null(_store.Find("app:gone"));
        Assert.Single(_store.Snapshot);
        Assert.Equal(before, [.. _store.Content.List()]);
    }

    [Fact]
    public async Task GarbageCollectionKeepsLayersSharedWithRemainingImages()
    {
        ImageRecord a = await CommitAsync("app:a", "same", "a");
        ImageRecord b = await CommitAsync("app:b", "same", "b");
        Assert.NotEqual(a.Id, b.Id);
        Assert.Equal(a.ChainIds, b.ChainIds);

        await _store.DeleteAsync(a, CancellationToken.None);
        await _store.CollectGarbageAsync(CancellationToken.None);

        Assert.True(_store.Snapshots.LayerExists(Digest.Parse(b.ChainIds[0])));
        Assert.Equal(_store.BlobsOf(b).ToHashSet(), _store.Content.List().ToHashSet());
    }

    [Fact]
    public async Task GarbageCollectionSparesBlobsOfALiveLease()
    {
        using BlobLease lease = _store.Lease();
        BlobDescriptor blob = await _store.Content.WriteAsync("pending"u8.ToArray(), CancellationToken.None);
        lease.Add(blob.Digest);

        await _store.CollectGarbageAsync(CancellationToken.None);

        Assert.True(_store.Content.Exists(blob.Digest));
    }

    private static byte[] Rewrite(byte[] archive, Func<string, byte[], byte[]?> change)
    {
        using var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Ustar, leaveOpen: true))
        using (var reader = new TarReader(new MemoryStream(archive)))
        {
            while (reader.GetNextEntry() is { } entry)
            {
                if (entry.EntryType != TarEntryType.RegularFile)
                {
                    writer.WriteEntry(entry);
                    continue;
                }

                using var buffer = new MemoryStream();
                entry.DataStream?.CopyTo(buffer);
                byte[]? data = change(entry.Name, buffer.ToArray());
                if (data is not null)
                {
                    writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, entry.Name) { DataStream = new MemoryStream(data) });
                }
            }
        }

        return output.ToArray();
    }

    private static byte[] ReadEntry(byte[] archive, string name)
    {
        byte[]? found = null;
        Rewrite(archive, (n, data) =>
        {
            if (n == name)
            {
                found = data;
            }

            return data;
        });
        return found ?? throw new InvalidOperationException(name + " not in the archive");
    }

    private static byte[] AddEntry(byte[] archive, string name, byte[] data)
    {
        using var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Ustar, leaveOpen: true))
        {
            writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
            if (archive.Length > 0)
            {
                using var reader = new TarReader(new MemoryStream(archive));
                while (reader.GetNextEntry() is { } entry)
                {
                    writer.WriteEntry(entry);
                }
            }
        }

        return output.ToArray();
    }
}
