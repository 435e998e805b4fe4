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
            .String("iidfile", null, "Write the image ID to the file")
            .String("network", null, "Set the networking mode for the RUN instructions during build")
            .List("add-host", null, "Add a custom host-to-IP mapping (\"host:ip\")")
            .List("cache-from", null, "Images to consider as cache sources")
            .Bool("pull", null, "Always attempt to pull a newer version of the image")
            .List("secret", null, "Secret to expose to the build (format: \"id=mysecret[,src=/local/secret]\")")
            .String("progress", null, "Set type of progress output (\"auto\", \"plain\", \"tty\"). Use plain to show container output", defaultValue: "auto"),
        Handler = BuildAsync,
    };

    /// <summary><c>berth builder</c>: the build cache's management commands.</summary>
    public static CommandSpec BuilderGroup() => new()
    {
        Name = "builder",
        Usage = "COMMAND",
        Summary = "Manage builds",
        Group = "Management Commands",
        Subcommands =
        [
            Create("build", ["berth builder build", "berth build"]),
            new CommandSpec
            {
                Name = "prune",
                Usage = "[OPTIONS]",
                Summary = "Remove build cache",
                MaxArgs = 0,
                DefineFlags = f => f
                    .Bool("all", 'a', "Remove all unused build cache, not just dangling ones")
                    .Bool("force", 'f', "Do not prompt for confirmation"),
                Handler = PruneAsync,
            },
        ],
    };

    private static async Task<int> PruneAsync(CommandContext ctx, ParsedArgs p)
    {
        bool all = p.Bool("all");
        if (!p.Bool("force"))
        {
            string warning = all ? "WARNING! This will remove all build cache." : "WARNING! This will remove all dangling build cache.";
            if (!await Prompt.ConfirmAsync(ctx, warning + "\nAre you sure you want to continue? [y/N] ").ConfigureAwait(false))
            {
                return 0;
            }
        }

        BuildCachePruneResponse report = await ctx.Client.PruneBuildCacheAsync(all, ctx.Cancellation).ConfigureAwait(false);
        var text = new System.Text.StringBuilder();
        if (report.CachesDeleted is { Count: > 0 } deleted)
        {
            text.Append("Deleted build cache objects:\n");
            foreach (string id in deleted)
            {
                text.Append(id).Append('\n');
            }

            text.Append('\n');
        }

        text.Append("Total reclaimed space: ").Append(Units.HumanSize(report.SpaceReclaimed)).Append('\n');
        await ctx.Out.WriteAsync(text.ToString()).ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> BuildAsync(CommandContext ctx, ParsedArgs p)
    {
        string contextPath = p.Positionals[0];
        string? file = p.String("file");
        string dockerfileName = "Dockerfile";
        Stream archive;
        StreamedBuildContext? streamed = null;
        if (contextPath == "-")
        {
            // A Dockerfile on stdin and no context, as `docker build - < Dockerfile`.
            using var reader = new StreamReader(ctx.OpenStdin());
            string text = await reader.ReadToEndAsync(ctx.Cancellation).ConfigureAwait(false);
            archive = new MemoryStream();
            await using (var writer = new TarWriter(archive, TarEntryFormat.Pax, leaveOpen: true))
            {
                var entry = new PaxTarEntry(TarEntryType.RegularFile, dockerfileName) { DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)) };
                await writer.WriteEntryAsync(entry, ctx.Cancellation).ConfigureAwait(false);
            }

            archive.Position = 0;
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

            streamed = BuildContextArchive.Stream(root, dockerfile, ctx.Cancellation);
            archive = streamed.Archive;
            dockerfileName = streamed.DockerfileName;
        }

        await using (archive.ConfigureAwait(false))
        {
            try
            {
                return await SendAsync(ctx, p, archive, dockerfileName).ConfigureAwait(false);
            }
            catch (Exception) when (streamed is not null)
            {
                // The body broke off: when that was because the context could not be read, that is the error to show.
                await streamed.DisposeAsync().ConfigureAwait(false);
                if (streamed.Writing.Exception?.InnerException is { } unreadable and not OperationCanceledException)
                {
                    throw new StatusException(1, "error checking context: " + unreadable.Message);
                }

                throw;
            }
            finally
            {
                if (streamed is not null)
                {
                    await streamed.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }

    private static async Task<int> SendAsync(CommandContext ctx, ParsedArgs p, Stream archive, string dockerfileName)
    {
        Dictionary<string, string> buildArgs = Pairs(p.List("build-arg"), ctx);
        if (ctx.Environment("SOURCE_DATE_EPOCH") is { Length: > 0 } epoch)
        {
            buildArgs.TryAdd("SOURCE_DATE_EPOCH", epoch); // as buildx passes it: a reproducible build from the environment
        }

        var options = new BuildImageOptions
        {
            Tags = p.List("tag"),
            Dockerfile = dockerfileName,
            BuildArgs = buildArgs,
            Labels = Pairs(p.List("label"), ctx),
            NoCache = p.Bool("no-cache"),
            Target = p.String("target"),
            Quiet = p.Bool("quiet"),
            NetworkMode = p.String("network"),
            ExtraHosts = p.List("add-host"),
            CacheFrom = p.List("cache-from"),
            Pull = p.Bool("pull"),
            Secrets = await ReadSecretsAsync(p.List("secret"), ctx).ConfigureAwait(false),
        };
        string progress = p.String("progress") ?? "auto";
        if (progress is not ("auto" or "plain" or "tty"))
        {
            throw new StatusException(1, $"invalid progress mode \"{progress}\": use auto, plain or tty");
        }

        using var display = new BuildProgressDisplay(ctx.Out, live: !options.Quiet && (progress == "tty" || (progress == "auto" && ctx.StdoutIsTerminal)));
        string? id = null;
        await foreach (ProgressMessage message in ctx.Client.BuildImageAsync(archive, options, ctx.Cancellation).ConfigureAwait(false))
        {
            string? error = message.Error ?? message.ErrorDetail?.Message;
            if (!string.IsNullOrEmpty(error))
            {
                await display.FailAsync().ConfigureAwait(false);
                await ctx.Out.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
                throw new StatusException(1, error);
            }

            if (message.Aux is { } aux && aux.TryGetValue("ID", out string? auxId))
            {
                id = auxId;
            }

            if (message.Stream is { } stream)
            {
                await display.WriteAsync(stream).ConfigureAwait(false);
                if (options.Quiet)
                {
                    id = stream.Trim();
                }
            }
        }

        await display.FinishAsync().ConfigureAwait(false);
        if (p.String("iidfile") is { Length: > 0 } iidfile && id is not null)
        {
            await File.WriteAllTextAsync(iidfile, id, ctx.Cancellation).ConfigureAwait(false);
        }

        return 0;
    }

    /// <summary><c>--secret id=x[,src=file|,env=VAR]</c>: the contents, read here and sent to the daemon beside the context.</summary>
    private static async Task<Dictionary<string, byte[]>> ReadSecretsAsync(IReadOnlyList<string> specs, CommandContext ctx)
    {
        var secrets = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (string spec in specs)
        {
            string? id = null, source = null, env = null;
            foreach (string field in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                int equals = field.IndexOf('=', StringComparison.Ordinal);
                string key = equals < 0 ? field : field[..equals];
                string value = equals < 0 ? "" : field[(equals + 1)..];
                switch (key.ToLowerInvariant())
                {
                    case "id":
                        id = value;
                        break;
                    case "src" or "source":
                        source = value;
                        break;
                    case "env":
                        env = value;
                        break;
                    case "type" when value is "file" or "env":
                        break;
                    default:
                        throw new StatusException(1, $"invalid secret: unexpected key '{key}' in '{field}'");
                }
            }

            if (string.IsNullOrEmpty(id))
            {
                throw new StatusException(1, $"invalid secret: id is required in '{spec}'");
            }

            if (source is not null)
            {
                try
                {
                    secrets[id] = await File.ReadAllBytesAsync(source, ctx.Cancellation).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new StatusException(1, $"failed to read secret {id}: {e.Message}");
                }
            }
            else if (ctx.Environment(env ?? id) is { } fromEnvironment)
            {
                secrets[id] = System.Text.Encoding.UTF8.GetBytes(fromEnvironment);
            }
            else
            {
                throw new StatusException(1, $"failed to read secret {id}: no src given and no environment variable {env ?? id}");
            }
        }

        return secrets;
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
