using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>statx(2) for what the BCL does not report: a file's owner and group (copy-up keeps them).</summary>
public static unsafe partial class FileStatus
{
    private const int AT_FDCWD = -100;
    private const int AT_SYMLINK_NOFOLLOW = 0x100;
    private const uint STATX_UID = 0x8;
    private const uint STATX_GID = 0x10;
    private const uint STATX_TYPE = 0x1;
    private const uint STATX_MODE = 0x2;
    private const int S_IFMT = 0xF000;
    private const int S_IFREG = 0x8000;

    // struct statx: stx_uid at byte 20, stx_gid at byte 24, stx_mode (u16) at 28; the kernel writes 256 bytes.
    private const int UidOffset = 20;
    private const int GidOffset = 24;
    private const int ModeOffset = 28;
    private const int StatxSize = 256;

    /// <summary>The owner, group and whether it is a regular file, of <paramref name="path"/> itself (a symlink is not followed).</summary>
    public static (int Uid, int Gid, bool IsRegularFile) Of(string path)
    {
        byte[] buffer = new byte[StatxSize];
        fixed (byte* pointer = buffer)
        {
            byte* statx = pointer;
            NativeError.Retry(() => SysStatx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MODE | STATX_UID | STATX_GID, statx), $"statx {path}");
            int mode = *(ushort*)(statx + ModeOffset);
            return (*(int*)(statx + UidOffset), *(int*)(statx + GidOffset), (mode & S_IFMT) == S_IFREG);
        }
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SysStatx(int dirfd, string path, int flags, uint mask, byte* buffer);
}
