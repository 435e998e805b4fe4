using Berth.Api.Client;
using Berth.Api.Types;
using Berth.Cli.Parsing;

namespace Berth.Cli.Commands;

/// <summary><c>commit</c>, <c>diff</c>, <c>export</c> and <c>import</c>.</summary>
internal static class ChangeCommands
{
    public static CommandSpec Commit(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
        Summary = "Create a new image from a container's changes",
        MinArgs = 1,
        MaxArgs = 2,
        DefineFlags = f => f
            .String("author", 'a', "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")")
            .List("change", 'c', "Apply Dockerfile instruction to the created image")
            .String("message", 'm', "Commit message")
            .Bool("pause", 'p', "Pause container during commit", defaultValue: true),
        Handler = async (ctx, p) =>
        {
            (string? repository, string? tag) = p.Positionals.Count > 1 ? SplitReference(p.Positionals[1]) : (null, null);
            string id = await ctx.Client.CommitContainerAsync(p.Positionals[0], repository, tag, p.String("message"), p.String("author"), p.Bool("pause"), p.List("change"), ctx.Cancellation).ConfigureAwait(false);
            await ctx.Out.WriteLineAsync(id).ConfigureAwait(false);
            return 0;
        },
    };

    public static CommandSpec Diff(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "CONTAINER",
        Summary = "Inspect changes to files or directories on a container's filesystem",
        MinArgs = 1,
        MaxArgs = 1,
        Handler = async (ctx, p) =>
        {
            IReadOnlyList<FilesystemChange> changes = await ctx.Client.ContainerChangesAsync(p.Positionals[0], ctx.Cancellation).ConfigureAwait(false);
            foreach (FilesystemChange change in changes)
            {
                await ctx.Out.WriteLineAsync(FormatChange(change)).ConfigureAwait(false);
            }

            return 0;
        },
    };

    /// <summary>docker diff's line: C (changed), A (added) or D (deleted), then the path.</summary>
    public static string FormatChange(FilesystemChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        return change.Kind switch { 0 => "C ", 1 => "A ", 2 => "D ", _ => "? " } + change.Path;
    }

    public static CommandSpec Export(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS] CONTAINER",
        Summary = "Export a container's filesystem as a tar archive",
        MinArgs = 1,
        MaxArgs = 1,
        DefineFlags = f => f.String("output", 'o', "Write to a file, instead of STDOUT"),
        Handler = async (ctx, p) =>
        {
            await ArchiveOutput.WriteAsync(ctx, p.String("output"), (stream, ct) => ctx.Client.ExportContainerAsync(p.Positionals[0], stream, ct), "failed to export container", "export").ConfigureAwait(false);
            return 0;
        },
    };

    public static CommandSpec Import(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
        Summary = "Import the contents from a tarball to create a filesystem image",
        MinArgs = 1,
        MaxArgs = 2,
        DefineFlags = f => f
            .List("change", 'c', "Apply Dockerfile instruction to the created image")
            .String("message", 'm', "Set commit message for imported image")
            .String("platform", null, "Set platform if server is multi-platform capable"),
        Handler = async (ctx, p) =>
        {
            string source = p.Positionals[0];
            if (source.Contains("://", StringComparison.Ordinal))
            {
                throw new StatusException(1, $"importing from a URL ({source}) is not supported: download the archive and import the file");
            }

            (string? repository, string? tag) = p.Positionals.Count > 1 ? SplitReference(p.Positionals[1]) : (null, null);
            Stream archive = source == "-" ? ctx.OpenStdin() : OpenFile(source);
            await using (archive.ConfigureAwait(false))
            {
                await foreach (ProgressMessage message in ctx.Client.ImportImageAsync(archive, repository, tag, p.String("message"), p.List("change"), ctx.Cancellation).ConfigureAwait(false))
                {
                    if (message.Error is { } error)
                    {
                        throw new StatusException(1, error);
                    }

                    if (!string.IsNullOrEmpty(message.Status))
                    {
                        await ctx.Out.WriteLineAsync(message.Status).ConfigureAwait(false);
                    }
                }
            }

            return 0;
        },
    };

    private static FileStream OpenFile(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new StatusException(1, $"open {path}: no such file or directory");
        }
    }

    /// <summary>"repo:tag" into its parts (a colon before the last slash belongs to a registry's port).</summary>
    public static (string Repository, string? Tag) SplitReference(string reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        int colon = reference.LastIndexOf(':');
        return colon > reference.LastIndexOf('/') ? (reference[..colon], reference[(colon + 1)..]) : (reference, null);
    }
}
