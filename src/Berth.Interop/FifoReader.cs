using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Berth.Interop;

/// <summary>What waiting on the read end of a fifo saw.</summary>
public enum FifoWait
{
    /// <summary>Bytes are there to read.</summary>
    Readable,

    /// <summary>A writer came and went without writing.</summary>
    HungUp,

    /// <summary>Nothing happened within the time given (perhaps no writer has opened it yet).</summary>
    TimedOut,
}

/// <summary>
/// The read end of a fifo opened without waiting for a writer (<c>O_NONBLOCK</c>), and poll(2) on it: the BCL opens
/// fifos blocking, which would park a thread until a writer that may never come.
/// </summary>
public static partial class FifoReader
{
    private const int O_RDONLY = 0;
    private const int O_NONBLOCK = 0x800;
    private const int O_CLOEXEC = 0x80000;
    private const short POLLIN = 0x1;
    private const short POLLHUP = 0x10;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    public static SafeFileHandle Open(string path) =>
        new(NativeError.Retry(() => SysOpen(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), $"open {path}"), ownsHandle: true);

    /// <summary>Waits up to <paramref name="timeoutMilliseconds"/> for bytes or a hang-up on <paramref name="fifo"/>.</summary>
    public static FifoWait Wait(SafeFileHandle fifo, int timeoutMilliseconds)
    {
        var poll = new PollFd { Fd = (int)fifo.DangerousGetHandle(), Events = POLLIN };
        int ready = NativeError.Retry(() => SysPoll(ref poll, 1, timeoutMilliseconds), "poll");
        return ready == 0 ? FifoWait.TimedOut
            : (poll.Revents & POLLIN) != 0 ? FifoWait.Readable
            : (poll.Revents & POLLHUP) != 0 ? FifoWait.HungUp
            : FifoWait.TimedOut;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SysOpen(string path, int flags);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int SysPoll(ref PollFd fds, nuint count, int timeout);
}
