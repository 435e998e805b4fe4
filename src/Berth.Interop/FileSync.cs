using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>fsync(2) of a directory, so a rename inside it survives a crash (files use FileStream.Flush(true)).</summary>
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

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SysOpen(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int SysFsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int SysClose(int fd);
}
