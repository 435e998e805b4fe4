using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>
/// What a PTY needs that the BCL lacks: receiving the master descriptor over a unix socket (recvmsg with
/// SCM_RIGHTS, as <c>runc --console-socket</c> sends it), setting its window size (ioctl TIOCSWINSZ), and dup.
/// </summary>
public static unsafe partial class Terminal
{
    private const int SOL_SOCKET = 1;
    private const int SCM_RIGHTS = 1;
    private const int MSG_CMSG_CLOEXEC = 0x40000000;
    private const ulong TIOCSWINSZ = 0x5414;
    private const int F_DUPFD_CLOEXEC = 1030;

    /// <summary>
    /// Receives one message on the connected unix socket <paramref name="socketFd"/> and returns the descriptor it
    /// carries (close-on-exec). Throws when the message carries none.
    /// </summary>
    public static int ReceiveDescriptor(int socketFd)
    {
        const int DataSize = 4096;
        const int ControlSize = 64;
        byte* data = stackalloc byte[DataSize];
        byte* control = stackalloc byte[ControlSize];
        new Span<byte>(control, ControlSize).Clear();
        var iov = new IoVec { Base = data, Length = DataSize };
        var message = new MessageHeader { Iov = &iov, IovLength = 1, Control = control, ControlLength = ControlSize };
        while (true)
        {
            nint received = SysRecvMsg(socketFd, &message, MSG_CMSG_CLOEXEC);
            if (received >= 0)
            {
                break;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno != NativeError.EINTR)
            {
                throw new NativeException("recvmsg", errno);
            }
        }

        // The first control message: struct cmsghdr { size_t len; int level; int type; } then the descriptors.
        if (message.ControlLength >= (nuint)(sizeof(nuint) + 8 + sizeof(int)))
        {
            var header = (ControlHeader*)control;
            if (header->Level == SOL_SOCKET && header->Type == SCM_RIGHTS)
            {
                return *(int*)(control + sizeof(ControlHeader));
            }
        }

        throw new InvalidDataException("the console socket's message carried no descriptor");
    }

    /// <summary>Sets the window size of the terminal <paramref name="fd"/> (its processes get SIGWINCH).</summary>
    public static void Resize(int fd, ushort rows, ushort columns)
    {
        WindowSize* size = (WindowSize*)NativeMemory.AllocZeroed((nuint)sizeof(WindowSize));
        try
        {
            size->Rows = rows;
            size->Columns = columns;
            NativeError.Retry(() => SysIoctl(fd, TIOCSWINSZ, size), "ioctl(TIOCSWINSZ)");
        }
        finally
        {
            NativeMemory.Free(size);
        }
    }

    /// <summary>A new close-on-exec descriptor for the same open file (a stream that owns it may close it alone).</summary>
    public static int Duplicate(int fd) => NativeError.Retry(() => SysFcntl(fd, F_DUPFD_CLOEXEC, 0), $"fcntl({fd}, F_DUPFD_CLOEXEC)");

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MessageHeader
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct ControlHeader
    {
        public nuint Length;
        public int Level;
        public int Type;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct WindowSize
    {
        public ushort Rows;
        public ushort Columns;
        public ushort XPixels;
        public ushort YPixels;
    }

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    private static partial nint SysRecvMsg(int fd, MessageHeader* message, int flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int SysIoctl(int fd, ulong request, WindowSize* size);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int SysFcntl(int fd, int command, int argument);
}
