using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>Process control the BCL lacks: subreaper, waitpid on any child, kill, pipes without CLOEXEC surprises.</summary>
public static partial class ProcessControl
{
    private const int PR_SET_CHILD_SUBREAPER = 36;
    private const int WNOHANG = 1;
    private const int O_CLOEXEC = 0x80000;
    private const int ECHILD = 10;

    /// <summary>Makes this process adopt orphaned descendants (the container's init after runc exits).</summary>
    public static void BecomeSubreaper() => NativeError.Check(SysPrctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(PR_SET_CHILD_SUBREAPER)");

    /// <summary>
    /// Gives <paramref name="signal"/> its default disposition back when this process started with it ignored
    /// (<c>nohup</c> ignores SIGHUP for what it starts, a non-interactive shell SIGINT for its background jobs), so
    /// that a handler registered afterwards gets it: .NET leaves a signal that was ignored at registration ignored,
    /// where Go's signal.Notify (dockerd) takes SIGHUP and SIGINT back. Returns whether it was ignored.
    /// </summary>
    public static unsafe bool StopIgnoring(int signal)
    {
        SignalAction current = default;
        NativeError.Check(SysSigAction(signal, null, &current), "sigaction");
        if (current.Handler != SIG_IGN)
        {
            return false;
        }

        SignalAction standard = default; // SIG_DFL, no flags, empty mask
        NativeError.Check(SysSigAction(signal, &standard, null), "sigaction");
        return true;
    }

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false when the process is gone.</summary>
    public static bool Kill(int pid, int signal)
    {
        if (SysKill(pid, signal) == 0)
        {
            return true;
        }

        int errno = Marshal.GetLastPInvokeError();
        if (errno == 3)
        {
            return false; // ESRCH
        }

        throw new NativeException($"kill {pid}", errno);
    }

    /// <summary>Waits for a child (any child when <paramref name="pid"/> is -1).</summary>
    /// <returns>The reaped pid and its status, or pid 0 when nothing is ready (with <paramref name="block"/> false), or -1 when there are no children.</returns>
    public static (int Pid, WaitStatus Status) Wait(int pid, bool block)
    {
        while (true)
        {
            int status = 0;
            int result = SysWaitPid(pid, ref status, block ? 0 : WNOHANG);
            if (result >= 0)
            {
                return (result, new WaitStatus(status));
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno == NativeError.EINTR)
            {
                continue;
            }

            if (errno == ECHILD)
            {
                return (-1, default);
            }

            throw new NativeException("waitpid", errno);
        }
    }

    /// <summary>Creates a pipe whose ends close on exec; spawn actions dup them onto a child's fds.</summary>
    public static (int Read, int Write) CreatePipe()
    {
        Span<int> fds = stackalloc int[2];
        unsafe
        {
            fixed (int* p = fds)
            {
                NativeError.Check(SysPipe2(p, O_CLOEXEC), "pipe2");
            }
        }

        return (fds[0], fds[1]);
    }

    /// <summary>Closes a raw descriptor.</summary>
    public static void Close(int fd)
    {
        if (fd >= 0)
        {
            _ = SysClose(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static partial int SysPrctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    private static partial int SysWaitPid(int pid, ref int status, int options);

    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    private static unsafe partial int SysPipe2(int* fds, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int SysClose(int fd);

    [LibraryImport("libc", EntryPoint = "sigaction", SetLastError = true)]
    private static unsafe partial int SysSigAction(int signal, SignalAction* action, SignalAction* previous);

    private const nint SIG_IGN = 1;

    /// <summary>glibc's struct sigaction on x86_64: handler, a 1024-bit mask, flags, restorer.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct SignalAction
    {
        public nint Handler;
        public fixed ulong Mask[16];
        public int Flags;
        public nint Restorer;
    }
}

/// <summary>A decoded wait(2) status.</summary>
public readonly record struct WaitStatus(int Raw)
{
    public bool Exited => (Raw & 0x7f) == 0;

    public int ExitCode => (Raw >> 8) & 0xff;

    public int TermSignal => Raw & 0x7f;

    /// <summary>The shell convention Docker follows: the exit code, or 128 + the signal that killed it.</summary>
    public int ContainerExitCode => Exited ? ExitCode : 128 + TermSignal;
}
