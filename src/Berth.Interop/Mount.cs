using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>mount(2) and umount2(2).</summary>
public static partial class Mount
{
    public const ulong MS_RDONLY = 0x1;
    public const ulong MS_NOSUID = 0x2;
    public const ulong MS_NODEV = 0x4;
    public const ulong MS_NOEXEC = 0x8;
    public const ulong MS_REMOUNT = 0x20;
    public const ulong MS_BIND = 0x1000;
    public const ulong MS_REC = 0x4000;
    public const ulong MS_PRIVATE = 0x40000;

    public const int MNT_DETACH = 0x2;
    private const int EINVAL = 22;
    private const int ENOENT = 2;

    /// <summary>Mounts <paramref name="source"/> on <paramref name="target"/>.</summary>
    public static void Attach(string source, string target, string? fileSystemType, ulong flags, string? data)
    {
        NativeError.Retry(() => SysMount(source, target, fileSystemType, flags, data), $"mount {target}");
    }

    /// <summary>Whether a mount failed because the file system refused its data (EINVAL), e.g. an option the kernel does not know.</summary>
    public static bool IsRefusedOption(NativeException exception) => exception.Errno == EINVAL;

    /// <summary>Unmounts <paramref name="target"/>; a target that is not mounted is not an error.</summary>
    public static void Detach(string target, bool lazy = false)
    {
        int result = SysUmount2(target, lazy ? MNT_DETACH : 0);
        if (result == -1)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno is EINVAL or ENOENT)
            {
                return;
            }

            throw new NativeException($"umount {target}", errno);
        }
    }

    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SysMount(string source, string target, string? fileSystemType, ulong flags, string? data);

    [LibraryImport("libc", EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SysUmount2(string target, int flags);
}
