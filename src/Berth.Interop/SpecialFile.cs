using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>mknod(2): device nodes, FIFOs and overlayfs whiteouts (a 0:0 character device), which the BCL cannot create.</summary>
public static partial class SpecialFile
{
    public const uint S_IFIFO = 0x1000;
    public const uint S_IFCHR = 0x2000;
    public const uint S_IFBLK = 0x6000;

    /// <summary>Creates a node of <paramref name="type"/> (S_IF*) with permission bits <paramref name="mode"/>.</summary>
    public static void Create(string path, uint type, uint mode, uint major, uint minor) =>
        NativeError.Retry(() => SysMknod(path, type | (mode & 0xFFF), MakeDevice(major, minor)), $"mknod {path}");

    /// <summary>An overlayfs whiteout: hides the same name in lower layers.</summary>
    public static void CreateWhiteout(string path) => Create(path, S_IFCHR, 0, 0, 0);

    /// <summary>glibc's makedev: the major and minor split over the 64-bit dev_t.</summary>
    public static ulong MakeDevice(uint major, uint minor) =>
        ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) | ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);

    [LibraryImport("libc", EntryPoint = "mknod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SysMknod(string path, uint mode, ulong device);
}
