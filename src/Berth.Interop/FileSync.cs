using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>
/// fsync(2) of a directory, so a rename inside it survives a crash (files use FileStream.Flush(true)); syncfs(2) of a
/// whole filesystem, so the many files just written into a tree are on disk before anything records that tree.
/// </summary>
public static partial class FileSync
{
    private const int O_RDONLY = 0;
    private const int O_DIRECTORY = 0x10000;
    private const int O_CLOEXEC = 0x80000;

    public static void Directory(string path)
    {
        int fd = NativeError.Retry(() => SysOpen(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), $"open {path}");
        try
        {
            NativeError.Retry(() => SysFsync(fd), $"fsync {path}");
        }
        finally
        {
            _ = SysClose(fd);
        }
    }

    /// <summary>
    /// Writes out every dirty page, inode and journal entry of the filesystem holding <paramref name="path"/> and waits
    /// for it: one call instead of an fsync per file of an unpacked layer (thousands of journal commits for a distro's
    /// base layer). It also writes whatever else is dirty on that filesystem, which is its cost on a busy host.
    /// </summary>
    public static void FileSystem(string path)
    {
        int fd = NativeError.Retry(() => SysOpen(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), $"open {path}");
        try
        {
            NativeError.Retry(() => SysSyncfs(fd), $"syncfs {path}");
        }
        finally
        {
            _ = SysClose(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SysOpen(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int SysFsync(int fd);

    [LibraryImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    private static partial int SysSyncfs(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int SysClose(int fd);
}
