using System.Formats.Tar;
using Berth.Api.Client;
using Berth.Api.Types;
using Berth.Cli.Parsing;

namespace Berth.Cli.Commands;

/// <summary>
/// <c>cp</c>: copies between a container and the host through the archive API, naming the result as docker cp does
/// (into an existing directory under the source's name, else as the destination path itself).
/// </summary>
internal static class CopyCommand
{
    public static CommandSpec Create(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
        Summary = "Copy files/folders between a container and the local filesystem",
        MinArgs = 2,
        MaxArgs = 2,
        DefineFlags = f => f
            .Bool("archive", 'a', "Archive mode (copy all uid/gid information)")
            .Bool("follow-link", 'L', "Always follow symbol link in SRC_PATH")
            .Bool("quiet", 'q', "Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached"),
        Handler = RunAsync,
    };

    private static async Task<int> RunAsync(CommandContext ctx, ParsedArgs p)
    {
        (string? sourceContainer, string source) = Split(p.Positionals[0]);
        (string? destinationContainer, string destination) = Split(p.Positionals[1]);
        if (sourceContainer is not null && destinationContainer is not null)
        {
            throw new StatusException(1, "copying between containers is not supported");
        }

        if (sourceContainer is null && destinationContainer is null)
        {
            throw new StatusException(1, "must specify at least one container source");
        }

        if (sourceContainer is not null)
        {
            await FromContainerAsync(ctx, sourceContainer, source, destination, p.Bool("follow-link")).ConfigureAwait(false);
        }
        else
        {
            await ToContainerAsync(ctx, source, destinationContainer!, destination, p.Bool("archive"), p.Bool("follow-link")).ConfigureAwait(false);
        }

        return 0;
    }

    /// <summary>"c:/path" is a container path; a local path with a colon must start with / or ./ (as docker requires).</summary>
    public static (string? Container, string Path) Split(string argument)
    {
        ArgumentNullException.ThrowIfNull(argument);
        if (argument.StartsWith('/') || argument.StartsWith('.'))
        {
            return (null, argument);
        }

        int colon = argument.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 ? (argument[..colon], argument[(colon + 1)..]) : (null, argument);
    }

    private static async Task FromContainerAsync(CommandContext ctx, string container, string source, string destination, bool followLink)
    {
        if (followLink && await ctx.Client.StatContainerPathAsync(container, source, ctx.Cancellation).ConfigureAwait(false) is { LinkTarget.Length: > 0 } link)
        {
            source = link.LinkTarget.StartsWith('/') ? link.LinkTarget : Path.Combine(Path.GetDirectoryName(source) ?? "/", link.LinkTarget);
        }

        if (destination == "-")
        {
            await ctx.Out.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
            await ctx.Client.GetContainerArchiveAsync(container, source, (_, tar, ct) => tar.CopyToAsync(ctx.StdoutStream, ct), ctx.Cancellation).ConfigureAwait(false);
            return;
        }

        // Into an existing directory under the source's own name, else as the destination path (its parent must exist).
        string full = Path.GetFullPath(destination);
        bool intoDirectory = Directory.Exists(full);
        string parent = intoDirectory ? full : Path.GetDirectoryName(full) ?? "/";
        if (!Directory.Exists(parent))
        {
            throw new StatusException(1, $"invalid output path: directory \"{parent}\" does not exist");
        }

        await ctx.Client.GetContainerArchiveAsync(container, source, async (stat, tar, ct) =>
        {
            string root = stat?.Name ?? Path.GetFileName(source.TrimEnd('/'));
            string rename = intoDirectory ? root : Path.GetFileName(full);
            await ExtractAsync(tar, parent, root, rename, ct).ConfigureAwait(false);
        }, ctx.Cancellation).ConfigureAwait(false);
        if (!ctx.StdoutIsTerminal)
        {
            return;
        }

        await ctx.Err.WriteLineAsync($"Successfully copied to {destination}").ConfigureAwait(false);
    }

    /// <summary>Unpacks the archive's tree named <paramref name="root"/> into <paramref name="directory"/> as <paramref name="rename"/>, never outside it.</summary>
    private static async Task ExtractAsync(Stream tar, string directory, string root, string rename, CancellationToken cancellationToken)
    {
        string top = Path.GetFullPath(directory);
        await using var reader = new TarReader(tar);
        while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
        {
            string name = entry.Name.TrimEnd('/');
            if (name == root)
            {
                name = rename;
            }
            else if (name.StartsWith(root + "/", StringComparison.Ordinal))
            {
                name = rename + name[root.Length..];
            }

            string target = Path.GetFullPath(Path.Combine(top, name));
            if (!target.StartsWith(top + "/", StringComparison.Ordinal))
            {
                throw new StatusException(1, $"invalid archive entry {entry.Name}: outside the destination");
            }

            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    Directory.CreateDirectory(target);
                    break;
                case TarEntryType.SymbolicLink:
                    File.Delete(target);
                    File.CreateSymbolicLink(target, entry.LinkName);
                    break;
                case TarEntryType.HardLink:
                    string linked = Path.GetFullPath(Path.Combine(top, entry.LinkName.StartsWith(root + "/", StringComparison.Ordinal) ? rename + entry.LinkName[root.Length..] : entry.LinkName));
                    if (linked.StartsWith(top + "/", StringComparison.Ordinal) && File.Exists(linked))
                    {
                        File.Copy(linked, target, overwrite: true);
                    }

                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile:
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    await entry.ExtractToFileAsync(target, overwrite: true, cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    continue; // devices and FIFOs are not copied out, as docker cp does without root
            }
        }
    }

    private static async Task ToContainerAsync(CommandContext ctx, string source, string container, string destination, bool archive, bool followLink)
    {
        if (source == "-")
        {
            // A tar on stdin goes into the destination directory as it is.
            await using Stream stdin = ctx.OpenStdin();
            await ctx.Client.PutContainerArchiveAsync(container, destination, stdin, archive, ctx.Cancellation).ConfigureAwait(false);
            return;
        }

        string full = Path.GetFullPath(source);
        if (followLink && new FileInfo(full).LinkTarget is not null)
        {
            full = new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full;
        }

        if (!File.Exists(full) && !Directory.Exists(full) && new FileInfo(full).LinkTarget is null)
        {
            throw new StatusException(1, $"lstat {full}: no such file or directory");
        }

        ContainerPathStat? target = await ctx.Client.StatContainerPathAsync(container, destination, ctx.Cancellation).ConfigureAwait(false);
        bool intoDirectory = target is not null && (target.Mode & 0x80000000u) != 0;
        string directory = intoDirectory ? destination : ParentOf(destination);
        string name = intoDirectory ? Path.GetFileName(full) : Path.GetFileName(destination.TrimEnd('/'));
        if (!intoDirectory && destination.EndsWith('/'))
        {
            throw new StatusException(1, $"Error response from daemon: Could not find the file {destination} in container {container}");
        }

        // The tar is made while it is sent: nothing of the source is held in memory.
        var pipe = new System.IO.Pipelines.Pipe();
        Task produce = Task.Run(async () =>
        {
            await using Stream output = pipe.Writer.AsStream();
            await using var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
            await AddAsync(writer, full, name, ctx.Cancellation).ConfigureAwait(false);
        }, ctx.Cancellation);
        await using (Stream input = pipe.Reader.AsStream())
        {
            await ctx.Client.PutContainerArchiveAsync(container, directory, input, archive, ctx.Cancellation).ConfigureAwait(false);
        }

        await produce.ConfigureAwait(false);
        if (ctx.StdoutIsTerminal)
        {
            await ctx.Err.WriteLineAsync($"Successfully copied to {container}:{destination}").ConfigureAwait(false);
        }
    }

    private static string ParentOf(string containerPath)
    {
        string trimmed = containerPath.TrimEnd('/');
        int slash = trimmed.LastIndexOf('/');
        return slash <= 0 ? "/" : trimmed[..slash];
    }

    private static async Task AddAsync(TarWriter writer, string path, string name, CancellationToken cancellationToken)
    {
        await writer.WriteEntryAsync(path, name, cancellationToken).ConfigureAwait(false);
        if (Directory.Exists(path) && new FileInfo(path).LinkTarget is null)
        {
            foreach (string child in Directory.EnumerateFileSystemEntries(path).Order(StringComparer.Ordinal))
            {
                await AddAsync(writer, child, name + "/" + Path.GetFileName(child), cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
