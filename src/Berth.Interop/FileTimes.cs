using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>utimensat(2) on a path itself: the BCL sets times through symlinks only, never a symlink's own.</summary>
public static partial class FileTimes
{
    private const int AT_FDCWD = -100;
    private const int AT_SYMLINK_NOFOLLOW = 0x100;
    private const long UTIME_OMIT = (1L << 30) - 2;

    /// <summary>Sets the modification time of <paramref name="path"/> itself (a symlink's own), leaving its access time.</summary>
    public static void SetModifiedNoFollow(string path, DateTimeOffset modified)
    {
        long ticks = modified.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        long seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long remainder);
        if (remainder < 0)
        {
            seconds--;
            remainder += TimeSpan.TicksPerSecond;
        }

        Span<Timespec> times = [new Timespec(0, UTIME_OMIT), new Timespec(seconds, remainder * 100)];
        unsafe
        {
            fixed (Timespec* pointer = times)
            {
                Timespec* values = pointer;
                NativeError.Retry(() => SysUtimensat(AT_FDCWD, path, values, AT_SYMLINK_NOFOLLOW), $"utimensat {path}");
            }
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private readonly record struct Timespec(long Seconds, long Nanoseconds);

    [LibraryImport("libc", EntryPoint = "utimensat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int SysUtimensat(int directory, string path, Timespec* times, int flags);
}
