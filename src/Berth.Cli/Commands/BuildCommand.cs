using System.Formats.Tar;
using Berth.Api.Client;
using Berth.Api.Types;
using Berth.Cli.Parsing;

namespace Berth.Cli.Commands;

/// <summary><c>berth build</c>: sends the context directory as a tar (minus .dockerignore's exclusions) to POST /build.</summary>
internal static class BuildCommand
{
    public static CommandSpec Create(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS] PATH | -",
        Summary = "Build an image from a Dockerfile",
        MinArgs = 1,
        MaxArgs = 1,
        DefineFlags = f => f
            .List("tag", 't', "Name and optionally a tag in the \"name:tag\" format")
            .String("file", 'f', "Name of the Dockerfile (Default is \"PATH/Dockerfile\")")
            .List("build-arg", null, "Set build-time variables")
            .List("label", null, "Set metadata for an image")
            .Bool("no-cache", null, "Do not use cache when building the image")
            .String("target", null, "Set the target build stage to build.")
            .Bool("quiet", 'q', "Suppress the build output and print image ID on success")
            .String("iidfile", null, "Write the image ID to the file"),
        Handler = BuildAsync,
    };

    private static async Task<int> BuildAsync(CommandContext ctx, ParsedArgs p)
    {
        string contextPath = p.Positionals[0];
        string? file = p.String("file");
        string dockerfileName = "Dockerfile";
        using var archive = new MemoryStream();
        if (contextPath == "-")
        {
            // A Dockerfile on stdin and no context, as `docker build - < Dockerfile`.
            using var reader = new StreamReader(ctx.OpenStdin());
            string text = await reader.ReadToEndAsync(ctx.Cancellation).ConfigureAwait(false);
            await using var writer = new TarWriter(archive, TarEntryFormat.Pax, leaveOpen: true);
            var entry = new PaxTarEntry(TarEntryType.RegularFile, dockerfileName) { DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)) };
            await writer.WriteEntryAsync(entry, ctx.Cancellation).ConfigureAwait(false);
        }
        else
        {
            if (!Directory.Exists(contextPath))
            {
                throw new StatusException(1, $"unable to prepare context: path \"{contextPath}\" not found");
            }

            string root = Path.GetFullPath(contextPath);
            string dockerfile = file is null ? Path.Combine(root, "Dockerfile") : Path.GetFullPath(file);
            if (!File.Exists(dockerfile))
            {
                throw new StatusException(1, $"unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {dockerfile}: no such file or directory");
            }

            dockerfileName = await BuildContextArchive.WriteAsync(archive, root, dockerfile, ctx.Cancellation).ConfigureAwait(false);
        }

        archive.Position = 0;
        var options = new BuildImageOptions
        {
            Tags = p.List("tag"),
            Dockerfile = dockerfileName,
            BuildArgs = Pairs(p.List("build-arg"), ctx),
            Labels = Pairs(p.List("label"), ctx),
            NoCache = p.Bool("no-cache"),
            Target = p.String("target"),
            Quiet = p.Bool("quiet"),
        };
        string? id = null;
        await foreach (ProgressMessage message in ctx.Client.BuildImageAsync(archive, options, ctx.Cancellation).ConfigureAwait(false))
        {
            string? error = message.Error ?? message.ErrorDetail?.Message;
            if (!string.IsNullOrEmpty(error))
            {
                await ctx.Out.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
                throw new StatusException(1, error);
            }

            if (message.Aux is { } aux && aux.TryGetValue("ID", out string? auxId))
            {
                id = auxId;
            }

            if (message.Stream is { } stream)
            {
                await ctx.Out.WriteAsync(stream).ConfigureAwait(false);
                if (options.Quiet)
                {
                    id = stream.Trim();
                }
            }
        }

        if (p.String("iidfile") is { Length: > 0 } iidfile && id is not null)
        {
            await File.WriteAllTextAsync(iidfile, id, ctx.Cancellation).ConfigureAwait(false);
        }

        return 0;
    }

    /// <summary>KEY=VALUE, or KEY alone taking the value from the environment (as docker does for --build-arg).</summary>
    private static Dictionary<string, string> Pairs(IReadOnlyList<string> values, CommandContext ctx)
    {
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string value in values)
        {
            int equals = value.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                pairs[value[..equals]] = value[(equals + 1)..];
            }
            else if (ctx.Environment(value) is { } fromEnvironment)
            {
                pairs[value] = fromEnvironment;
            }
        }

        return pairs;
    }
}
