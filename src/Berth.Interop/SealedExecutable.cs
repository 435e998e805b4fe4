using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Berth.Interop;

/// <summary>
/// A copy of an executable in a sealed memfd (memfd_create(2), F_ADD_SEALS): no write, shrink or grow, and no way to
/// lift the seals. Run through <c>/proc/self/fd/N</c>, the process's /proc/PID/exe is that copy, not the file on the
/// host, so whoever can open the exe (CVE-2019-5736) cannot change the host's binary through it.
/// </summary>
public static partial class SealedExecutable
{
    private const uint MFD_CLOEXEC = 0x0001;
    private const uint MFD_ALLOW_SEALING = 0x0002;
    private const uint MFD_EXEC = 0x0010;
    private const int F_ADD_SEALS = 1033;
    private const int F_SEAL_SEAL = 0x0001;
    private const int F_SEAL_SHRINK = 0x0002;
    private const int F_SEAL_GROW = 0x0004;
    private const int F_SEAL_WRITE = 0x0008;

    /// <summary>
    /// Copies <paramref name="path"/> into a new close-on-exec memfd named <paramref name="name"/> and seals it. The
    /// caller runs it as <c>/proc/self/fd/N</c> (the kernel resolves that path before it closes close-on-exec
    /// descriptors, and a static ELF needs no path to itself) and may dispose of it once the child has exec'd: the
    /// running process keeps the copy alive, and it is gone with it.
    /// </summary>
    public static SafeFileHandle Create(string path, string name)
    {
        using SafeFileHandle source = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        long length = RandomAccess.GetLength(source);
        // MFD_EXEC says the copy is meant to run (vm.memfd_noexec, Linux 6.3+); older kernels refuse the flag.
        int fd = SysMemfdCreate(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
        if (fd == -1 && Marshal.GetLastPInvokeError() == NativeError.EINVAL)
        {
            fd = SysMemfdCreate(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        }

        var copy = new SafeFileHandle(NativeError.Check(fd, "memfd_create"), ownsHandle: true);
        try
        {
            int from = (int)source.DangerousGetHandle();
            for (long left = length; left > 0;)
            {
                nint copied = SysSendFile(fd, from, 0, (nuint)left);
                if (copied == -1 && Marshal.GetLastPInvokeError() == NativeError.EINTR)
                {
                    continue;
                }

                if (copied <= 0)
                {
                    throw copied == 0 ? new IOException($"{path} shrank while it was copied") : new NativeException("sendfile", Marshal.GetLastPInvokeError());
                }

                left -= copied;
            }

            NativeError.Check(SysFcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE), "fcntl(F_ADD_SEALS)");
            return copy;
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Whether this process may run a memfd (what <see cref="Create"/> makes): false only when vm.memfd_noexec is 2 in
    /// its pid namespace, which refuses every executable memfd (Linux 6.3+). A kernel that predates the sysctl refuses
    /// the MFD_EXEC flag instead, and runs any memfd.
    /// </summary>
    public static bool CanRunCopies()
    {
        int fd = SysMemfdCreate("berth-probe", MFD_CLOEXEC | MFD_EXEC);
        if (fd >= 0)
        {
            new SafeFileHandle(fd, ownsHandle: true).Dispose();
            return true;
        }

        return Marshal.GetLastPInvokeError() is not (NativeError.EACCES or NativeError.EPERM);
    }

    [LibraryImport("libc", EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SysMemfdCreate(string name, uint flags);

    [LibraryImport("libc", EntryPoint = "sendfile", SetLastError = true)]
    private static partial nint SysSendFile(int outFd, int inFd, nint offset, nuint count);

    // fcntl is variadic; on the SysV ABIs .NET runs on an int third argument is passed like a fixed one.
    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int SysFcntl(int fd, int command, int argument);
}
