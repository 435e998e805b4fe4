using Berth.Interop;

namespace Berth.Images;

/// <summary>
/// Turns a stopped container's overlayfs upper directory into what unpacking its layer tar would have written, so a
/// build step's upper directory can become the layer's snapshot as it is (the tar is written from it too, and adopting
/// the directory saves unpacking that tar into a second copy). overlayfs already stores whiteouts the way
/// <see cref="LayerApplier"/> writes them (a 0:0 character device NAME; an opaque directory's
/// <c>trusted.overlay.opaque=y</c>); what differs is removed here: overlayfs's other bookkeeping attributes (origin,
/// impure: meaningful only to the mount that wrote them), the entries a layer tar leaves out (the engine's mount points,
/// sockets) and the root's mode. Parent directories keep their modification times, as in the tar.
/// </summary>
public static class UpperDirectoryLayer
{
    /// <summary>The mode an unpacked layer's root has (a fresh directory of the daemon's).</summary>
    private const UnixFileMode RootMode = (UnixFileMode)0b111_101_101;

    /// <summary>Prepares <paramref name="upper"/>; <paramref name="skip"/> (given "etc/hosts") names entries the layer leaves out.</summary>
    public static void Prepare(string upper, Func<string, bool> skip)
    {
        ArgumentNullException.ThrowIfNull(upper);
        ArgumentNullException.ThrowIfNull(skip);
        StripOverlayAttributes(upper, keepOpaque: false); // the root of a layer is never opaque: the tar has no entry for it
        PrepareDirectory(upper, "", skip);
        File.SetUnixFileMode(upper, RootMode);
    }

    private static void PrepareDirectory(string directory, string relative, Func<string, bool> skip)
    {
        DateTimeOffset? restoreTime = null;
        foreach (string path in Directory.EnumerateFileSystemEntries(directory).ToList())
        {
            string name = relative + Path.GetFileName(path);
            if (FileStatus.TryRead(path) is not { } status)
            {
                continue;
            }

            if (skip(name) || status.Type == FileStatus.S_IFSOCK)
            {
                restoreTime ??= FileStatus.TryRead(directory)?.Modified;
                if (status.Type == FileStatus.S_IFDIR)
                {
                    Directory.Delete(path, recursive: true);
                }
                else
                {
                    File.Delete(path);
                }

                continue;
            }

            if (status is { Type: FileStatus.S_IFCHR, DeviceMajor: 0, DeviceMinor: 0 })
            {
                continue; // a whiteout, as the layer applier makes one
            }

            bool isDirectory = status.Type == FileStatus.S_IFDIR;
            StripOverlayAttributes(path, keepOpaque: isDirectory);
            if (isDirectory)
            {
                PrepareDirectory(path, name + "/", skip);
            }
        }

        if (restoreTime is { } time)
        {
            Directory.SetLastWriteTimeUtc(directory, time.UtcDateTime);
        }
    }

    private static void StripOverlayAttributes(string path, bool keepOpaque)
    {
        IReadOnlyList<string> names;
        try
        {
            names = ExtendedAttributes.List(path);
        }
        catch (NativeException)
        {
            return; // no xattrs on this filesystem
        }

        foreach (string name in names)
        {
            // An opaque mark stays only as the tar carries one ("y"; the tar writer ignores any other value).
            bool opaque = keepOpaque && name == Whiteout.OpaqueAttribute && ExtendedAttributes.Get(path, name) is [(byte)'y'];
            if (name.StartsWith("trusted.overlay.", StringComparison.Ordinal) && !opaque)
            {
                ExtendedAttributes.Remove(path, name);
            }
        }
    }
}
