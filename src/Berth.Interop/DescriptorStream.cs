using Microsoft.Win32.SafeHandles;

namespace Berth.Interop;

/// <summary>Wraps a raw descriptor (a pipe end from <see cref="ProcessControl.CreatePipe"/>) as a stream that owns it.</summary>
public static class DescriptorStream
{
    /// <summary>An unbuffered stream over <paramref name="fd"/>; disposing it closes the descriptor.</summary>
    /// <remarks>
    /// Reads and writes are plain blocking read(2)/write(2): a pipe cannot use the runtime's epoll
    /// machinery, so callers that must not block a pool thread read on a thread of their own.
    /// </remarks>
    public static FileStream Open(int fd, FileAccess access) =>
        new(new SafeFileHandle(fd, ownsHandle: true), access, bufferSize: 0);
}
