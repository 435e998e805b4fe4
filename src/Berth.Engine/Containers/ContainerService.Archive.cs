using Berth.Api.Types;
using Berth.Images;
using Berth.Interop;
using Berth.Primitives;
using Berth.Storage.Filesystem;

namespace Berth.Engine.Containers;

/// <summary>
/// The archive API behind <c>docker cp</c>: stat, read (GET) and write (PUT) paths of a container's filesystem. Every
/// path is resolved inside the container's root (its symlinks clamped to it), never on the host.
/// </summary>
public sealed partial class ContainerService
{
    public async Task<ContainerPathStat> StatPathAsync(string nameOrId, string path, CancellationToken cancellationToken)
    {
        (string rootfs, string hostPath) = await LocateAsync(nameOrId, path, cancellationToken).ConfigureAwait(false);
        return StatOf(rootfs, hostPath, path);
    }

    /// <summary>Writes the path (a file, a link, or a directory with its content) as a tar; returns its stat first through <paramref name="beforeWrite"/>.</summary>
    public async Task GetArchiveAsync(string nameOrId, string path, Func<ContainerPathStat, Task<Stream>> beforeWrite, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(beforeWrite);
        (string rootfs, string hostPath) = await LocateAsync(nameOrId, path, cancellationToken).ConfigureAwait(false);
        ContainerPathStat stat = StatOf(rootfs, hostPath, path);
        Stream output = await beforeWrite(stat).ConfigureAwait(false);
        await DirectoryTar.WritePathAsync(hostPath, stat.Name, output, cancellationToken).ConfigureAwait(false);
        Emit(Lookup(nameOrId).Record, "archive-path", ("path", path));
    }

    /// <summary>Unpacks a tar into the directory <paramref name="path"/> of the container.</summary>
    public async Task PutArchiveAsync(string nameOrId, string path, Stream archive, bool noOverwriteDirNonDir, bool copyOwnership, CancellationToken cancellationToken)
    {
        (string rootfs, string hostPath) = await LocateAsync(nameOrId, path, cancellationToken).ConfigureAwait(false);
        if (FileStatus.TryRead(hostPath) is not { Type: FileStatus.S_IFDIR })
        {
            throw EngineException.Invalid($"extraction point is not a directory: {path}");
        }

        if (Lookup(nameOrId).Record.HostConfig.ReadonlyRootfs)
        {
            throw EngineException.Conflict("container rootfs is marked read-only");
        }

        // The directory as resolved inside the root: the entries are unpacked relative to it, each one resolved again.
        string inside = "/" + Path.GetRelativePath(rootfs, hostPath).Replace('\\', '/');
        var extraction = new LayerApplier.Extraction(inside == "/." ? "/" : inside, Whiteouts: false, KeepOwnership: copyOwnership, NoOverwriteDirNonDir: noOverwriteDirNonDir);
        await LayerApplier.ApplyAsync(archive, rootfs, extraction, cancellationToken).ConfigureAwait(false);
        Emit(Lookup(nameOrId).Record, "extract-to-dir", ("path", path));
    }

    /// <summary>The container's mounted rootfs (mounting a stopped container's) and <paramref name="path"/> in it; 404 when it does not exist.</summary>
    private async Task<(string Rootfs, string HostPath)> LocateAsync(string nameOrId, string path, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(path))
        {
            throw EngineException.Invalid("path is required");
        }

        ContainerEntry entry = Lookup(nameOrId);
        string rootfs = Path.Combine(_options.ContainersDirectory, entry.Record.Id, "bundle", "rootfs");
        if (!entry.RootfsMounted)
        {
            await entry.Transition.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (!entry.RootfsMounted)
                {
                    // As a start does; the exit or the removal unmounts it.
                    ImageView image = _images.Snapshot.TryGetValue(entry.Record.ImageId, out ImageView? view) ? view : throw EngineException.NotFound($"No such image: {entry.Record.ImageId}");
                    Directory.CreateDirectory(rootfs);
                    MountRootfs(entry.Record, image, rootfs);
                    entry.RootfsMounted = true;
                }
            }
            finally
            {
                entry.Transition.Release();
            }
        }

        // "/x/." and "/x/" name the directory itself; the final symlink is not followed (the stat reports it).
        string trimmed = path.TrimEnd('/');
        if (trimmed.EndsWith("/.", StringComparison.Ordinal))
        {
            trimmed = trimmed[..^2];
        }

        string hostPath = ScopedPath.Resolve(rootfs, trimmed.Length == 0 ? "/" : trimmed, followFinal: path.EndsWith('/') || path.EndsWith("/.", StringComparison.Ordinal));
        if (FileStatus.TryRead(hostPath) is null)
        {
            throw EngineException.NotFound($"Could not find the file {path} in container {nameOrId}");
        }

        return (rootfs, hostPath);
    }

    /// <summary>The stat Docker sends in X-Docker-Container-Path-Stat; its mode is Go's os.FileMode.</summary>
    private static ContainerPathStat StatOf(string rootfs, string hostPath, string requested)
    {
        FileStatus status = FileStatus.TryRead(hostPath) ?? throw EngineException.NotFound($"Could not find the file {requested}");
        uint mode = status.Permissions & 0x1FF;
        mode |= status.Type switch
        {
            FileStatus.S_IFDIR => 0x80000000u,
            FileStatus.S_IFLNK => 0x08000000u,
            FileStatus.S_IFIFO => 0x02000000u,
            FileStatus.S_IFCHR => 0x04000000u | 0x00200000u,
            FileStatus.S_IFBLK => 0x04000000u,
            _ => 0u,
        };
        mode |= (status.Permissions & 0x800) != 0 ? 0x00800000u : 0;
        mode |= (status.Permissions & 0x400) != 0 ? 0x00400000u : 0;
        mode |= (status.Permissions & 0x200) != 0 ? 0x00100000u : 0;
        string name = hostPath == rootfs ? "/" : Path.GetFileName(hostPath);
        return new ContainerPathStat
        {
            Name = name,
            Size = status.Type == FileStatus.S_IFREG ? new FileInfo(hostPath).Length : 0,
            Mode = mode,
            Mtime = status.Modified.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.FFFFFFF'Z'", System.Globalization.CultureInfo.InvariantCulture),
            LinkTarget = status.Type == FileStatus.S_IFLNK ? new FileInfo(hostPath).LinkTarget ?? "" : "",
        };
    }
}
