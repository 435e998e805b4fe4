using Berth.Primitives;

namespace Berth.Registry;

/// <summary>What garbage collection needs from the layout, and the root's lock that keeps it apart from a server.</summary>
public sealed partial class RegistryStorage
{
    private const string LockFileName = ".lock";

    /// <summary>
    /// The lock a running server holds: shared (several servers may share a root). .NET takes flock(LOCK_SH) for a
    /// read-only open that shares, and flock(LOCK_EX) for FileShare.None; both non-blocking, an IOException when held.
    /// </summary>
    public static FileStream LockShared(string root)
    {
        Directory.CreateDirectory(root);
        string path = Path.Combine(root, LockFileName);
        if (!File.Exists(path))
        {
            File.WriteAllBytes(path, []);
        }

        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        }
        catch (IOException e)
        {
            throw new IOException($"registry root {root} is locked: a garbage collection is running on it", e);
        }
    }

    /// <summary>The lock garbage collection holds: exclusive, refused while any server has the root.</summary>
    public static FileStream LockExclusive(string root)
    {
        Directory.CreateDirectory(root);
        try
        {
            return new FileStream(Path.Combine(root, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new IOException($"registry root {root} is in use by a running berth-registry: stop it before garbage-collect (as distribution, collection runs on a registry nobody writes to)", e);
        }
    }

    /// <summary>Every manifest a repository has (by digest), tagged or not.</summary>
    public IReadOnlyList<Digest> Revisions(string repository)
    {
        string revisions = Path.Combine(_repositories, repository, "revisions");
        return Directory.Exists(revisions)
            ? [.. Directory.EnumerateFiles(revisions).Select(Path.GetFileName).Where(n => n is { Length: 64 } && !n.StartsWith('.')).Select(n => Digest.Parse("sha256:" + n))]
            : [];
    }

    /// <summary>The manifests the repository's tags point at.</summary>
    public IReadOnlyList<Digest> TaggedManifests(string repository)
    {
        string tags = Path.Combine(_repositories, repository, "tags");
        return Directory.Exists(tags)
            ? [.. Directory.EnumerateFiles(tags).Where(f => !Path.GetFileName(f).StartsWith('.')).Select(f => Digest.TryParse(File.ReadAllText(f).Trim(), out Digest d) ? d : (Digest?)null).OfType<Digest>().Distinct()]
            : [];
    }

    public IEnumerable<Digest> AllBlobs() => _content.List();

    public void DeleteBlob(Digest digest) => _content.Delete(digest);
}
