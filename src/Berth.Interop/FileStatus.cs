using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>What statx(2) says of a path itself (not following a symlink): the BCL has no inode, link count or st_rdev.</summary>
public readonly partial record struct FileStatus(uint Type, uint Permissions, uint Uid, uint Gid, ulong Inode, uint Links, uint DeviceMajor, uint DeviceMinor, DateTimeOffset Modified)
{
    public const uint S_IFMT = 0xF000;
    public const uint S_IFIFO = 0x1000;
    public const uint S_IFCHR = 0x2000;
    public const uint S_IFDIR = 0x4000;
    public const uint S_IFBLK = 0x6000;
    public const uint S_IFREG = 0x8000;
    public const uint S_IFLNK = 0xA000;
    public const uint S_IFSOCK = 0xC000;

    private const int AT_FDCWD = -100;
    private const int AT_SYMLINK_NOFOLLOW = 0x100;
    private const int AT_EMPTY_PATH = 0x1000;
    private const uint STATX_BASIC_STATS = 0x7ff;

    /// <summary>The status of <paramref name="path"/>, or null when it does not exist.</summary>
    public static FileStatus? TryRead(string path) => Read(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW);

    /// <summary>
    /// The status of the file open as <paramref name="handle"/> (statx with AT_EMPTY_PATH), whatever name it has now:
    /// a log reader compares its inode with what the path names to see that the file was rotated away.
    /// </summary>
    public static FileStatus Of(Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return Read((int)handle.DangerousGetHandle(), "", AT_EMPTY_PATH)
                ?? throw new NativeException("statx of an open file", Marshal.GetLastPInvokeError());
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private static FileStatus? Read(int dirfd, string path, int flags)
    {
        Span<byte> buffer = stackalloc byte[256];
        int result;
        do
        {
            result = Statx(dirfd, path, flags, STATX_BASIC_STATS, ref MemoryMarshal.GetReference(buffer));
        }
        while (result == -1 && Marshal.GetLastPInvokeError() == NativeError.EINTR);

        if (result == -1)
        {
            return null;
        }

        // struct statx: nlink at 16, uid 20, gid 24, mode (u16) 28, ino 32, mtime {i64 sec, u32 nsec} at 112,
        // rdev major/minor at 128/132.
        uint mode = BitConverter.ToUInt16(buffer[28..]);
        long seconds = BitConverter.ToInt64(buffer[112..]);
        uint nanoseconds = BitConverter.ToUInt32(buffer[120..]);
        return new FileStatus(
            mode & S_IFMT,
            mode & 0xFFF,
            BitConverter.ToUInt32(buffer[20..]),
            BitConverter.ToUInt32(buffer[24..]),
            BitConverter.ToUInt64(buffer[32..]),
            BitConverter.ToUInt32(buffer[16..]),
            BitConverter.ToUInt32(buffer[128..]),
            BitConverter.ToUInt32(buffer[132..]),
            DateTimeOffset.FromUnixTimeSeconds(seconds).AddTicks(nanoseconds / 100));
    }

    /// <summary>The owner, group and whether it is a regular file, of <paramref name="path"/> itself; throws when it cannot be read.</summary>
    public static (int Uid, int Gid, bool IsRegularFile) Of(string path)
    {
        FileStatus status = TryRead(path) ?? throw new NativeException($"statx {path}", Marshal.GetLastPInvokeError());
        return ((int)status.Uid, (int)status.Gid, status.Type == S_IFREG);
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, ref byte buffer);
}

/// <summary>A character or block device node.</summary>
public readonly record struct DeviceNode(char Type, long Major, long Minor, uint Mode, uint Uid, uint Gid)
{
    /// <summary>The device at <paramref name="path"/> (not following a symlink), or null when it is not a device node.</summary>
    public static DeviceNode? TryRead(string path)
    {
        if (FileStatus.TryRead(path) is not { } status)
        {
            return null;
        }

        char type = status.Type switch { FileStatus.S_IFCHR => 'c', FileStatus.S_IFBLK => 'b', _ => '\0' };
        return type == '\0' ? null : new DeviceNode(type, status.DeviceMajor, status.DeviceMinor, status.Permissions, status.Uid, status.Gid);
    }
}
