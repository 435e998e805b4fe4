using System.Formats.Tar;
using System.Text;
using Berth.Interop;

namespace Berth.Images;

/// <summary>
/// Writes a directory tree as a tar stream: paths relative to the root, owners, modes, times, symlinks, hard links
/// (second and later names of an inode), device nodes, FIFOs and extended attributes. With
/// <see cref="TarSource.OverlayUpper"/> the tree is an overlayfs upper directory and its whiteouts become the
/// OCI layer's (a 0:0 character device NAME is <c>.wh.NAME</c>; an opaque directory gets <c>.wh..wh..opq</c>), which
/// is the diff of a container or a build step. Entries are sorted, so the same tree gives the same bytes.
/// </summary>
public static class DirectoryTar
{
    /// <summary>Writes the tree under <paramref name="root"/>; <paramref name="skip"/> (given "etc/hosts") leaves entries out.</summary>
    public static async Task WriteAsync(string root, Stream output, TarSource source, CancellationToken cancellationToken, Func<string, bool>? skip = null)
    {
        await using var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        var links = new Dictionary<ulong, string>();
        await WriteDirectoryAsync(writer, root, "", source, links, skip ?? (_ => false), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes <paramref name="path"/> itself under the name <paramref name="entryName"/>: a file or link as one entry, a
    /// directory with everything in it (what the archive API's GET sends for <c>docker cp</c>).
    /// </summary>
    public static async Task WritePathAsync(string path, string entryName, Stream output, CancellationToken cancellationToken)
    {
        await using var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        FileStatus status = FileStatus.TryRead(path) ?? throw new FileNotFoundException(path);
        if (status.Type == FileStatus.S_IFDIR)
        {
            var entry = new PaxTarEntry(TarEntryType.Directory, entryName + "/", Attributes(path));
            Describe(entry, status);
            await writer.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
            await WriteDirectoryAsync(writer, path, entryName + "/", TarSource.Plain, [], _ => false, cancellationToken).ConfigureAwait(false);
            return;
        }

        // A single non-directory: the same code as a directory's child, with the parent's listing narrowed to it.
        string parent = Path.GetDirectoryName(path) ?? "/";
        string name = Path.GetFileName(path);
        await WriteDirectoryAsync(writer, parent, "", TarSource.Plain, [], n => n != name, cancellationToken, rename: entryName).ConfigureAwait(false);
    }

    private static async Task WriteDirectoryAsync(TarWriter writer, string directory, string relative, TarSource source, Dictionary<ulong, string> links, Func<string, bool> skip, CancellationToken cancellationToken, string? rename = null)
    {
        var names = Directory.EnumerateFileSystemEntries(directory).Select(Path.GetFileName).ToList();
        names.Sort(StringComparer.Ordinal);
        if (source == TarSource.OverlayUpper && relative.Length > 0 && ExtendedAttributes.Get(directory, Whiteout.OpaqueAttribute) is [(byte)'y'])
        {
            await writer.WriteEntryAsync(Marker(relative + Whiteout.Opaque, FileStatus.TryRead(directory)!.Value.Modified), cancellationToken).ConfigureAwait(false);
        }

        foreach (string? name in names)
        {
            string path = Path.Combine(directory, name!);
            string entryName = rename ?? relative + name;
            if (skip(relative + name) || FileStatus.TryRead(path) is not { } status)
            {
                continue; // gone meanwhile (a running container's files change under us)
            }

            if (source == TarSource.OverlayUpper && status is { Type: FileStatus.S_IFCHR, DeviceMajor: 0, DeviceMinor: 0 })
            {
                await writer.WriteEntryAsync(Marker(relative + Whiteout.Prefix + name, status.Modified), cancellationToken).ConfigureAwait(false);
                continue;
            }

            PaxTarEntry entry;
            if (status.Type != FileStatus.S_IFDIR && status.Links > 1 && links.TryGetValue(status.Inode, out string? first))
            {
                entry = new PaxTarEntry(TarEntryType.HardLink, entryName, Attributes(path)) { LinkName = first };
                Describe(entry, status);
                await writer.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
                continue;
            }

            switch (status.Type)
            {
                case FileStatus.S_IFDIR:
                    entry = new PaxTarEntry(TarEntryType.Directory, entryName + "/", Attributes(path));
                    Describe(entry, status);
                    await writer.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
                    await WriteDirectoryAsync(writer, path, entryName + "/", source, links, skip, cancellationToken).ConfigureAwait(false);
                    continue;
                case FileStatus.S_IFREG:
                    entry = new PaxTarEntry(TarEntryType.RegularFile, entryName, Attributes(path));
                    Describe(entry, status);
                    await using (var data = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan))
                    {
                        entry.DataStream = data;
                        await writer.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
                    }

                    break;
                case FileStatus.S_IFLNK:
                    entry = new PaxTarEntry(TarEntryType.SymbolicLink, entryName, Attributes(path)) { LinkName = new FileInfo(path).LinkTarget ?? "" };
                    Describe(entry, status);
                    await writer.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
                    break;
                case FileStatus.S_IFCHR or FileStatus.S_IFBLK or FileStatus.S_IFIFO:
                    TarEntryType type = status.Type switch { FileStatus.S_IFCHR => TarEntryType.CharacterDevice, FileStatus.S_IFBLK => TarEntryType.BlockDevice, _ => TarEntryType.Fifo };
                    entry = new PaxTarEntry(type, entryName, Attributes(path));
                    if (type != TarEntryType.Fifo)
                    {
                        // A FIFO has no device numbers, and TarEntry refuses to be given any.
                        entry.DeviceMajor = (int)status.DeviceMajor;
                        entry.DeviceMinor = (int)status.DeviceMinor;
                    }

                    Describe(entry, status);
                    await writer.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    continue; // sockets are not files a layer can carry
            }

            if (status.Links > 1)
            {
                links.TryAdd(status.Inode, entryName);
            }
        }
    }

    private static void Describe(PaxTarEntry entry, FileStatus status)
    {
        entry.Uid = (int)status.Uid;
        entry.Gid = (int)status.Gid;
        entry.Mode = (UnixFileMode)status.Permissions;
        entry.ModificationTime = status.Modified;
    }

    /// <summary>A whiteout marker: an empty regular file, as Docker writes them.</summary>
    private static PaxTarEntry Marker(string name, DateTimeOffset time) =>
        new(TarEntryType.RegularFile, name) { Mode = 0, ModificationTime = time };

    /// <summary>The path's extended attributes as PAX records, without overlayfs's own.</summary>
    private static Dictionary<string, string> Attributes(string path)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        IReadOnlyList<string> names;
        try
        {
            names = ExtendedAttributes.List(path);
        }
        catch (NativeException)
        {
            return attributes; // the filesystem has no xattrs
        }

        foreach (string name in names)
        {
            if (name.StartsWith("trusted.overlay.", StringComparison.Ordinal))
            {
                continue;
            }

            if (ExtendedAttributes.Get(path, name) is { } value)
            {
                attributes["SCHILY.xattr." + name] = Encoding.UTF8.GetString(value);
            }
        }

        return attributes;
    }
}

/// <summary>What a directory tree given to <see cref="DirectoryTar"/> is.</summary>
public enum TarSource
{
    /// <summary>A plain tree (a container's mounted rootfs for export): written as it is.</summary>
    Plain,

    /// <summary>An overlayfs upper directory (a container's changes): whiteouts become the OCI layer's.</summary>
    OverlayUpper,
}
