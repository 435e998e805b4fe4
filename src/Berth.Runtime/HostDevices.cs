using Berth.Interop;

namespace Berth.Runtime;

/// <summary>The host's device nodes, which a privileged container gets, as Docker gives them.</summary>
public static class HostDevices
{
    // Not devices of the host's own: per-mount instances and udev's state.
    private static readonly string[] Skipped = ["/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/.lxc", "/dev/.udev", "/dev/console"];

    public static IReadOnlyList<OciDevice> List(string root = "/dev")
    {
        var devices = new List<OciDevice>();
        Walk(root, devices, depth: 0);
        return devices;
    }

    private static void Walk(string directory, List<OciDevice> devices, int depth)
    {
        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateFileSystemEntries(directory).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }

        foreach (string path in entries)
        {
            if (Skipped.Contains(path))
            {
                continue;
            }

            var info = new FileInfo(path);
            if (info.LinkTarget is not null)
            {
                continue;
            }

            if ((info.Attributes & FileAttributes.Directory) != 0)
            {
                if (depth < 4)
                {
                    Walk(path, devices, depth + 1);
                }

                continue;
            }

            if (DeviceNode.TryRead(path) is { } node)
            {
                devices.Add(new OciDevice { Path = path, Type = node.Type.ToString(), Major = node.Major, Minor = node.Minor, FileMode = node.Mode, Uid = node.Uid, Gid = node.Gid });
            }
        }
    }
}
