using Berth.Api.Types;
using Berth.Build;
using Berth.Images;
using Berth.Interop;
using Berth.Primitives;
using Berth.Storage.Filesystem;

namespace Berth.Engine.Build;

/// <summary>
/// <c>RUN --mount</c>: what each mount keys in the cache, and the host side of each mount while its step runs
/// (a cache directory, a bind source, a tmpfs, a secret file), all given back when the step ends.
/// </summary>
internal sealed partial class BuildRun
{
    /// <summary>The mounts of one RUN step, and what to undo when it ends.</summary>
    private sealed class StepMounts : IAsyncDisposable
    {
        private readonly List<Func<ValueTask>> _cleanups = [];

        public List<MountSpec> Specs { get; } = [];

        public void OnDispose(Func<ValueTask> cleanup) => _cleanups.Add(cleanup);

        public void OnDispose(Action cleanup) => _cleanups.Add(() =>
        {
            cleanup();
            return ValueTask.CompletedTask;
        });

        public async ValueTask DisposeAsync()
        {
            for (int i = _cleanups.Count - 1; i >= 0; i--)
            {
                await _cleanups[i]().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The mounts' part of the step's cache key: their options, and for a bind the identity of what is bound (the
    /// checksum of the context files, or the id of the stage or image) since the step's result depends on it. Never
    /// the contents of a cache or a secret: those may change without invalidating the step, as in BuildKit.
    /// </summary>
    private async Task<string> MountsKeyAsync(IReadOnlyList<RunMount> mounts, List<Stage> stages, Stage stage, CancellationToken cancellationToken)
    {
        var parts = new List<string>();
        foreach (RunMount mount in mounts)
        {
            string identity = "";
            if (mount.Type == "bind")
            {
                if (mount.From is null)
                {
                    string path = ScopedPath.Resolve(contextRoot, mount.Source);
                    identity = FileStatus.TryRead(path) is null
                        ? throw new DockerfileException($"failed to compute cache key: \"{mount.Source}\" not found in the build context")
                        : BuildService.Checksum([(mount.Source, path)], ContextHashes);
                }
                else
                {
                    identity = (await MountSourceImageAsync(mount.From, stages, stage, cancellationToken).ConfigureAwait(false))?.Id ?? "scratch";
                }
            }

            parts.Add(mount.KeyText + ",content=" + identity);
        }

        return string.Join('\n', parts);
    }

    private async Task<ImageRecord?> MountSourceImageAsync(string from, List<Stage> stages, Stage stage, CancellationToken cancellationToken) =>
        FindStage(from, stages, stage.Index) is { } source
            ? await StageResultAsync(source, cancellationToken).ConfigureAwait(false)
            : PinExisting((service.Images.Find(from) ?? throw EngineException.NotFound($"pull access denied for {from}, repository does not exist or may require 'docker login'")).Record.Id)
                ?? throw EngineException.NotFound($"pull access denied for {from}, repository does not exist or may require 'docker login'");

    /// <summary>Makes the host side of every mount and the mount specs of the step container.</summary>
    private async Task<StepMounts> PrepareMountsAsync(IReadOnlyList<RunMount> mounts, List<Stage> stages, Stage stage, CancellationToken cancellationToken)
    {
        var prepared = new StepMounts();
        try
        {
            foreach (RunMount mount in mounts)
            {
                switch (mount.Type)
                {
                    case "tmpfs":
                        prepared.Specs.Add(new MountSpec { Type = "tmpfs", Target = mount.Target, TmpfsOptions = new MountTmpfsOptions { SizeBytes = mount.Size } });
                        break;
                    case "secret":
                        if (request.Secrets.TryGetValue(mount.Id!, out byte[]? secret))
                        {
                            prepared.Specs.Add(new MountSpec { Type = "bind", Source = WriteSecret(mount, secret, prepared), Target = mount.Target, ReadOnly = true });
                        }
                        else if (mount.Required)
                        {
                            throw new DockerfileException($"secret {mount.Id}: not found");
                        }

                        break;
                    case "bind":
                        {
                            string root = await SourceRootAsync(mount, stages, stage, prepared, cancellationToken).ConfigureAwait(false);
                            string source = ScopedPath.Resolve(root, mount.Source);
                            if (FileStatus.TryRead(source) is null)
                            {
                                throw new DockerfileException($"failed to mount {mount.Target}: \"{mount.Source}\" not found");
                            }

                            if (!mount.ReadOnly)
                            {
                                // A writable bind: the step may write, the writes go nowhere (BuildKit's semantics), so it gets a copy.
                                string copy = ScratchDirectory(prepared);
                                CopyInto(copy, source);
                                source = Directory.Exists(source) ? copy : Path.Combine(copy, Path.GetFileName(source));
                            }

                            prepared.Specs.Add(new MountSpec { Type = "bind", Source = source, Target = mount.Target, ReadOnly = mount.ReadOnly });
                            break;
                        }

                    case "cache":
                        {
                            string? seedRoot = mount.From is null ? null : await SourceRootAsync(mount, stages, stage, prepared, cancellationToken).ConfigureAwait(false);
                            Action<string>? seed = seedRoot is null ? null : directory => CopyInto(directory, ScopedPath.Resolve(seedRoot, mount.Source));
                            CacheMountStore.Lease lease = await service.CacheMounts.AcquireAsync(mount, seed, cancellationToken).ConfigureAwait(false);
                            prepared.OnDispose(lease.Dispose);
                            prepared.Specs.Add(new MountSpec { Type = "bind", Source = lease.Path, Target = mount.Target, ReadOnly = mount.ReadOnly });
                            break;
                        }
                }
            }
        }
        catch
        {
            await prepared.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return prepared;
    }

    /// <summary>The tree a bind or a cache seed reads from: the build context, or a stage's or image's root filesystem.</summary>
    private async Task<string> SourceRootAsync(RunMount mount, List<Stage> stages, Stage stage, StepMounts prepared, CancellationToken cancellationToken)
    {
        if (mount.From is null)
        {
            return contextRoot;
        }

        ImageRecord image = await MountSourceImageAsync(mount.From, stages, stage, cancellationToken).ConfigureAwait(false)
            ?? throw new DockerfileException($"cannot mount from {mount.From}: it has no filesystem");
        ImageMount root = ImageMount.Mount(service, image, cancellationToken);
        prepared.OnDispose(root.DisposeAsync);
        return root.Root;
    }

    private string ScratchDirectory(StepMounts prepared)
    {
        string directory = Path.Combine(Path.GetDirectoryName(contextRoot)!, "mnt-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        prepared.OnDispose(() => Directory.Delete(directory, recursive: true));
        return directory;
    }

    /// <summary>Copies a file or a directory's contents into <paramref name="directory"/>.</summary>
    private static void CopyInto(string directory, string source)
    {
        var copier = new CopySources.Copier(directory, [], null, null);
        if (Directory.Exists(source))
        {
            copier.CopyContents(source, "/");
        }
        else if (FileStatus.TryRead(source) is not null)
        {
            copier.CopyEntry(source, "/" + Path.GetFileName(source));
        }
    }

    /// <summary>
    /// The secret as a file only the step sees: in a private directory under the exec root (tmpfs on a normal
    /// host, so it never reaches a disk), bound read-only, deleted when the step ends. It is never part of a layer:
    /// the step's changes leave mount points out.
    /// </summary>
    private string WriteSecret(RunMount mount, byte[] secret, StepMounts prepared)
    {
        string directory = Path.Combine(service.SecretsRoot, Guid.NewGuid().ToString("N")[..16]);
        Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        prepared.OnDispose(() => Directory.Delete(directory, recursive: true));
        string path = Path.Combine(directory, "secret");
        File.WriteAllBytes(path, secret);
        File.SetUnixFileMode(path, (UnixFileMode)(mount.Mode ?? 0x100));
        FileOwnership.Change(path, mount.Uid, mount.Gid);
        // The directory must be traversable for a non-root uid to reach its secret.
        File.SetUnixFileMode(directory, (UnixFileMode)0x1C9);
        return path;
    }

    /// <summary>
    /// The mount points the runtime had to create for the step's mounts (a target, and its parents, that the
    /// image does not have), removed from the container's changes as BuildKit does: a cache or secret mount leaves
    /// no trace in the layer.
    /// </summary>
    private static void RemoveMountStubs(string upper, IReadOnlyList<string> layers, IEnumerable<string> targets)
    {
        foreach (string target in targets.OrderByDescending(t => t.Length))
        {
            string relative = target.TrimStart('/');
            while (relative.Length > 0 && !ExistsInImage(layers, relative))
            {
                string path = Path.Combine(upper, relative);
                bool removed = FileStatus.TryRead(path) switch
                {
                    { Type: FileStatus.S_IFDIR } when !Directory.EnumerateFileSystemEntries(path).Any() => Delete(() => Directory.Delete(path)),
                    { Type: FileStatus.S_IFREG } when new FileInfo(path).Length == 0 => Delete(() => File.Delete(path)),
                    _ => false,
                };
                if (!removed)
                {
                    break;
                }

                relative = Path.GetDirectoryName(relative) ?? "";
            }
        }

        static bool Delete(Action delete)
        {
            delete();
            return true;
        }
    }

    private static bool ExistsInImage(IReadOnlyList<string> layers, string relative) =>
        layers.Any(layer => FileStatus.TryRead(Path.Combine(layer, relative)) is not null);
}
