using System.Text;
using Berth.Images;
using Berth.Interop;
using Berth.Primitives;
using Berth.Storage.Content;
using Berth.Storage.Metadata;
using Berth.Storage.Snapshots;

namespace Berth.UnitTests;

/// <summary>
/// A layer's files are made durable (the snapshotter's filesystem sync) while they are complete in their staging
/// directory and before anything records the layer: what the sync sees is checked, since a power loss cannot be.
/// </summary>
public sealed class LayerDurabilityTests : IDisposable
{
    private static readonly string Content = new('x', 3 << 20);
    private readonly TempDirectory _dir = new();
    private readonly MetadataStore _metadata;
    private readonly ImageStore _store;
    private readonly List<string> _seen = [];

    public LayerDurabilityTests()
    {
        _metadata = new MetadataStore(_dir.Combine("meta", "berth.db"));
        _store = new ImageStore(new ContentStore(_dir.Combine("content")), _metadata, new OverlaySnapshotter(_dir.Combine("overlay2"), ObserveSync));
    }

    public void Dispose()
    {
        _store.Dispose();
        _metadata.Dispose();
        _dir.Dispose();
    }

    /// <summary>At each sync: how many layers are recorded, and which staged or committed files hold the whole content.</summary>
    private void ObserveSync(string path)
    {
        string layers = _dir.Combine("overlay2", "layers");
        Assert.Equal(layers, path);
        FileSync.FileSystem(path); // the real call too: it must work on the layers' directory
        IEnumerable<string> complete = Directory.EnumerateFiles(_dir.Path, "hello", SearchOption.AllDirectories)
            .Where(f => File.ReadAllText(f) == Content)
            .Select(f => Path.GetRelativePath(_dir.Path, f).Split('/')[0] + (f.Contains(".tmp-", StringComparison.Ordinal) ? ":staged" : f.EndsWith("/diff/etc/hello", StringComparison.Ordinal) ? ":committed" : ":other"));
        _seen.Add($"{_metadata.ListLayers().Count} recorded; " + string.Join(",", complete));
    }

    [Fact]
    public async Task ACommittedLayerIsSyncedWhileStagedAndBeforeItIsRecorded()
    {
        byte[] layer = new LayerBuilder().Dir("etc/").File("etc/hello", Content).Gzip();
        byte[] tar = new LayerBuilder().Dir("etc/").File("etc/hello", Content).Tar();
        BlobDescriptor blob = await _store.Content.WriteAsync(layer, CancellationToken.None);
        var config = new OciImageConfig { RootFs = new OciRootFs { DiffIds = [Digest.Sha256Of(tar).ToString()] } };
        var manifest = new OciManifest { Layers = [new OciDescriptor { MediaType = MediaTypes.OciLayerGzip, Digest = blob.Digest.ToString(), Size = blob.Size }] };

        ImageRecord image = await _store.CommitAsync(config, manifest, [ImageReference.Parse("durable:v1")], CancellationToken.None);

        Assert.Equal(["0 recorded; overlay2:staged"], _seen);
        Assert.Single(_metadata.ListLayers());
        Assert.Equal(Content, File.ReadAllText(Path.Combine(_store.Snapshots.LayerDirectory(Digest.Parse(image.ChainIds[0])), "etc", "hello")));
        Assert.Empty(Directory.EnumerateDirectories(_dir.Combine("overlay2", "layers"), "*.tmp-*"));
    }

    [Fact]
    public async Task AnAdoptedDirectoryIsSyncedBeforeItIsRecorded()
    {
        string step = _dir.Combine("overlay2", "step-upper");
        Directory.CreateDirectory(Path.Combine(step, "etc"));
        await File.WriteAllTextAsync(Path.Combine(step, "etc", "hello"), Content, Encoding.UTF8);
        Digest diffId = Digest.Sha256Of(Encoding.UTF8.GetBytes("the step's layer tar"));

        await _store.AdoptLayerAsync(null, diffId, step, CancellationToken.None);

        Assert.Equal(["0 recorded; overlay2:other"], _seen);
        Assert.Single(_metadata.ListLayers());
        Assert.Equal(Content, File.ReadAllText(Path.Combine(_store.Snapshots.LayerDirectory(diffId), "etc", "hello")));
        Assert.False(Directory.Exists(step));
    }

    [Fact]
    public void SyncingAMissingPathFailsWithItsName()
    {
        NativeException error = Assert.Throws<NativeException>(() => FileSync.FileSystem(_dir.Combine("missing")));
        Assert.Contains("missing", error.Message, StringComparison.Ordinal);
    }
}
