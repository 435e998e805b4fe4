using Berth.Interop;

namespace Berth.Images;

/// <summary>
/// Clamps a layer tree's modification times to a limit (SOURCE_DATE_EPOCH), as BuildKit does for reproducible
/// builds: a file a build step made now gets the limit, an older one (a context file's own time) keeps its time. Done
/// to the tree itself, before it is tarred, so the layer's snapshot and its blob say the same.
/// </summary>
public static class LayerTimes
{
    /// <summary>Sets every entry under <paramref name="root"/> (not the root itself) newer than <paramref name="limit"/> to it; symlinks themselves, never their targets.</summary>
    public static void Clamp(string root, DateTimeOffset limit)
    {
        ArgumentNullException.ThrowIfNull(root);
        foreach (string path in Directory.EnumerateFileSystemEntries(root))
        {
            if (FileStatus.TryRead(path) is not { } status)
            {
                continue;
            }

            if (status.Type == FileStatus.S_IFDIR)
            {
                Clamp(path, limit); // children first: changing their times leaves the directory's alone
            }

            if (status.Modified > limit)
            {
                FileTimes.SetModifiedNoFollow(path, limit);
            }
        }
    }
}
