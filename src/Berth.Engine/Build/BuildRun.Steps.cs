using System.Buffers.Binary;
using Berth.Api.Types;
using Berth.Build;
using Berth.Engine.Containers;
using Berth.Images;
using Berth.Interop;
using Berth.Primitives;

namespace Berth.Engine.Build;

/// <summary>The steps that change the filesystem: RUN (a real container, its changes committed) and COPY/ADD.</summary>
internal sealed partial class BuildRun
{
    private async Task RunStepAsync(Instruction instruction, StageState state, List<Stage> stages, Stage stage, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> shell = state.Config.Shell ?? BuildServiceShell;
        IReadOnlyList<string> command;
        if (instruction.Json is { } json)
        {
            command = json;
        }
        else if (instruction.Heredocs.Count == 1 && instruction.Arguments.Trim().StartsWith("<<", StringComparison.Ordinal) && !instruction.Arguments.Trim().Contains(' ', StringComparison.Ordinal))
        {
            // RUN <<EOF: the here-document is the script.
            command = [.. shell, instruction.Heredocs[0].Content];
        }
        else
        {
            // The shell reads here-documents itself: hand it the line and the documents as written.
            string script = instruction.Arguments + string.Concat(instruction.Heredocs.Select(h => "\n" + h.Content + h.Name));
            command = [.. shell, script];
        }

        char escape = document.EscapeToken;
        IReadOnlyList<RunMount> mounts = RunMount.ParseAll(instruction, text => ShellWords.SubstituteOnly(text, name => Lookup(state, name), escape), state.Config.WorkingDir ?? "");
        string network = RunNetwork(instruction);
        List<KeyValuePair<string, string>> args = [.. ArgsInScope(state)];
        string createdBy = (args.Count > 0 ? $"|{args.Count} {string.Join(' ', args.Select(a => a.Key + "=" + a.Value))} " : "") + string.Join(' ', command);
        string mountsKey = await MountsKeyAsync(mounts, stages, stage, cancellationToken).ConfigureAwait(false);
        string key = BuildCache.Key(state.Image?.Id, createdBy + (mounts.Count > 0 ? "\nmounts=" + mountsKey : "") + (network != DefaultNetwork ? "\nnetwork=" + network : ""), args, null);
        if (await TryCachedAsync(state, key, createdBy, state.Config, emptyLayer: false, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        ImageRecord image = state.Image ?? throw new DockerfileException("RUN needs a base image: FROM scratch has no shell (no such file or directory)");
        var env = new List<string>(state.Config.Env ?? []);
        foreach (KeyValuePair<string, string> arg in state.Args)
        {
            if (!env.Any(e => e.StartsWith(arg.Key + "=", StringComparison.Ordinal)))
            {
                env.Add(arg.Key + "=" + arg.Value);
            }
        }

        await using StepMounts prepared = await PrepareMountsAsync(mounts, stages, stage, cancellationToken).ConfigureAwait(false);
        ContainerService containers = service.Containers;
        var create = new ContainerCreateRequest
        {
            Image = image.Id,
            Cmd = command,
            Entrypoint = [],
            Env = env,
            User = state.Config.User,
            WorkingDir = state.Config.WorkingDir,
            AttachStdout = true,
            AttachStderr = true,
            HostConfig = new HostConfig
            {
                NetworkMode = network,
                ExtraHosts = request.ExtraHosts.Count > 0 && network != "none" ? request.ExtraHosts : null,
                Mounts = prepared.Specs.Count > 0 ? prepared.Specs : null,
            },
        };
        string id = (await containers.CreateAsync(null, create, cancellationToken).ConfigureAwait(false)).Id;
        try
        {
            await WriteAsync(state, $" ---> Running in {id[..12]}\n").ConfigureAwait(false);
            await containers.StartAsync(id, cancellationToken).ConfigureAwait(false);

            // The output goes to the client while the command runs, line by line as it prints.
            await using (var output = new StepOutputStream(text => WriteAsync(state, text)))
            {
                await containers.LogsAsync(id, new LogsOptions(Stdout: true, Stderr: true, Follow: true, Timestamps: false, Tail: null, Since: 0, Until: 0), output, cancellationToken).ConfigureAwait(false);
            }

            ContainerWaitResponse exit = await containers.WaitAsync(id, "not-running", cancellationToken).ConfigureAwait(false);
            if (exit.StatusCode != 0)
            {
                throw new DockerfileException($"The command '{string.Join(' ', command)}' returned a non-zero code: {exit.StatusCode}");
            }

            if (prepared.Specs.Count > 0)
            {
                RemoveMountStubs(service.Images.Snapshots.UpperDirectory(id), LayerDirectories(state), prepared.Specs.Select(m => m.Target!));
            }

            using BlobLease lease = service.Images.Lease();
            (LayerWriter.WrittenLayer layer, string upper) = await containers.WriteChangesAsLayerAsync(id, lease, _sourceDateEpoch, cancellationToken).ConfigureAwait(false);
            // The step's upper directory is the layer: it becomes the layer's snapshot as it is, not unpacked again from the tar.
            await service.Images.AdoptLayerAsync(image.ChainIds.Count > 0 ? image.ChainIds[^1] : null, layer.DiffId, upper, cancellationToken).ConfigureAwait(false);
            ImageRecord committed = await ComposePinnedAsync(() => ImageComposer.ComposeAsync(service.Images, image, layer, state.Config, new OciHistory { CreatedBy = createdBy }, state.Author, [], Created, cancellationToken)).ConfigureAwait(false);
            await WriteAsync(state, $"Removing intermediate container {id[..12]}\n").ConfigureAwait(false);
            await FinishStepAsync(state, key, committed, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await containers.RemoveAsync(id, force: true, removeVolumes: true, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>What the build's steps run on unless told otherwise: the host's network, so steps need no bridge plumbing.</summary>
    private const string DefaultNetwork = "host";

    /// <summary>The step's network: <c>RUN --network=none|host|default</c>, else the build's <c>--network</c>.</summary>
    private string RunNetwork(Instruction instruction)
    {
        string build = request.NetworkMode is null or "" or "default" ? DefaultNetwork : request.NetworkMode;
        return instruction.Flag("network")?.ToLowerInvariant() switch
        {
            null or "default" => build,
            "none" => "none",
            "host" => "host",
            { } other => throw new DockerfileException($"unsupported network mode \"{other}\" (RUN --network takes none, host or default)"),
        };
    }

    private async Task CopyStepAsync(Instruction instruction, StageState state, List<Stage> stages, Stage stage, CancellationToken cancellationToken)
    {
        char escape = document.EscapeToken;
        Func<string, string?> lookup = name => Lookup(state, name);
        bool isAdd = instruction.Keyword == "ADD";
        // COPY <<EOF dest: each here-document is a file of its own (named by its delimiter) to copy from.
        using HeredocFiles heredocs = HeredocFiles.Write(Path.GetDirectoryName(contextRoot)!, instruction.Heredocs, content => ShellWords.SubstituteOnly(content, lookup, escape));
        IReadOnlyList<string> words = instruction.Json is { } json ? [.. json.Select(j => ShellWords.SubstituteOnly(j, lookup, escape))] : ShellWords.Split(instruction.Arguments, lookup, escape);
        if (words.Count < 2)
        {
            throw new DockerfileException($"{instruction.Keyword} requires at least two arguments, but only one was provided. Destination could not be determined.");
        }

        string destination = words[^1];
        IReadOnlyList<string> sources = words.Take(words.Count - 1).ToList();
        if (sources.Count > 1 && !destination.EndsWith('/'))
        {
            throw new DockerfileException($"When using {instruction.Keyword} with more than one source file, the destination must be a directory and end with a /");
        }

        foreach (string source in sources)
        {
            if (source.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || source.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || source.StartsWith("git@", StringComparison.Ordinal))
            {
                throw new DockerfileException($"ADD from a URL ({source}) needs network access: Berth's builder works offline; download the file into the build context instead");
            }
        }

        if (isAdd && instruction.Flag("checksum") is not null)
        {
            throw new DockerfileException("checksum can't be specified for non-HTTP(S) sources"); // URLs were refused above
        }

        string? from = instruction.Flag("from") is { } fromFlag ? ShellWords.Word(fromFlag, lookup, escape) : null;
        ImageRecord? fromImage = null;
        if (from is not null)
        {
            fromImage = FindStage(from, stages, stage.Index) is { } source
                ? await StageResultAsync(source, cancellationToken).ConfigureAwait(false)
                : PinExisting((service.Images.Find(from) ?? throw EngineException.NotFound($"pull access denied for {from}, repository does not exist or may require 'docker login'")).Record.Id)
                    ?? throw EngineException.NotFound($"pull access denied for {from}, repository does not exist or may require 'docker login'");
        }

        string? chown = instruction.Flag("chown") is { } chownFlag ? ShellWords.Word(chownFlag, lookup, escape) : null;
        string? chmod = instruction.Flag("chmod") is { } chmodFlag ? ShellWords.Word(chmodFlag, lookup, escape) : null;
        string workdir = state.Config.WorkingDir is { Length: > 0 } w ? w : "/";
        string absoluteDestination = destination.StartsWith('/') ? destination : Path.Combine(workdir, destination) + (destination.EndsWith('/') || destination == "." ? "/" : "");

        await using ImageMount root = fromImage is null ? ImageMount.Of(contextRoot) : ImageMount.Mount(service, fromImage, cancellationToken);
        var resolved = new List<(string Name, string Path)>();
        foreach (string source in sources)
        {
            if (heredocs.Find(source) is { } heredoc)
            {
                resolved.Add(heredoc);
                continue;
            }

            IReadOnlyList<(string Name, string Path)> matches = CopySources.Resolve(root.Root, source);
            if (matches.Count == 0)
            {
                throw new DockerfileException(from is null
                    ? $"COPY failed: file not found in build context or excluded by .dockerignore: stat {source}: file does not exist"
                    : $"COPY failed: stat {source}: file does not exist");
            }

            resolved.AddRange(matches);
        }

        string checksum = BuildService.Checksum(resolved, from is null ? ContextHashes : null);
        string flags = string.Concat((from is null ? "" : $"--from={from} ") + (chown is null ? "" : $"--chown={chown} ") + (chmod is null ? "" : $"--chmod={chmod} "));
        string createdBy = $"/bin/sh -c #(nop) {instruction.Keyword} {flags}{(resolved.Count == 1 ? "file" : "multi")}:{checksum} in {absoluteDestination} ";
        string key = BuildCache.Key(state.Image?.Id, createdBy, ArgsInScope(state), checksum);
        if (await TryCachedAsync(state, key, createdBy, state.Config, emptyLayer: false, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        IReadOnlyList<string> layers = LayerDirectories(state);
        (int Uid, int Gid)? owner = chown is null ? null : CopySources.Owner(chown, layers);
        int? mode = chmod is null ? null : BuildService.ParseOctal(chmod);
        bool intoDirectory = absoluteDestination.EndsWith('/') || resolved.Count > 1 || sources.Any(CopySources.HasWildcard) || IsDirectoryInImage(layers, absoluteDestination);
        string staging = Path.Combine(Path.GetDirectoryName(contextRoot)!, "stage-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(staging);
        try
        {
            var copier = new CopySources.Copier(staging, layers, owner, mode);
            foreach ((string name, string path) in resolved)
            {
                FileStatus status = FileStatus.TryRead(path) ?? throw new FileNotFoundException(name);
                string destinationDirectory = intoDirectory ? absoluteDestination.TrimEnd('/') : Path.GetDirectoryName(absoluteDestination.TrimEnd('/'))!;
                if (status.Type == FileStatus.S_IFDIR)
                {
                    // A directory's contents are copied, not the directory itself, as Docker does.
                    copier.CopyContents(path, absoluteDestination.TrimEnd('/'));
                }
                else if (isAdd && from is null && status.Type == FileStatus.S_IFREG && CopySources.IsArchive(path))
                {
                    string target = absoluteDestination.TrimEnd('/');
                    copier.EnsureDirectory(target);
                    await using FileStream archive = File.OpenRead(path);
                    await LayerApplier.ApplyAsync(archive, staging, new LayerApplier.Extraction(target.Length == 0 ? "/" : target, Whiteouts: false, KeepOwnership: true, NoOverwriteDirNonDir: false), cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    string target = intoDirectory ? destinationDirectory + "/" + Path.GetFileName(name) : absoluteDestination;
                    copier.EnsureDirectory(Path.GetDirectoryName(target)!);
                    copier.CopyEntry(path, target);
                }
            }

            if (_sourceDateEpoch is { } epoch)
            {
                LayerTimes.Clamp(staging, epoch);
            }

            using BlobLease lease = service.Images.Lease();
            LayerWriter.WrittenLayer layer = await LayerWriter.WriteAsync(service.Images, lease, (output, ct) => DirectoryTar.WriteAsync(staging, output, TarSource.Plain, ct), compress: false, cancellationToken).ConfigureAwait(false);
            ImageRecord? parent = state.Image;
            // The staged files are the layer: they become its unpacked directory as they are, not unpacked again from the tar.
            await service.Images.AdoptLayerAsync(parent is { ChainIds.Count: > 0 } ? parent.ChainIds[^1] : null, layer.DiffId, staging, cancellationToken).ConfigureAwait(false);
            ImageRecord committed = await ComposePinnedAsync(() => ImageComposer.ComposeAsync(service.Images, parent, layer, state.Config, new OciHistory { CreatedBy = createdBy }, state.Author, [], Created, cancellationToken)).ConfigureAwait(false);
            await FinishStepAsync(state, key, committed, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true); // not adopted as the layer (an error, or the layer existed)
            }
        }
    }

    /// <summary>A directory tree to copy from: the build context, or an image's root filesystem mounted read-only.</summary>
    private sealed class ImageMount : IAsyncDisposable
    {
        private string? _mountpoint;
        private bool _mounted;

        public string Root { get; private init; } = "";

        public static ImageMount Of(string directory) => new() { Root = directory };

        public static ImageMount Mount(BuildService service, ImageRecord image, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            IReadOnlyList<string> lowers = [.. service.Images.LowerChain(image).Select(service.Images.Snapshots.LayerDirectory)];
            if (lowers.Count == 1)
            {
                return new ImageMount { Root = lowers[0] };
            }

            string mountpoint = Path.Combine(Path.GetTempPath(), "berth-from-" + Guid.NewGuid().ToString("N")[..12]);
            Directory.CreateDirectory(mountpoint);
            if (lowers.Count > 1)
            {
                Interop.Mount.Attach("overlay", mountpoint, "overlay", Interop.Mount.MS_RDONLY, "lowerdir=" + string.Join(':', lowers));
            }

            return new ImageMount { Root = mountpoint, _mountpoint = mountpoint, _mounted = lowers.Count > 1 };
        }

        public ValueTask DisposeAsync()
        {
            if (_mountpoint is not null)
            {
                if (_mounted)
                {
                    Interop.Mount.Detach(_mountpoint, lazy: true);
                }

                Directory.Delete(_mountpoint);
            }

            return ValueTask.CompletedTask;
        }
    }
}
