using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>link(2): the BCL has symbolic links but no hard links.</summary>
public static partial class HardLink
{
    public static void Create(string existing, string newPath) =>
        NativeError.Retry(() => SysLink(existing, newPath), $"link {newPath}");

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SysLink(string existing, string newPath);
}
