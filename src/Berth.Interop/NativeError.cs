using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>A failed system call: the operation, its errno and the kernel's text for it.</summary>
public sealed class NativeException : Exception
{
    public NativeException(string operation, int errno)
        : base($"{operation}: {Marshal.GetPInvokeErrorMessage(errno)}")
    {
        Operation = operation;
        Errno = errno;
    }

    public string Operation { get; }

    public int Errno { get; }
}

/// <summary>The one place where errno becomes an exception, and where EINTR is retried.</summary>
internal static class NativeError
{
    internal const int EPERM = 1;
    internal const int EINTR = 4;
    internal const int EACCES = 13;
    internal const int EEXIST = 17;
    internal const int EINVAL = 22;

    /// <summary>Throws for a -1 result; returns the result otherwise.</summary>
    internal static int Check(int result, string operation)
    {
        if (result == -1)
        {
            throw new NativeException(operation, Marshal.GetLastPInvokeError());
        }

        return result;
    }

    /// <summary>Runs a call again while it fails with EINTR, then checks it.</summary>
    internal static int Retry(Func<int> call, string operation)
    {
        while (true)
        {
            int result = call();
            if (result != -1 || Marshal.GetLastPInvokeError() != EINTR)
            {
                return Check(result, operation);
            }
        }
    }
}
