using Berth.Primitives;

namespace Berth.Storage.Snapshots;

/// <summary>How to mount a snapshot; the snapshotter describes, the runtime mounts.</summary>
public sealed record MountDescription(string Type, string Source, IReadOnlyList<string> Options)
{
    /// <summary>The options joined as mount(2) data.</summary>
    public string Data => string.Join(',', Options);
}

/// <summary>
/// overlayfs snapshots. Vocabulary: a <em>layer</em> snapshot is committed, read-only content keyed by its
/// chain id (<c>ROOT/layers/HEX/diff</c>); an <em>active</em> snapshot is a container's (or build step's)
/// writable upper directory over a chain of layers, keyed by the owner's id (<c>ROOT/active/ID/{upper,work}</c>).
/// Lower layers are shared by every snapshot above them and never copied.
/// </summary>
public sealed class OverlaySnapshotter
{
    private readonly string _layers;
    private readonly string _active;
    private readonly Action<string> _syncFileSystem;

    /// <param name="root">The snapshotter's directory.</param>
    /// <param name="syncFileSystem">Makes everything written on the filesystem of a path durable (syncfs(2); tests observe it).</param>
    public OverlaySnapshotter(string root, Action<string>? syncFileSystem = null)
    {
        _syncFileSystem = syncFileSystem ?? Interop.FileSync.FileSystem;
        _layers = Path.Combine(root, "layers");
        _active = Path.Combine(root, "active");
        Directory.CreateDirectory(_layers);
        Directory.CreateDirectory(_active);
    }

    /// <summary>The directory holding a layer's unpacked content.</summary>
    public string LayerDirectory(Digest chainId) => Path.Combine(_layers, chainId.Hex, "diff");

    /// <summary>
    /// A fresh directory to unpack a layer into; <see cref="CommitLayer"/> moves it into place atomically, after
    /// <see cref="SyncStagedLayers"/> has made what was written into it durable.
    /// </summary>
    public string PrepareLayer(Digest chainId)
    {
        string staging = Path.Combine(_layers, chainId.Hex + ".tmp-" + Ids.NewId()[..8]);
        Directory.CreateDirectory(staging);
        return staging;
    }

    /// <summary>
    /// Writes out everything unpacked or adopted into staging directories so far (one syncfs(2) of the layers'
    /// filesystem for any number of them): called before <see cref="CommitLayer"/>, so the metadata that follows a commit
    /// never names a layer whose files a power loss could leave empty or missing (ext4 allocates, and so writes, a new
    /// file's data only seconds later; the directory fsync of the commit orders none of it).
    /// </summary>
    public void SyncStagedLayers() => _syncFileSystem(_layers);

    /// <summary>Moves a staging directory (synced by <see cref="SyncStagedLayers"/>) into place as the layer's content, durably.</summary>
    public void CommitLayer(Digest chainId, string staging)
    {
        string final = Path.Combine(_layers, chainId.Hex);
        bool created = !Directory.Exists(final);
        Directory.CreateDirectory(final);
        string diff = Path.Combine(final, "diff");
        if (Directory.Exists(diff))
        {
            Directory.Delete(staging, recursive: true);
            return;
        }

        Directory.Move(staging, diff);
        Interop.FileSync.Directory(final);
        if (created)
        {
            Interop.FileSync.Directory(_layers); // the layer's own directory entry, new with this commit
        }
    }

    public bool LayerExists(Digest chainId) => Directory.Exists(LayerDirectory(chainId));

    public void RemoveLayer(Digest chainId)
    {
        string dir = Path.Combine(_layers, chainId.Hex);
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Removes staging directories left by a crash while unpacking.</summary>
    public void RemoveIncompleteLayers()
    {
        foreach (string dir in Directory.EnumerateDirectories(_layers, "*.tmp-*"))
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Creates the writable part of a snapshot over <paramref name="lowerChain"/> (top layer first).</summary>
    public MountDescription Prepare(string key, IReadOnlyList<Digest> lowerChain)
    {
        string dir = Path.Combine(_active, key);
        Directory.CreateDirectory(Path.Combine(dir, "upper"));
        Directory.CreateDirectory(Path.Combine(dir, "work"));
        return Mounts(key, lowerChain);
    }

    /// <summary>The mount of an existing active snapshot.</summary>
    /// <param name="disposable">
    /// The snapshot's content is thrown away once it is unmounted (an auto-remove container's): mount it
    /// <c>volatile</c> (Linux 5.10+), so that its unmount does not sync the whole file system under the upper
    /// directory, which costs tens of milliseconds on a busy disk at the end of every <c>run --rm</c>. The price,
    /// fsync inside the container not reaching the disk, buys nothing for a layer that cannot outlive the container.
    /// </param>
    public MountDescription Mounts(string key, IReadOnlyList<Digest> lowerChain, bool disposable = false)
    {
        string dir = Path.Combine(_active, key);
        if (lowerChain.Count == 0)
        {
            // An image with no layers (FROM scratch): the upper directory alone, bind mounted.
            return new MountDescription("bind", Path.Combine(dir, "upper"), ["rbind", "rw"]);
        }

        string lower = string.Join(':', lowerChain.Select(LayerDirectory));
        return new MountDescription("overlay", "overlay",
        [
            $"lowerdir={lower}",
            $"upperdir={Path.Combine(dir, "upper")}",
            $"workdir={Path.Combine(dir, "work")}",
            "index=off",
            .. (disposable ? (string[])[Volatile] : []),
        ]);
    }

    /// <summary>The overlay option of a <c>disposable</c> mount; a kernel before 5.10 refuses it (EINVAL).</summary>
    public const string Volatile = "volatile";

    /// <summary>
    /// Lets a snapshot once mounted <c>volatile</c> be mounted again. Such a mount leaves
    /// <c>work/work/incompat/volatile</c> behind, and the kernel refuses every later mount while it is there, because after
    /// a crash of the host the upper directory may be incomplete. An auto-remove container found after a crash is removed,
    /// not mounted again; one is mounted again only in rare cases (its removal failed, or berthd stopped during its
    /// start), and its upper directory then holds what the file system under it kept, as any other container's does.
    /// </summary>
    public void AllowRemount(string key)
    {
        string marker = Path.Combine(_active, key, "work", "work", "incompat", Volatile);
        if (Directory.Exists(marker))
        {
            Directory.Delete(marker, recursive: true);
        }
    }

    public string UpperDirectory(string key) => Path.Combine(_active, key, "upper");

    public void Remove(string key)
    {
        string dir = Path.Combine(_active, key);
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private const string SetAsidePrefix = ".removed-";

    /// <summary>
    /// Removes an active snapshot from view at once, without deleting it: one rename to <c>active/.removed-KEY</c>, which
    /// <see cref="ActiveKeys"/> does not list. Returns that directory for the caller to delete when it suits (null when
    /// there was no snapshot); what a crash leaves behind goes with <see cref="RemoveSetAside"/>.
    /// </summary>
    public string? SetAside(string key)
    {
        string dir = Path.Combine(_active, key);
        string aside = Path.Combine(_active, SetAsidePrefix + key);
        try
        {
            Directory.Move(dir, aside);
            return aside;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Deletes every snapshot set aside and not deleted since (at start-up, before anything sets one aside).</summary>
    public void RemoveSetAside()
    {
        foreach (string dir in Directory.EnumerateDirectories(_active, SetAsidePrefix + "*"))
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    public IEnumerable<string> ActiveKeys() =>
        Directory.EnumerateDirectories(_active).Select(Path.GetFileName).Where(k => !k!.StartsWith(SetAsidePrefix, StringComparison.Ordinal))!;
}
