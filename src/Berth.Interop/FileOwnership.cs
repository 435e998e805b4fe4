using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>chown(2) and group lookup, which the BCL lacks.</summary>
public static partial class FileOwnership
{
    /// <summary>Changes the owner and group of <paramref name="path"/> (-1 leaves one as it is).</summary>
    public static void Change(string path, int uid, int gid) =>
        NativeError.Retry(() => SysChown(path, uid, gid), $"chown {path}");

    /// <summary>Changes the owner and group of <paramref name="path"/> itself, not what a symlink points to.</summary>
    public static void ChangeLink(string path, int uid, int gid) =>
        NativeError.Retry(() => SysLchown(path, uid, gid), $"lchown {path}");

    /// <summary>The gid of group <paramref name="name"/> from /etc/group, or null when there is none.</summary>
    public static int? GroupId(string name)
    {
        if (!File.Exists("/etc/group"))
        {
            return null;
        }

        foreach (string line in File.ReadLines("/etc/group"))
        {
            string[] parts = line.Split(':');
            if (parts.Length >= 3 && parts[0] == name && int.TryParse(parts[2], out int gid))
            {
                return gid;
            }
        }

        return null;
    }

    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SysChown(string path, int uid, int gid);

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SysLchown(string path, int uid, int gid);
}
