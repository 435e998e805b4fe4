using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>A character or block device node as statx(2) describes it (the BCL has no st_rdev).</summary>
public readonly partial record struct DeviceNode(char Type, long Major, long Minor, uint Mode, uint Uid, uint Gid)
{
    private const int AT_FDCWD = -100;
    private const int AT_SYMLINK_NOFOLLOW = 0x100;
    private const uint STATX_BASIC_STATS = 0x7ff;
    private const uint S_IFMT = 0xF000;
    private const uint S_IFCHR = 0x2000;
    private const uint S_IFBLK = 0x6000;

    /// <summary>The device at <paramref name="path"/> (not following a symlink), or null when it is not a device node.</summary>
    public static DeviceNode? TryRead(string path)
    {
        Span<byte> buffer = stackalloc byte[256];
        int result;
        do
        {
            result = Statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, ref MemoryMarshal.GetReference(buffer));
        }
        while (result == -1 && Marshal.GetLastPInvokeError() == NativeError.EINTR);

        if (result == -1)
        {
            return null;
        }

        // struct statx: uid at 20, gid at 24, mode (u16) at 28, rdev major/minor at 128/132.
        uint mode = BitConverter.ToUInt16(buffer[28..]);
        char type = (mode & S_IFMT) switch { S_IFCHR => 'c', S_IFBLK => 'b', _ => '\0' };
        if (type == '\0')
        {
            return null;
        }

        return new DeviceNode(type, BitConverter.ToUInt32(buffer[128..]), BitConverter.ToUInt32(buffer[132..]), mode & 0xFFF, BitConverter.ToUInt32(buffer[20..]), BitConverter.ToUInt32(buffer[24..]));
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, ref byte buffer);
}
