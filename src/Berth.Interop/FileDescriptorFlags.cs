using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>fcntl(2) on descriptor flags: whether a descriptor is open, and close-on-exec.</summary>
public static partial class FileDescriptorFlags
{
    private const int F_GETFD = 1;
    private const int F_SETFD = 2;
    private const int FD_CLOEXEC = 1;
    private const int EBADF = 9;

    /// <summary>Whether <paramref name="fd"/> is an open descriptor (e.g. one a parent was meant to pass us).</summary>
    public static bool IsOpen(int fd)
    {
        if (SysFcntl(fd, F_GETFD, 0) != -1)
        {
            return true;
        }

        int errno = Marshal.GetLastPInvokeError();
        return errno == EBADF ? false : throw new NativeException($"fcntl({fd}, F_GETFD)", errno);
    }

    /// <summary>
    /// Marks an inherited descriptor close-on-exec, so children we spawn do not keep it open
    /// (a sync pipe held by a grandchild would never report EOF to its reader).
    /// </summary>
    public static void SetCloseOnExec(int fd) =>
        NativeError.Retry(() => SysFcntl(fd, F_SETFD, FD_CLOEXEC), $"fcntl({fd}, F_SETFD)");

    // fcntl is variadic; on the SysV ABIs .NET runs on an int third argument is passed like a fixed one.
    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int SysFcntl(int fd, int command, int argument);
}
