using Berth.Interop;

namespace Berth.Engine.Volumes;

/// <summary>
/// Fills a new, empty volume with what the image has at the mount path (Docker's copy-up): directories, files and
/// symlinks with their owners and modes; symlinks are copied as links, never followed; device nodes and fifos are
/// skipped.
/// </summary>
internal static class CopyUp
{
    /// <summary>Whether <paramref name="volumePath"/> has no entries yet (only then is it filled).</summary>
    public static bool IsEmpty(string volumePath) =>
        !Directory.Exists(volumePath) || !Directory.EnumerateFileSystemEntries(volumePath).Any();

    /// <summary>Copies the tree under <paramref name="source"/> (a directory inside the container's rootfs) into <paramref name="target"/>.</summary>
    public static void Copy(string source, string target)
    {
        var sourceInfo = new DirectoryInfo(source);
        if (!sourceInfo.Exists || sourceInfo.LinkTarget is not null)
        {
            return;
        }

        CopyAttributes(source, target, isLink: false);
        CopyChildren(sourceInfo, target);
    }

    private static void CopyChildren(DirectoryInfo source, string target)
    {
        foreach (FileSystemInfo entry in source.EnumerateFileSystemInfos("*", new EnumerationOptions { AttributesToSkip = 0, RecurseSubdirectories = false }))
        {
            string destination = Path.Combine(target, entry.Name);
            if (entry.LinkTarget is { } link)
            {
                File.CreateSymbolicLink(destination, link);
                CopyAttributes(entry.FullName, destination, isLink: true);
            }
            else if (entry is DirectoryInfo directory)
            {
                Directory.CreateDirectory(destination);
                CopyAttributes(entry.FullName, destination, isLink: false);
                CopyChildren(directory, destination);
            }
            else if (entry is FileInfo file && FileStatus.Of(entry.FullName).IsRegularFile)
            {
                file.CopyTo(destination, overwrite: true);
                CopyAttributes(entry.FullName, destination, isLink: false);
            }
        }
    }

    /// <summary>Owner first, then the mode (chown clears set-id bits).</summary>
    private static void CopyAttributes(string from, string to, bool isLink)
    {
        (int uid, int gid, _) = FileStatus.Of(from);
        FileOwnership.ChangeLink(to, uid, gid);
        if (!isLink)
        {
            File.SetUnixFileMode(to, File.GetUnixFileMode(from));
        }
    }
}
