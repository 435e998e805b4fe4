using System.Runtime.InteropServices;
using System.Text;

namespace Berth.Interop;

/// <summary>Extended attributes of a path itself (l*xattr: a symlink's own, never its target's).</summary>
public static partial class ExtendedAttributes
{
    private const int ENODATA = 61;
    private const int ERANGE = 34;

    public static void Set(string path, string name, ReadOnlySpan<byte> value)
    {
        unsafe
        {
            fixed (byte* data = value)
            {
                byte* pointer = data;
                int length = value.Length;
                NativeError.Retry(() => SysLsetxattr(path, name, pointer, (nuint)length, 0), $"lsetxattr {path} {name}");
            }
        }
    }

    /// <summary>The value, or null when the attribute is not set.</summary>
    public static byte[]? Get(string path, string name)
    {
        unsafe
        {
            for (int size = 256; ; size *= 4)
            {
                byte[] buffer = new byte[size];
                fixed (byte* data = buffer)
                {
                    nint result = SysLgetxattr(path, name, data, (nuint)size);
                    if (result >= 0)
                    {
                        return buffer[..(int)result];
                    }
                }

                int errno = Marshal.GetLastPInvokeError();
                if (errno == ENODATA)
                {
                    return null;
                }

                if (errno != ERANGE || size > 1 << 20)
                {
                    throw new NativeException($"lgetxattr {path} {name}", errno);
                }
            }
        }
    }

    /// <summary>Removes the attribute; one that is not set is not an error.</summary>
    public static void Remove(string path, string name)
    {
        if (SysLremovexattr(path, name) == -1)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno != ENODATA)
            {
                throw new NativeException($"lremovexattr {path} {name}", errno);
            }
        }
    }

    /// <summary>The names of the path's attributes (those this process may read).</summary>
    public static IReadOnlyList<string> List(string path)
    {
        unsafe
        {
            for (int size = 1024; ; size *= 4)
            {
                byte[] buffer = new byte[size];
                fixed (byte* data = buffer)
                {
                    nint result = SysLlistxattr(path, data, (nuint)size);
                    if (result >= 0)
                    {
                        return Encoding.UTF8.GetString(buffer, 0, (int)result).Split('\0', StringSplitOptions.RemoveEmptyEntries);
                    }
                }

                int errno = Marshal.GetLastPInvokeError();
                if (errno != ERANGE || size > 1 << 20)
                {
                    throw new NativeException($"llistxattr {path}", errno);
                }
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "lsetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int SysLsetxattr(string path, string name, byte* value, nuint size, int flags);

    [LibraryImport("libc", EntryPoint = "lgetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial nint SysLgetxattr(string path, string name, byte* value, nuint size);

    [LibraryImport("libc", EntryPoint = "lremovexattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SysLremovexattr(string path, string name);

    [LibraryImport("libc", EntryPoint = "llistxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial nint SysLlistxattr(string path, byte* list, nuint size);
}
