using Berth.Api.Types;
using Berth.Engine.Volumes;
using Berth.Images;
using Berth.Primitives;
using Berth.Runtime;
using Berth.Storage.Filesystem;

namespace Berth.Engine.Containers;

/// <summary>A container's mounts: resolved at create (volumes created, references taken), set up at start, released at removal.</summary>
public sealed partial class ContainerService
{
    /// <summary>
    /// Resolves every mount syntax of a create, in Docker's order of precedence (volumes-from, then binds, mounts and
    /// tmpfs, then the image's and the config's <c>VOLUME</c>s where nothing else is mounted), validates the hosts'
    /// side, then creates the volumes and takes the container's references on them.
    /// </summary>
    private (IReadOnlyList<ContainerMount> Mounts, IReadOnlyList<string> Warnings) PrepareMounts(string id, ContainerConfig config, HostConfig hostConfig, ImageRuntimeConfig image)
    {
        var byDestination = new Dictionary<string, ContainerMount>(StringComparer.Ordinal);
        foreach (string spec in hostConfig.VolumesFrom ?? [])
        {
            (string container, bool? readWrite) = MountParser.ParseVolumesFrom(spec);
            foreach (ContainerMount inherited in Lookup(container).Record.Mounts.Where(m => m.Type != "tmpfs"))
            {
                byDestination[inherited.Destination] = readWrite is bool rw ? inherited with { ReadWrite = rw, Mode = rw ? "rw" : "ro" } : inherited;
            }
        }

        var explicitDestinations = new HashSet<string>(StringComparer.Ordinal);
        void AddExplicit(ContainerMount mount)
        {
            if (!explicitDestinations.Add(mount.Destination))
            {
                throw EngineException.Invalid($"Duplicate mount point: {mount.Destination}");
            }

            byDestination[mount.Destination] = mount;
        }

        var warnings = new List<string>();
        foreach (string bind in hostConfig.Binds ?? [])
        {
            ContainerMount mount = MountParser.ParseBind(bind);
            AddExplicit(mount.Type == "bind" ? CheckBindSource(mount, createMissing: true) : mount);
        }

        foreach (MountSpec spec in hostConfig.Mounts ?? [])
        {
            ContainerMount mount = MountParser.ParseMount(spec);
            AddExplicit(mount.Type == "bind" ? CheckBindSource(mount, createMissing: false) : mount);
        }

        foreach ((string destination, string options) in hostConfig.Tmpfs ?? [])
        {
            AddExplicit(MountParser.ParseTmpfs(destination, options));
        }

        IEnumerable<string> declared = (image.Volumes?.Keys ?? Enumerable.Empty<string>()).Concat(config.Volumes?.Keys ?? Enumerable.Empty<string>());
        foreach (string volume in declared)
        {
            string destination = MountParser.Clean(volume);
            if (!volume.StartsWith('/') || destination == "/")
            {
                throw EngineException.Invalid($"invalid volume specification: '{volume}'");
            }

            byDestination.TryAdd(destination, new ContainerMount { Type = "volume", Destination = destination });
        }

        // Everything is valid: now create what is missing. A failure here gives back what was taken.
        var mounts = new List<ContainerMount>();
        try
        {
            foreach (ContainerMount mount in byDestination.Values)
            {
                if (mount.Type != "volume")
                {
                    mounts.Add(mount);
                    continue;
                }

                (string name, _) = _volumes.Ensure(mount.Name, mount.VolumeOptions, mount.VolumeLabels);
                _volumes.Reference(name, id);
                mounts.Add(mount with { Name = name, Source = _volumes.Mountpoint(name), VolumeOptions = null, VolumeLabels = null });
            }
        }
        catch
        {
            ReleaseMounts(id, mounts, removeAnonymous: true);
            throw;
        }

        return (mounts, warnings);
    }

    /// <summary>
    /// A bind's host side: <c>-v</c> creates a missing source directory, <c>--mount</c> requires it; a source that
    /// contains the data root gets <c>rslave</c> propagation (a private one is refused), as Docker does.
    /// </summary>
    private ContainerMount CheckBindSource(ContainerMount mount, bool createMissing)
    {
        if (!Directory.Exists(mount.Source) && !File.Exists(mount.Source))
        {
            if (!createMissing)
            {
                throw EngineException.Invalid($"invalid mount config for type \"bind\": bind source path does not exist: {mount.Source}");
            }

            Directory.CreateDirectory(mount.Source);
        }

        string dataRoot = MountParser.Clean(Path.GetFullPath(_options.DataRoot));
        bool containsDataRoot = mount.Source == "/" || dataRoot == mount.Source || dataRoot.StartsWith(mount.Source + "/", StringComparison.Ordinal);
        if (!containsDataRoot)
        {
            return mount.Propagation.Length == 0 ? mount with { Propagation = "rprivate" } : mount;
        }

        if (mount.Propagation is "private" or "rprivate")
        {
            throw EngineException.Invalid($"invalid mount config: must use either propagation mode \"rslave\" or \"rshared\" when mount source is within the daemon root, daemon root: \"{dataRoot}\", bind mount source: \"{mount.Source}\", propagation: \"{mount.Propagation}\"");
        }

        return mount.Propagation.Length == 0 ? mount with { Propagation = "rslave" } : mount;
    }

    /// <summary>Drops the container's volume references; anonymous volumes nobody else uses go with <paramref name="removeAnonymous"/>.</summary>
    private void ReleaseMounts(string id, IEnumerable<ContainerMount> mounts, bool removeAnonymous)
    {
        foreach (ContainerMount mount in mounts.Where(m => m.Type == "volume" && m.Name is not null))
        {
            _volumes.Release(mount.Name!, id, removeAnonymous);
        }
    }

    /// <summary>
    /// Makes each mount ready for the runtime, parents before children: volumes mounted (and filled from the image
    /// when new and empty), and every target created inside the rootfs, resolved there, so a symlink in the image
    /// can never point a mount at the host.
    /// </summary>
    private List<RunMount> SetUpMounts(ContainerRecord record, string rootfs)
    {
        var run = new List<RunMount>();
        try
        {
            foreach (ContainerMount mount in record.Mounts.OrderBy(m => m.Destination.Count(c => c == '/')).ThenBy(m => m.Destination, StringComparer.Ordinal))
            {
                string target = ScopedPath.Resolve(rootfs, mount.Destination);
                string relative = Path.GetRelativePath(rootfs, target);
                if (relative == "." || relative.StartsWith("..", StringComparison.Ordinal))
                {
                    throw EngineException.Invalid($"invalid mount target {mount.Destination}: it resolves to the container's root");
                }

                string inContainer = "/" + relative;
                string source = mount.Source;
                if (mount.Type == "volume")
                {
                    source = _volumes.Mount(mount.Name!, record.Id, mount.Destination, mount.ReadWrite, mount.Propagation);
                    if (mount.Subpath is { } subpath)
                    {
                        // Resolved inside the volume (its symlinks clamped to it), so a link there cannot reach the host.
                        string within = ScopedPath.Resolve(source, subpath);
                        source = Directory.Exists(within) || File.Exists(within)
                            ? within
                            : throw EngineException.Invalid($"error while mounting volume '{mount.Name}': cannot access path {subpath} in the volume: no such file or directory");
                    }
                    else if (!mount.NoCopy && CopyUp.IsEmpty(source) && Directory.Exists(target))
                    {
                        CopyUp.Copy(target, source);
                    }
                }

                if ((mount.Type == "bind" || mount.Subpath is not null) && File.Exists(source))
                {
                    if (!File.Exists(target) && !Directory.Exists(target))
                    {
                        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                        File.WriteAllBytes(target, []);
                    }
                }
                else
                {
                    Directory.CreateDirectory(target);
                }

                run.Add(ToRunMount(mount, source, inContainer));
            }
        }
        catch
        {
            UnmountVolumes(record);
            throw;
        }

        return run;
    }

    private static RunMount ToRunMount(ContainerMount mount, string source, string destination)
    {
        if (mount.Type == "tmpfs")
        {
            var options = new List<string> { "nosuid", "nodev", "noexec" };
            foreach (string option in mount.TmpfsOptions.Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                string opposite = option switch { "exec" => "noexec", "suid" => "nosuid", "dev" => "nodev", _ => "" };
                options.Remove(opposite);
                options.Add(option);
            }

            return new RunMount { Destination = destination, Type = "tmpfs", Source = "tmpfs", Options = options };
        }

        var bindOptions = new List<string> { mount.NonRecursive ? "bind" : "rbind", mount.Propagation.Length == 0 ? "rprivate" : mount.Propagation };
        if (!mount.ReadWrite)
        {
            // ro: runc remounts the bind with MS_RDONLY; rro makes every submount read-only too (mount_setattr).
            bindOptions.Add("ro");
            if (!mount.NonRecursive)
            {
                bindOptions.Add("rro");
            }
        }

        return new RunMount { Destination = destination, Type = "bind", Source = source, Options = bindOptions };
    }

    /// <summary>The container stopped (or failed to start): each volume it mounted is let go.</summary>
    private void UnmountVolumes(ContainerRecord record)
    {
        foreach (ContainerMount mount in record.Mounts.Where(m => m.Type == "volume" && m.Name is not null))
        {
            _volumes.Unmount(mount.Name!, record.Id);
        }
    }

    /// <summary>Docker's <c>Mounts</c> in inspect and ps.</summary>
    internal static IReadOnlyList<MountPoint> MountPoints(ContainerRecord record) =>
        [.. record.Mounts.Where(m => m.Listed).Select(m => new MountPoint
        {
            Type = m.Type,
            Name = m.Name,
            Source = m.Source,
            Destination = m.Destination,
            Driver = m.Type == "volume" ? VolumeService.LocalDriver : null,
            Mode = m.Mode,
            RW = m.ReadWrite,
            Propagation = m.Propagation,
        })];
}
