using Berth.Api.Types;
using Berth.Images;
using Berth.Interop;
using Berth.Primitives;
using Microsoft.Extensions.Logging;

namespace Berth.Engine.Containers;

/// <summary>What a container changed: commit (a new image from its changes), diff (the changed paths) and export (its filesystem).</summary>
public sealed partial class ContainerService
{
    /// <summary>
    /// A new image: the container's image plus one layer holding the container's changes (its overlay upper directory,
    /// whiteouts included), with the container's config (or <paramref name="config"/>) and <paramref name="changes"/>
    /// applied. A running container is paused meanwhile unless <paramref name="pause"/> is false, as Docker does.
    /// </summary>
    public async Task<string> CommitAsync(string nameOrId, string? repository, string? tag, string? comment, string? author, bool pause, IReadOnlyList<string> changes, ContainerConfig? config, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(changes);
        ContainerEntry entry = Lookup(nameOrId);
        ImageReference? reference = null;
        if (!string.IsNullOrEmpty(repository))
        {
            reference = ImageReference.TryParse(string.IsNullOrEmpty(tag) ? repository : repository + ":" + tag, out ImageReference? parsed) && parsed.Digest is null
                ? parsed
                : throw EngineException.Invalid($"invalid reference format: repository name ({repository}) must be lowercase");
        }
        else if (!string.IsNullOrEmpty(tag))
        {
            throw EngineException.Invalid("invalid reference format: tag given without a repository");
        }

        ContainerRecord record = entry.Record;
        ImageView image = _images.Snapshot.TryGetValue(record.ImageId, out ImageView? view) ? view : throw EngineException.NotFound($"No such image: {record.ImageId}");
        ImageRuntimeConfig runtime = ConfigChanges.Apply(RuntimeConfigOf(config ?? record.Config, image.Record.Config.Config), changes);

        bool paused = false;
        if (pause && record.State.Status == ContainerStatus.Running)
        {
            await PauseAsync(record.Id, cancellationToken).ConfigureAwait(false);
            paused = true;
        }

        try
        {
            using BlobLease lease = _images.Lease();
            string upper = _images.Snapshots.UpperDirectory(record.Id);
            LayerWriter.WrittenLayer layer = await LayerWriter.WriteAsync(_images, lease, (output, ct) => DirectoryTar.WriteAsync(upper, output, TarSource.OverlayUpper, ct, path => IsMountpoint(upper, path)), cancellationToken).ConfigureAwait(false);
            var history = new OciHistory { CreatedBy = string.Join(' ', [record.Path, .. record.Args]), Comment = string.IsNullOrEmpty(comment) ? null : comment };
            ImageRecord committed = await ImageComposer.ComposeAsync(_images, image.Record, layer, runtime, history, string.IsNullOrEmpty(author) ? null : author, reference is null ? [] : [reference], cancellationToken).ConfigureAwait(false);
            Emit(entry.Record, "commit", ("comment", comment ?? ""), ("imageID", committed.Id));
            LogCommitted(record.Id, committed.Id);
            return committed.Id;
        }
        finally
        {
            if (paused)
            {
                await UnpauseAsync(record.Id, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// What the engine and the runtime create in a container's upper directory rather than the container's processes:
    /// the empty mount points of /etc/hosts, /etc/hostname, /etc/resolv.conf, /proc, /sys, /dev and its children (Docker
    /// keeps them in a separate "-init" layer). They are not the container's changes.
    /// </summary>
    private static readonly string[] MountpointPaths = ["etc/hosts", "etc/hostname", "etc/resolv.conf", "proc", "sys", "dev", "sbin/docker-init", ".dockerenv"];

    private static bool IsMountpoint(string upper, string relative)
    {
        if (!MountpointPaths.Contains(relative))
        {
            return false;
        }

        string path = Path.Combine(upper, relative);
        return FileStatus.TryRead(path) switch
        {
            { Type: FileStatus.S_IFREG } => new FileInfo(path).Length == 0,
            { Type: FileStatus.S_IFDIR } => relative == "dev" || !Directory.EnumerateFileSystemEntries(path).Any(),
            _ => false,
        };
    }

    /// <summary>The container's config as an image's: what it runs and how, without what is per-container (hostname, attach flags).</summary>
    private static ImageRuntimeConfig RuntimeConfigOf(ContainerConfig config, ImageRuntimeConfig image) => image with
    {
        User = config.User ?? image.User,
        Env = config.Env ?? image.Env,
        Cmd = config.Cmd ?? image.Cmd,
        Entrypoint = config.Entrypoint ?? image.Entrypoint,
        WorkingDir = config.WorkingDir ?? image.WorkingDir,
        Labels = config.Labels ?? image.Labels,
        StopSignal = config.StopSignal ?? image.StopSignal,
        ExposedPorts = config.ExposedPorts?.ToDictionary(p => p.Key, _ => new Dictionary<string, string>(), StringComparer.Ordinal) ?? image.ExposedPorts,
        Volumes = config.Volumes?.ToDictionary(p => p.Key, _ => new Dictionary<string, string>(), StringComparer.Ordinal) ?? image.Volumes,
        Shell = config.Shell ?? image.Shell,
        OnBuild = config.OnBuild ?? image.OnBuild,
    };

    /// <summary>
    /// The paths the container added (1), changed (0) or deleted (2), as <c>docker diff</c> lists them: from its overlay
    /// upper directory, a path being "changed" when one of the image's layers has it too.
    /// </summary>
    public IReadOnlyList<FilesystemChange> Changes(string nameOrId)
    {
        ContainerRecord record = Lookup(nameOrId).Record;
        ImageView image = _images.Snapshot.TryGetValue(record.ImageId, out ImageView? view) ? view : throw EngineException.NotFound($"No such image: {record.ImageId}");
        IReadOnlyList<string> lowers = [.. _images.LowerChain(image.Record).Select(_images.Snapshots.LayerDirectory)];
        var changes = new List<FilesystemChange>();
        string upper = _images.Snapshots.UpperDirectory(record.Id);
        CollectChanges(upper, upper, "/", lowers, changes);
        return changes;
    }

    private static void CollectChanges(string upper, string directory, string prefix, IReadOnlyList<string> lowers, List<FilesystemChange> changes)
    {
        if (!Directory.Exists(directory))
        {
            return;
        }

        var names = Directory.EnumerateFileSystemEntries(directory).Select(Path.GetFileName).ToList();
        names.Sort(StringComparer.Ordinal);
        foreach (string? name in names)
        {
            string path = Path.Combine(directory, name!);
            string containerPath = prefix + name;
            if (IsMountpoint(upper, containerPath.TrimStart('/')) || FileStatus.TryRead(path) is not { } status)
            {
                continue;
            }

            if (status is { Type: FileStatus.S_IFCHR, DeviceMajor: 0, DeviceMinor: 0 })
            {
                changes.Add(new FilesystemChange { Path = containerPath, Kind = 2 });
                continue;
            }

            bool below = lowers.Any(lower => FileStatus.TryRead(Path.Combine(lower, containerPath.TrimStart('/'))) is not null);
            int index = changes.Count;
            if (status.Type == FileStatus.S_IFDIR)
            {
                CollectChanges(upper, path, containerPath + "/", lowers, changes);
                // A directory of the image copied up only to hold a mount point is not a change of its own.
                if (below && changes.Count == index)
                {
                    continue;
                }
            }

            changes.Insert(index, new FilesystemChange { Path = containerPath, Kind = below ? 0 : 1 });
        }
    }

    /// <summary>
    /// Writes the container's whole filesystem as a tar. A running container's mounted rootfs is read as it is; for a
    /// stopped one the upper directory and the image's layers are stacked read-only for the time of the export.
    /// </summary>
    public async Task ExportAsync(string nameOrId, Stream output, CancellationToken cancellationToken)
    {
        ContainerEntry entry = Lookup(nameOrId);
        ContainerRecord record = entry.Record;
        Emit(record, "export");
        if (entry.RootfsMounted)
        {
            await DirectoryTar.WriteAsync(Path.Combine(_options.ContainersDirectory, record.Id, "bundle", "rootfs"), output, TarSource.Plain, cancellationToken).ConfigureAwait(false);
            return;
        }

        ImageView image = _images.Snapshot.TryGetValue(record.ImageId, out ImageView? view) ? view : throw EngineException.NotFound($"No such image: {record.ImageId}");
        string mountpoint = Path.Combine(_options.ContainersDirectory, record.Id, "export-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(mountpoint);
        try
        {
            string lowers = string.Join(':', [_images.Snapshots.UpperDirectory(record.Id), .. _images.LowerChain(image.Record).Select(_images.Snapshots.LayerDirectory)]);
            Mount.Attach("overlay", mountpoint, "overlay", Mount.MS_RDONLY, $"lowerdir={lowers}");
            try
            {
                await DirectoryTar.WriteAsync(mountpoint, output, TarSource.Plain, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Mount.Detach(mountpoint, lazy: true);
            }
        }
        finally
        {
            Directory.Delete(mountpoint);
        }
    }

    [LoggerMessage(EventId = 132, Level = LogLevel.Information, Message = "container {Id} committed as image {ImageId}")]
    private partial void LogCommitted(string id, string imageId);
}
